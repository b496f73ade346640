"""Training time: learning-rate schedules and step budgets that reach the joint model's
converged dev accuracy on EWT in less time.

    OMP_NUM_THREADS=1 python -m benchmarks.train_time dev --jobs 2   # ~30 min a run
    python -m benchmarks.render                                      # BENCHMARKS.md

`dev` trains each candidate of CANDIDATES that has no line yet in
benchmarks/results/train_time/dev.jsonl (seed 0, full EWT train, `dev_ablation`): a
shipped config with its learning rate replaced by a schedule and a fixed step budget, so
that the run ends when the schedule does. Each line records the best dev accuracy and
the time to reach it. The yardstick is lstm_joint's converged dev accuracy and time to
best over its seeds (benchmarks/results/joint/ewt), and spaCy's pair's time to best: the
throughput issue's target is at most twice that. A candidate that holds dev accuracy
must still be trained over seeds (joint.py) before a shipped config takes it.
"""

import statistics
from pathlib import Path
from typing import Dict, List, Optional

import typer

from .common import RESULTS, WORK
from .dev_ablation import DEV_KEYS, ablate_table, read_lines
from .joint_render import JOINT, accuracy_held, cell, converged_lines, how, load_runs
from .schedules import CANDIDATES, CONSTANT_TRAINING, candidate_config
from .systems import SCHEDULE_SYSTEMS, SHIPPED_TRAININGS, schedule_systems

DEV_FILE = RESULTS / "train_time" / "dev.jsonl"
# The throughput issue's target: time to best dev at most this many times spaCy's pair's.
TARGET_RATIO = 2.0


def write_candidate(name: str, work: Path) -> Path:
    """Write a candidate's training config (`schedules.candidate_config`).

    name (str): A name of CANDIDATES.
    work (Path): The scratch folder (the config goes to WORK/configs/NAME.cfg).
    RETURNS (Path): The config's path.
    """
    out = work / "configs" / f"{name}.cfg"
    out.parent.mkdir(parents=True, exist_ok=True)
    candidate_config(name).to_disk(out)
    return out


def budget_of(name: str) -> int:
    """RETURNS (int): A candidate's step budget; without one, its config's max_steps
    (patience stops it first)."""
    steps = CANDIDATES[name][2]
    return steps if steps is not None else candidate_config(name)["training"]["max_steps"]


def steps_text(steps: Optional[int]) -> str:
    """RETURNS (str): A step budget as the tables show it."""
    return "patience" if steps is None else f"{steps:,}"


def dev(
    names: List[str] = typer.Argument(None, help="Only these candidates, in this order"),
    jobs: int = typer.Option(1, help="Trainings at once (one thread each)"),
    work: Path = typer.Option(WORK / "train_time", help="Scratch folder"),
) -> None:
    """Train every candidate (or each one named) that has no line yet in DEV_FILE."""
    table = {n: (str(write_candidate(n, work)), [], budget_of(n)) for n in CANDIDATES}
    ablate_table(DEV_FILE, table, names, jobs, work, "train_time", "candidates")


def rate_text(rate: object) -> str:
    """RETURNS (str): A candidate's learning rate, short."""
    if isinstance(rate, dict):
        name = str(rate["@schedules"]).split(".v")[0]
        return f"{name} {rate['initial_rate']} (warm-up {rate['warmup_steps']})"
    return f"constant {rate}"


def edits_text(edits: Dict[str, object]) -> str:
    """RETURNS (str): A candidate's other overrides, as the tables show them after its
    learning rate."""
    return "".join(f", `{k} {v}`" for k, v in edits.items())


def converged_rows(runs: Dict[str, List[Dict]]) -> List[str]:
    """RETURNS (List[str]): The rows of joint.py's EWT result files, mean ± sd over seeds:
    the shipped config (lstm_joint, patience), each candidate trained to convergence
    (systems.SCHEDULE_SYSTEMS: its budget) and spaCy's pair (patience)."""
    rows = []
    for name in ("lstm_joint", *SCHEDULE_SYSTEMS, "spacy_pair"):
        seeds = runs.get(name, [])
        if not seeds:
            continue
        devs = [cell([100 * r["dev"][k] for r in seeds], "{:.2f}") for _, k in DEV_KEYS]
        steps = cell([r["best_step"] for r in seeds], "{:,.0f}")
        secs = cell([r["train_seconds"] for r in seeds], "{:,.0f}")
        total = cell([r["total_train_seconds"] for r in seeds], "{:,.0f}")
        if name in SCHEDULE_SYSTEMS:
            base, rate, budget, edits = CANDIDATES[SCHEDULE_SYSTEMS[name]]
            extra = edits_text(edits) + (" (shipped)" if name in SHIPPED_TRAININGS else "")
            how_trained = [base, rate_text(rate) + extra, steps_text(budget)]
        elif name == "lstm_joint":
            rate = rate_text(CONSTANT_TRAINING["training.optimizer.learn_rate"])
            how_trained = ["ewt_joint.cfg", rate, "patience"]
        else:
            how_trained = ["spaCy's", "shipped", "patience"]
        cells = [f"{name} ({len(seeds)} seeds, joint.py)", *how_trained, *devs, steps, secs]
        rows.append("| " + " | ".join([*cells, total]) + " | |")
    return rows


def time_table(lines: Dict[str, Dict], runs: Dict[str, List[Dict]]) -> str:
    """RETURNS (str): One row per candidate trained (seed 0): its schedule and budget,
    best dev accuracy, the step and time it was reached, and the run's wall time; then
    the rows trained to convergence (`converged_rows`)."""
    rows = [
        "| run | config | learning rate | steps | dev UPOS | dev XPOS | dev FEATS "
        "| best step | s to best dev | wall s | commit |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (base, rate, steps, edits) in CANDIDATES.items():
        line = lines.get(name)
        if not line:
            continue
        devs = [f"{100 * line['dev'][k]:.2f}" for _, k in DEV_KEYS]
        cells = [name, base, rate_text(rate) + edits_text(edits), steps_text(steps), *devs]
        cells.append(f"{line['step']:,}")
        commit = str(line.get("meta", {}).get("commit", "not recorded"))[:7]
        cells += [f"{line['best_s']:,}", f"{line['wall_s']:,}", f"`{commit}`"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows + converged_rows(runs))


def target_lines(runs: Dict[str, List[Dict]]) -> List[str]:
    """RETURNS (List[str]): The time target in seconds, from spaCy's pair's mean time to
    best, and whether each system trained to convergence meets it, with the margin."""
    pair = [r["train_seconds"] for r in runs.get("spacy_pair", [])]
    if not pair:
        return ["Target: not known yet (no spacy_pair result files)."]
    limit = TARGET_RATIO * statistics.mean(pair)
    lines = [
        f"Target: time to best dev ≤ {TARGET_RATIO:g}× spaCy's pair's mean "
        f"({statistics.mean(pair):,.0f} s), that is ≤ {limit:,.0f} s, with test accuracy "
        "within the seeds' spread of lstm_joint's:\n"
    ]
    for name in ("lstm_joint", *timed_systems()):
        secs = [r["train_seconds"] for r in runs.get(name, [])]
        if not secs:
            continue
        mean = statistics.mean(secs)
        held = accuracy_held(runs, name) if name != "lstm_joint" else (True, "")
        word = "met" if mean <= limit and held and held[0] else "**missed**"
        line = f"- {name}: {word}, {mean:,.0f} s ({mean - limit:+,.0f} s)"
        lines.append(line + (f"; {held[1]}" if held and held[1] else ""))
    return lines


def timed_systems() -> List[str]:
    """RETURNS (List[str]): The schedule systems the time target judges: all but the
    accuracy preset's, whose budget is its own (the vectors issue's three hours)."""
    accuracy = schedule_systems("ewt_joint_accuracy.cfg")
    return [name for name in SCHEDULE_SYSTEMS if name not in accuracy]


def section(joint: Path = JOINT) -> Optional[str]:
    """RETURNS (Optional[str]): The `train-time` section of BENCHMARKS.md, from the
    result files; None before any candidate is trained."""
    lines = read_lines(DEV_FILE)
    if not lines:
        return None
    runs = load_runs(joint / "ewt")
    metas = [line.get("meta", {}) for line in lines.values()]
    return "\n".join(
        [
            "## Training time: schedules and step budgets, EWT dev\n",
            "Each run is a config of `configs/` with the learning rate and step budget shown (the "
            "run ends when its budget does), seed 0, full EWT train, one torch thread (two "
            "runs at once on 2 cores). Dev accuracies: model-best's (the best weighted dev "
            "score, as spaCy keeps it); best step: the first evaluation with the run's best "
            "dev UPOS; s to best dev: from the start of `spacy train` until model-best was "
            "written. The commit says which code trained: from `f906f03` on, training groups "
            "the docs by length at one thread (until `b9ce3c3`, the character forms too). "
            "The last rows are trained to convergence by the joint benchmark (its EWT table "
            "has their test scores): lstm_joint (the config's constant rate before it took "
            "lstm_warmup8k's schedule) and spaCy's pair with patience, a candidate to its "
            "budget (the accuracy preset's, lstm_accuracy_warmup8k, is judged with the "
            "vectors). Each candidate is that constant training (`schedules.CONSTANT_TRAINING`: "
            "0.002, spaCy's buffer of 256) with its own rate, budget and overrides. One "
            "seed screens; a candidate that holds must be trained over seeds before a "
            "shipped config takes it.\n",
            f"- {how(metas)}\n",
            time_table(lines, runs),
            "",
            *target_lines(runs),
            *converged_lines(timed_systems(), joint),
        ]
    )


app = typer.Typer(add_completion=False)
app.command()(dev)


@app.callback()
def main() -> None:
    """Training time of the joint model: schedules and step budgets on EWT dev."""


if __name__ == "__main__":
    app()
