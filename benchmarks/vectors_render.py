"""The `vectors-ewt` section of BENCHMARKS.md, every figure read from the result files:
the dev ablations (vectors.py), the full trainings and the learning curve (joint.py's
result files), the test-set speeds, and the targets."""

import json
import re
import statistics
from pathlib import Path
from typing import Dict, List, Tuple

from .dev_ablation import DEV_KEYS
from .joint_render import (
    ACCURACIES,
    cell,
    load_runs,
    load_speeds,
    mean_of,
    meta_lines,
    recorded,
    table,
    values_of,
    verdict,
)
from .systems import shipped_training
from .vectors import (
    ABLATION_FILE,
    ACCURACY_SETTINGS,
    MODEL,
    RESULTS,
    SPEED_FILE,
    WORDS,
    read_ablations,
)

TEST_SPEED_DIR = RESULTS / "vectors"


def ablation_table(lines: Dict[str, Dict]) -> str:
    """RETURNS (str): One row per ablation: its settings, its best dev accuracies, and
    its words/s against `base` (SPEED_FILE)."""
    speeds = json.loads(SPEED_FILE.read_text())["words_per_second"] if SPEED_FILE.exists() else {}
    head = (
        "| run | config | overrides | steps | best step | dev UPOS | dev XPOS | dev FEATS | wall s "
    )
    rows = [head + "| words/s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, line in lines.items():
        steps, overrides = step_budget(line["overrides"])
        # The tables by name: where the shared data was differs between checkouts.
        shown = " ".join(re.sub(r"\S*/vectors/", "", o) for o in overrides)
        shown = shown.replace(f"--{WORDS}.", "words.").replace(f"--{MODEL}.", "model.")
        dev = [f"{100 * line['dev'].get(k, 0):.2f}" for _, k in DEV_KEYS]
        shown = f"`{shown}`" if shown else "none"
        rows.append(f"| {name} | {line['config']} | {shown} | {steps} | {line['step']} | ")
        rows[-1] += " | ".join(dev) + " |"
        rows[-1] += f" {line['wall_s']:,} |"
        if name in speeds and "base" in speeds:
            rows[-1] += f" {speeds[name]:,.0f} ({speeds[name] / speeds['base']:.2f}×) |"
        else:
            rows[-1] += " |"
    return "\n".join(rows)


def step_budget(overrides: List[str]) -> Tuple[str, List[str]]:
    """Split a run's step budget from its other overrides. Lines written before each
    ablation had one budget carry two `--training.max_steps`; as in spaCy's
    overrides, the last one counts.

    overrides (List[str]): The overrides of a dev_ablation.jsonl line.
    RETURNS (Tuple[str, List[str]]): The budget, and the overrides without it.
    """
    steps, rest, i = "", [], 0
    while i < len(overrides):
        if overrides[i] == "--training.max_steps":
            steps, i = overrides[i + 1], i + 2
        else:
            rest, i = [*rest, overrides[i]], i + 1
    return steps, rest


def curve_table() -> str:
    """RETURNS (str): The learning curve: test accuracies by training size and system."""
    head = "| train sentences | system | seeds | " + " | ".join(a[0] for a in ACCURACIES) + " |"
    rows = [head, "|" + "---|" * (len(ACCURACIES) + 3)]
    folders = sorted(RESULTS.glob("joint/ewt_n*"), key=lambda p: int(p.name.split("_")[1][1:]))
    for folder in folders:
        for name, results in load_runs(folder).items():
            cells = [cell(values_of(results, key, scale), fmt) for _, key, fmt, scale in ACCURACIES]
            size = folder.name.split("_")[1][1:]
            rows.append(f"| {size} | {name} | {len(results)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def partial(runs: Dict[str, List[Dict]], *names: str) -> str:
    """RETURNS (str): A note naming the systems with fewer than three seeds so far."""
    few = [f"{n} {len(runs[n])} of 3 seeds" for n in names if len(runs.get(n, [])) < 3]
    return f" (so far: {', '.join(few)})" if few else ""


# The system that trains the accuracy preset as configs/ewt_joint_accuracy.cfg ships it.
ACCURACY = shipped_training("ewt_joint_accuracy.cfg")
# "One seed should train to convergence in about three hours" on these 2-core machines.
ACCURACY_HOURS = 3.0


def accuracy_time(runs: Dict[str, List[Dict]]) -> List[str]:
    """RETURNS (List[str]): The accuracy preset's training time per seed (the whole run,
    one thread) against the issue's budget of about three hours; none without results."""
    totals = [r["total_train_seconds"] for r in runs.get(ACCURACY, [])]
    if not totals:
        return []
    hours = statistics.mean(totals) / 3600
    word = "met" if hours <= ACCURACY_HOURS else "**missed**"
    return [
        f"- accuracy training time per seed ≤ about {ACCURACY_HOURS:g} h: {word}: "
        f"{hours:.2f} h ({hours - ACCURACY_HOURS:+.2f} h)" + partial(runs, ACCURACY)
    ]


def targets(runs: Dict[str, List[Dict]], speeds: Dict[str, float]) -> List[str]:
    """RETURNS (List[str]): The targets met or missed, on seed means; those
    whose systems have no results are named as not judged yet."""
    lines = []
    goals = {"upos_acc": 96.4, "xpos_acc": 96.0, "feats_acc": 97.0, "alltags_acc": 94.7}
    for label, key, _, _ in ACCURACIES:
        acc = mean_of(runs, ACCURACY, key)
        pair = mean_of(runs, "spacy_pair_vectors", key)
        if acc is not None:
            lines.append(
                f"- accuracy {label} ≥ {goals[key]}: "
                + verdict(acc, goals[key], 0, "goal")
                + partial(runs, ACCURACY)
            )
            if pair is not None:
                text = verdict(acc, pair, 0.7, "spacy_pair_vectors")
                text += partial(runs, ACCURACY, "spacy_pair_vectors")
                lines.append(f"- accuracy {label} ≥ spacy_pair_vectors + 0.7: " + text)
        vec, base = mean_of(runs, "lstm_vectors", key), mean_of(runs, "lstm_joint", key)
        if vec is not None and base is not None:
            text = verdict(vec, base, 0.3, "lstm_joint") + partial(runs, "lstm_vectors")
            lines.append(f"- efficiency {label} ≥ lstm_joint + 0.3: " + text)
    small = load_runs(RESULTS / "joint" / "ewt_n1000_s0")
    vec, base = mean_of(small, "lstm_vectors", "upos_acc"), mean_of(small, "lstm_joint", "upos_acc")
    if vec is not None and base is not None:
        text = verdict(vec, base, 1.0, "lstm_joint") + partial(small, "lstm_vectors")
        lines.append("- efficiency UPOS at 1,000 sentences ≥ no vectors + 1.0: " + text)
    if "lstm_vectors" in speeds and "lstm_joint" in speeds:
        ratio = speeds["lstm_vectors"] / speeds["lstm_joint"]
        word = "met" if ratio >= 0.9 else "**missed**"
        lines.append(f"- efficiency words/s ≥ 0.9× lstm_joint: {word}: {ratio:.2f}×")
    lines += accuracy_time(runs)
    missing = [n for n in ("lstm_vectors", "spacy_pair_vectors", ACCURACY) if n not in runs]
    if missing:
        lines.append(f"- not judged yet: no full-EWT results for {', '.join(missing)}")
    if not small:
        lines.append("- not judged yet: no learning-curve results at 1,000 sentences")
    return lines


def curve_runs() -> Dict[str, List[Dict]]:
    """RETURNS (Dict[str, List[Dict]]): Every learning-curve result, by system and size."""
    runs: Dict[str, List[Dict]] = {}
    for folder in sorted(RESULTS.glob("joint/ewt_n*")):
        for name, results in load_runs(folder).items():
            runs[f"{folder.name}/{name}"] = results
    return runs


def speed_table(path: Path) -> List[str]:
    """RETURNS (List[str]): The test-set speeds of one run of joint_measure.py's `speed`
    (a JSON file with its meta), with how they were measured."""
    timed = json.loads(path.read_text())
    meta, speeds = timed["meta"], timed["words_per_second"]
    base = speeds.get("base")
    rows = ["| model | words/s (1 thread) | × base |", "|---|---|---|"]
    for name, wps in speeds.items():
        rows.append(
            f"| {name} | {wps:,.0f} | {wps / base:.2f}× |" if base else f"| {name} | {wps:,.0f} | |"
        )
    return [
        f"\n### Speed on {meta.get('data', 'not recorded')}, {meta.get('date', 'not recorded')}\n",
        f"- {meta_text(meta)}; median of {meta.get('repeats', 'not recorded')} rounds",
        f"- note: {meta['note']}" if meta.get("note") else "",
        "",
        *rows,
    ]


def speed_tables(folder: Path = TEST_SPEED_DIR) -> List[str]:
    """RETURNS (List[str]): A table per run (test_speed*.json, oldest first): only ratios
    within one run compare."""
    return [line for path in sorted(folder.glob("test_speed*.json")) for line in speed_table(path)]


def meta_text(meta: Dict) -> str:
    """RETURNS (str): A result's commit, date, machine and command, "not recorded" where
    it has none."""
    keys = ("commit", "date", "machine", "command")
    return "; ".join(f"{key}: {recorded([meta.get(key)])}" for key in keys)


def ablation_meta(lines: Dict[str, Dict]) -> str:
    """RETURNS (str): The commits, dates, machines and commands of the ablation lines."""
    metas = [line.get("meta", {}) for line in lines.values()]
    keys = ("commit", "date", "machine", "command")
    return "; ".join(f"{key}: {recorded([m.get(key) for m in metas])}" for key in keys)


ABOUT = (
    "Static word vectors beside our hash embeddings and characters "
    "(`spacy-lstm-tagger.ConcatHashEmbed.v2`, `include_static_vectors = true`), on UD "
    "English EWT. The dev ablations screen tables, lookup attributes and settings at a fixed "
    "step budget with one seed each, so small differences are not separable; the presets "
    "(`lstm_vectors`: `configs/ewt_joint_vectors.cfg` with GloVe 6B 50d; "
    "`lstm_accuracy_warmup8k`: `configs/ewt_joint_accuracy.cfg`, which trains with the "
    "schedule of `ewt_joint.cfg` over 8,000 steps, with `en_core_web_md`'s table) and "
    "spaCy's pair with vectors then train to convergence as in the joint benchmark. The "
    "tables are in `../shared/data/vectors/`."
)


def setting_effects(lines: Dict[str, Dict]) -> List[str]:
    """RETURNS (List[str]): For each accuracy setting with a result, its dev accuracies
    against those of its config's run without overrides (in ACCURACY_SETTINGS too)."""
    bases = {
        config: name for name, (config, overrides) in ACCURACY_SETTINGS.items() if not overrides
    }
    effects = []
    for name, (config, _) in ACCURACY_SETTINGS.items():
        base = bases[config]
        if name == base or name not in lines or base not in lines:
            continue
        diffs = [
            f"{label} {100 * (lines[name]['dev'][k] - lines[base]['dev'][k]):+.2f}"
            for label, k in DEV_KEYS
        ]
        effects.append(f"- {name} against {base}: " + ", ".join(diffs))
    return effects


def section() -> str:
    """RETURNS (str): The `vectors-ewt` section, from the result files."""
    folder = RESULTS / "joint" / "ewt"
    names = ("lstm_joint", "spacy_pair", "lstm_vectors", "spacy_pair_vectors", ACCURACY)
    runs = {k: v for k, v in load_runs(folder).items() if k in names}
    speeds = load_speeds(folder)
    lines = read_ablations(ABLATION_FILE)
    dev_speed = json.loads(SPEED_FILE.read_text())["meta"] if SPEED_FILE.exists() else {}
    text = [
        "## Pretrained vectors: UD English EWT\n",
        ABOUT + "\n",
        "### Dev ablations (seed 0, best dev of the run)\n",
        "Each run is its config with the overrides shown, trained for its step budget "
        "(steps), one thread (`ewt_joint.cfg` at the constant rate it had before its schedule, "
        "`schedules.CONSTANT_TRAINING`); wall s includes the time the trainings shared the "
        "machine. "
        "words/s: EWT dev, one thread, interleaved, against `base`.\n",
        f"- trainings: {ablation_meta(lines)}",
        f"- words/s: {meta_text(dev_speed)}\n",
        ablation_table(lines),
        "\nWhat each setting of the accuracy preset did on dev, against the same config "
        "without it (one seed each):\n",
        *setting_effects(lines),
        "\n### Test set, trained to convergence (joint.py's result files)\n",
        "The commits, dates, machines and commands of these rows are those of the joint "
        "benchmark's EWT section.\n",
        table(runs, speeds),
        *speed_tables(),
        "\n### Learning curve (test set; a fixed random sample of train, sample seed 0)\n",
        "The systems differ in the model seed; the sample is the same.\n",
        *meta_lines(curve_runs()),
        "",
        curve_table(),
        "\n### Targets (seed means)\n",
        "\n".join(targets(runs, speeds)),
    ]
    return "\n".join(text)
