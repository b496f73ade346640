"""The benchmarks' systems and schedules: each system writes the training config it
stands for, the shipped configs train as the systems measured for them, and joint.py plans,
times and records what it is asked for. Nothing here needs ../shared."""

import json
from pathlib import Path

import pytest

from benchmarks import schedules, train_time

ROOT = Path(__file__).resolve().parent.parent


def test_every_system_names_what_it_trains() -> None:
    """Each entry of systems.SYSTEMS points at things that exist: its schedule is a
    candidate, its EWT config one of EWT_CONFIGS, its own config a file of configs/ for
    EWT, its attributes the joint ones; spaCy's systems have an EWT config (their only
    one), and the views hold exactly the entries they are views of."""
    from benchmarks import systems

    for name, system in systems.SYSTEMS.items():
        assert system.schedule is None or system.schedule in schedules.CANDIDATES, name
        assert system.ewt is None or system.ewt in systems.EWT_CONFIGS, name
        assert (ROOT / "configs" / system.config.format(treebank="ewt")).exists(), name
        assert set(system.attrs) <= set(systems.JOINT) and system.attrs, name
        assert system.ewt is not None or not name.startswith("spacy"), name
        assert system.vectors is None or system.vectors.parent == systems.VECTORS, name
    assert set(systems.HEADLINE) == {n for n, s in systems.SYSTEMS.items() if s.every_seed}
    assert set(systems.SCHEDULE_SYSTEMS) == {n for n, s in systems.SYSTEMS.items() if s.schedule}
    assert set(systems.SHIPPED_TRAININGS) <= set(systems.SCHEDULE_SYSTEMS)


def test_train_time_candidates_resolve(tmp_path: Path) -> None:
    """A candidate's config is its config of configs/ with the constant training, then its
    schedule in place of the learning rate: it resolves, warms up from 0 and reaches 0
    when its step budget does."""
    from spacy import util

    for name, (_, _, steps, _) in train_time.CANDIDATES.items():
        path = train_time.write_candidate(name, tmp_path)
        config = util.load_config(path, interpolate=True)
        assert config["training"]["max_steps"] == train_time.budget_of(name)
        if steps is None:  # patience and the constant training's step cap
            assert train_time.budget_of(name) == schedules.CONSTANT_TRAINING["training.max_steps"]
            assert config["training"]["patience"] > 0
            continue
        rate = util.registry.resolve({"r": config["training"]["optimizer"]["learn_rate"]})["r"]
        if not isinstance(rate, float):  # thinc's schedules here are generators
            rates = [next(rate) for _ in range(steps + 1)]
            assert rates[0] == 0.0 and rates[steps] == 0.0
            assert max(rates) == rates[schedules.WARMUP] > 0.0


def test_schedule_system_trains_its_candidate(tmp_path: Path) -> None:
    """joint.py's schedule systems train their candidate's config, logged where joint.py
    reads the log, and stop at its budget; the others keep the shared step cap."""
    from spacy import util

    from benchmarks import systems

    for system, candidate in systems.SCHEDULE_SYSTEMS.items():
        out = systems.write_config(system, "ewt", tmp_path / "c.cfg", tmp_path / "log.jsonl")
        config = util.load_config(out)
        assert config["training"]["optimizer"]["learn_rate"] == schedules.CANDIDATES[candidate][1]
        assert config["training"]["logger"]["output_file"] == str(tmp_path / "log.jsonl")
        assert systems.step_budget(system) == schedules.CANDIDATES[candidate][2]
        for dotted, value in schedules.CANDIDATES[candidate][3].items():
            section = config
            for part in dotted.split("."):
                section = section[part]
            assert section == value
    assert systems.step_budget("lstm_joint") is None


@pytest.mark.parametrize(
    "config,system",
    [
        ("ewt_joint.cfg", "lstm_warmup8k"),
        ("ewt_joint_accuracy.cfg", "lstm_accuracy_warmup8k"),
        ("ewt_joint_fast.cfg", "lstm_vectors_depth1_warmup6k"),
    ],
)
def test_shipped_config_trains_as_its_schedule_system(config: str, system: str) -> None:
    """A shipped config trains as the schedule system measured for it: the same settings,
    and its schedule (ours, which pickles) gives the candidate's (thinc's) rates."""
    from spacy import util

    from benchmarks import systems

    assert system in systems.SHIPPED_TRAININGS
    assert system in systems.schedule_systems(config)
    shipped = util.load_config(ROOT / "configs" / config).interpolate()["training"]
    candidate = schedules.candidate_config(systems.SCHEDULE_SYSTEMS[system])
    candidate = candidate.interpolate()["training"]
    rates = [
        util.registry.resolve({"r": t["optimizer"]["learn_rate"]})["r"]
        for t in (shipped, candidate)
    ]
    assert [next(rates[0]) for _ in range(8100)] == [next(rates[1]) for _ in range(8100)]
    for training in (shipped, candidate):
        del training["optimizer"]["learn_rate"]
    assert shipped == candidate


def test_benchmarks_keep_the_recorded_training_of_scheduled_configs(
    tmp_path: Path, monkeypatch
) -> None:
    """lstm_joint, the shapes and the dev tables train configs/ewt_joint.cfg (and the dev
    tables the accuracy preset) at the constant rate of their recorded runs, whatever the
    config's own training, so that a run made later compares with them; other configs
    train as they are."""
    from spacy import util

    from benchmarks import dev_ablation, systems

    # Another rate than the config's, so that the pin shows.
    monkeypatch.setitem(schedules.CONSTANT_TRAINING, "training.optimizer.learn_rate", 0.003)
    for system in ("lstm_joint", *systems.SHAPE_SYSTEMS):
        out = systems.write_config(system, "ewt", tmp_path / "c.cfg", tmp_path / "log.jsonl")
        training = util.load_config(out)["training"]
        assert training["optimizer"]["learn_rate"] == 0.003
        assert training["batcher"]["buffer"] == 256
    # Other configs train as they are.
    gdt = systems.write_config("lstm_joint", "gdt", tmp_path / "g.cfg", tmp_path / "log.jsonl")
    gdt_shipped = util.load_config(ROOT / "configs" / "gdt_joint.cfg")["training"]
    assert util.load_config(gdt)["training"]["optimizer"] == gdt_shipped["optimizer"]
    calls = []
    monkeypatch.setattr(dev_ablation, "ablate", lambda *args, **kw: calls.append(args[3]) or {})
    for config in ("ewt_joint.cfg", "ewt_joint_accuracy.cfg", "ewt_joint_vectors.cfg"):
        dev_ablation.ablate_into(tmp_path / "r.jsonl", "x", config, ["--a", "1"], 30, tmp_path, {})
    tail = ["--training.max_steps", "30", "--a", "1"]
    pinned = ["--training.optimizer.learn_rate", "0.003", "--training.batcher.buffer", "256"]
    assert calls[0][:4] == pinned and calls[1][:4] == pinned
    assert calls[0][-4:] == tail and calls[1][-4:] == tail and calls[2] == tail


def test_joint_plan_trains_the_seeds_asked_for(tmp_path: Path) -> None:
    """joint.py's plan: the headline systems seed by seed, the others with seed 0, none
    with a result file; --seed keeps only the seeds named."""
    from benchmarks import joint

    names = ["lstm_joint", "lstm_upos"]
    assert joint.plan(names, 2, tmp_path) == [
        ("lstm_joint", 0),
        ("lstm_joint", 1),
        ("lstm_upos", 0),
    ]
    (tmp_path / "lstm_joint_s0.json").write_text("{}")
    assert joint.plan(names, 3, tmp_path, [0, 2]) == [("lstm_joint", 2), ("lstm_upos", 0)]


def test_joint_speed_keeps_its_file_when_a_model_is_gone(tmp_path: Path, monkeypatch) -> None:
    """joint.py times every seed-0 model at once; when one is no longer on disk it says
    which and keeps speed.json as it was, instead of failing in the timing process."""
    from benchmarks import joint

    model = tmp_path / "lstm_joint_s0" / "model-best"
    model.mkdir(parents=True)
    for name, path in (("lstm_joint", model), ("lstm_vectors", tmp_path / "gone")):
        result = {"system": name, "seed": 0, "meta": {"model": str(path), "test": "t.spacy"}}
        (tmp_path / f"{name}_s0.json").write_text(json.dumps(result))
    (tmp_path / "speed.json").write_text('{"words_per_second": {"lstm_joint": 1.0}}')
    calls = []
    monkeypatch.setattr(joint, "last_json", lambda cmd: calls.append(cmd) or {})
    assert joint.measure_speed(tmp_path, 1) is False
    assert calls == []
    assert json.loads((tmp_path / "speed.json").read_text())["words_per_second"] == {
        "lstm_joint": 1.0
    }
    (tmp_path / "lstm_vectors_s0.json").unlink()
    assert joint.measure_speed(tmp_path, 1) is True and len(calls) == 1


def test_joint_measure_speed_writes_a_result_file_vectors_render_shows(
    tmp_path: Path, monkeypatch
) -> None:
    """`joint_measure speed --output` records the words/s with how they were made, in the
    file format vectors_render's speed tables read: no hand-written meta."""
    from typer.testing import CliRunner

    from benchmarks import joint_measure, vectors_render

    speeds = {"base": 100.0, "fast": 250.0}
    monkeypatch.setattr(joint_measure, "measure_speed", lambda paths, *args: dict(speeds))
    out = tmp_path / "test_speed_x.json"
    args = ["speed", "t.spacy", "base=a", "fast=b", "--repeats", "3", "--output", str(out)]
    result = CliRunner().invoke(joint_measure.app, [*args, "--data", "EWT test", "--note", "n1"])
    assert result.exit_code == 0, result.output
    timed = json.loads(out.read_text())
    assert timed["words_per_second"] == speeds
    meta = timed["meta"]
    assert meta["repeats"] == 3 and meta["data"] == "EWT test" and meta["note"] == "n1"
    assert meta["models"] == {"base": "a", "fast": "b"} and meta["machine"]
    table = "\n".join(vectors_render.speed_table(out))
    assert "Speed on EWT test" in table and "median of 3 rounds" in table
    assert "| fast | 250 | 2.50× |" in table and "note: n1" in table


def test_joint_schedule_end_replaces_the_step_cap_except_in_quick_checks(
    tmp_path: Path, monkeypatch
) -> None:
    """A system with a schedule trains to the schedule's end, given once in place of the
    shared step cap; a --quick check keeps its 100 steps."""
    from benchmarks import joint, systems

    calls = []
    monkeypatch.setattr(joint, "evaluate", lambda *args: {})
    monkeypatch.setattr(joint, "train", lambda *args: calls.append(args[3]) or {})
    dirs = {"runs": tmp_path / "runs", "results": tmp_path}
    shared = ["--training.max_epochs", "0", "--training.max_steps", "50000", "--x.y", "1"]
    for quick in (False, True):
        meta = {"quick": quick, "time_cap_minutes": 0}
        joint.run_job("lstm_accuracy_warmup8k", 0, "ewt", dirs, shared, meta)
        joint.run_job("lstm_joint", 0, "ewt", dirs, shared, meta)
    budget = str(systems.step_budget("lstm_accuracy_warmup8k"))
    seeds = ["--system.seed", "0", "--training.seed", "0"]
    assert calls[0] == [
        *seeds,
        "--training.max_epochs",
        "0",
        "--training.max_steps",
        budget,
        "--x.y",
        "1",
    ]
    assert calls[1] == calls[2] == calls[3] == [*seeds, *shared]
