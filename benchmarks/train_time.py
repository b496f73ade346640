"""Training time: learning-rate schedules and step budgets that reach the joint model's
converged dev accuracy on EWT in less time.

    OMP_NUM_THREADS=1 python -m benchmarks.train_time dev --jobs 2   # ~30 min a run
    python -m benchmarks.render                                      # BENCHMARKS.md

`dev` trains each candidate of CANDIDATES that has no line yet in
benchmarks/results/train_time/dev.jsonl (seed 0, full EWT train, `dev_ablation`): the
shipped config with its learning rate replaced by a schedule and a fixed step budget, so
that the run ends when the schedule does. Each line records the best dev accuracy and
the time to reach it. The yardstick is lstm_joint's converged dev accuracy and time to
best over its seeds (benchmarks/results/joint/ewt), and spaCy's pair's time to best: the
throughput issue's target is at most twice that. A candidate that holds dev accuracy
must still be trained over seeds (joint.py) before a shipped config takes it.
"""

import copy
import statistics
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer
from spacy import util

from .common import RESULTS, ROOT, WORK
from .dev_ablation import ablate_table, read_lines
from .joint_render import JOINT, cell, how, load_runs

DEV_FILE = RESULTS / "train_time" / "dev.jsonl"
BASE = "ewt_joint.cfg"
WARMUP = 250
# The throughput issue's target: time to best dev at most this many times spaCy's pair's.
TARGET_RATIO = 2.0
DEV_KEYS = (("UPOS", "pos_acc"), ("XPOS", "tag_acc"), ("FEATS", "morph_acc"))


def warmup_linear(rate: float, steps: int) -> Dict[str, object]:
    """RETURNS (Dict[str, object]): thinc's warmup_linear schedule, from 0 to `rate` over
    WARMUP steps, then down to 0 at `steps`."""
    return {
        "@schedules": "warmup_linear.v1",
        "initial_rate": rate,
        "warmup_steps": WARMUP,
        "total_steps": steps,
    }


# Candidate: the learning rate (a float: constant; a dict: a schedule), its step budget,
# and other edits of the shipped config (dotted paths).
CANDIDATES: Dict[str, Tuple[object, int, Dict[str, object]]] = {
    "constant_5k": (0.002, 5000, {}),
    "warmup_linear_0.002_5k": (warmup_linear(0.002, 5000), 5000, {}),
    "warmup_linear_0.004_5k": (warmup_linear(0.004, 5000), 5000, {}),
}


def write_candidate(name: str, work: Path) -> Path:
    """Write a candidate's training config: configs/BASE with its learning rate, step
    budget and edits.

    name (str): A name of CANDIDATES.
    work (Path): The scratch folder (the config goes to WORK/configs/NAME.cfg).
    RETURNS (Path): The config's path.
    """
    rate, steps, edits = CANDIDATES[name]
    config = util.load_config(ROOT / "configs" / BASE)
    config["training"]["optimizer"]["learn_rate"] = copy.deepcopy(rate)
    config["training"]["max_steps"] = steps
    for dotted, value in edits.items():
        *parents, key = dotted.split(".")
        section = config
        for part in parents:
            section = section[part]
        section[key] = value
    out = work / "configs" / f"{name}.cfg"
    out.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(out)
    return out


def dev(
    names: List[str] = typer.Argument(None, help="Only these candidates, in this order"),
    jobs: int = typer.Option(1, help="Trainings at once (one thread each)"),
    work: Path = typer.Option(WORK / "train_time", help="Scratch folder"),
) -> None:
    """Train every candidate (or each one named) that has no line yet in DEV_FILE."""
    table = {n: (str(write_candidate(n, work)), [], CANDIDATES[n][1]) for n in CANDIDATES}
    ablate_table(DEV_FILE, table, names, jobs, work, "train_time", "candidates")


def rate_text(rate: object) -> str:
    """RETURNS (str): A candidate's learning rate, short."""
    if isinstance(rate, dict):
        name = str(rate["@schedules"]).split(".v")[0]
        return f"{name} {rate['initial_rate']} (warm-up {rate['warmup_steps']})"
    return f"constant {rate}"


def reference_rows(runs: Dict[str, List[Dict]]) -> List[str]:
    """RETURNS (List[str]): The yardsticks' rows, from joint.py's EWT result files: the
    shipped config's converged dev accuracy (lstm_joint, mean ± sd over seeds) and spaCy's
    pair's time to best."""
    rows = []
    for name in ("lstm_joint", "spacy_pair"):
        seeds = runs.get(name, [])
        if not seeds:
            continue
        devs = [cell([100 * r["dev"][k] for r in seeds], "{:.2f}") for _, k in DEV_KEYS]
        steps = cell([r["best_step"] for r in seeds], "{:,.0f}")
        secs = cell([r["train_seconds"] for r in seeds], "{:,.0f}")
        label = f"{name}, converged ({len(seeds)} seeds, joint.py)"
        rows.append(f"| {label} | shipped | | {' | '.join(devs)} | {steps} | {secs} | |")
    return rows


def time_table(lines: Dict[str, Dict], runs: Dict[str, List[Dict]]) -> str:
    """RETURNS (str): One row per candidate trained (seed 0): its schedule and budget,
    best dev accuracy, the step and time it was reached, and the run's wall time; then
    the yardsticks (`reference_rows`)."""
    rows = [
        "| run | learning rate | steps | dev UPOS | dev XPOS | dev FEATS | best step "
        "| s to best dev | wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (rate, steps, edits) in CANDIDATES.items():
        line = lines.get(name)
        if not line:
            continue
        devs = [f"{100 * line['dev'][k]:.2f}" for _, k in DEV_KEYS]
        extra = "".join(f", `{k} {v}`" for k, v in edits.items())
        cells = [name, rate_text(rate) + extra, f"{steps:,}", *devs, f"{line['step']:,}"]
        cells += [f"{line['best_s']:,}", f"{line['wall_s']:,}"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows + reference_rows(runs))


def target_line(runs: Dict[str, List[Dict]]) -> str:
    """RETURNS (str): The time target in seconds, from spaCy's pair's mean time to best."""
    pair = [r["train_seconds"] for r in runs.get("spacy_pair", [])]
    if not pair:
        return "Target: not known yet (no spacy_pair result files)."
    limit = TARGET_RATIO * statistics.mean(pair)
    return (
        f"Target: time to best dev ≤ {TARGET_RATIO:g}× spaCy's pair's mean "
        f"({statistics.mean(pair):,.0f} s), that is ≤ {limit:,.0f} s, with accuracy within "
        "the seeds' spread of lstm_joint's."
    )


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
            f"Each run is `configs/{BASE}` with the learning rate and step budget shown (the "
            "run ends when its budget does), seed 0, full EWT train, one torch thread (two "
            "runs at once on 2 cores), best dev of the run. s to best dev: from the start of "
            "`spacy train` until model-best was written. The last rows are the yardsticks, "
            "trained to convergence with patience by the joint benchmark. One seed screens; a "
            "candidate that holds must be trained over seeds before a shipped config takes it.\n",
            f"- {how(metas)}\n",
            time_table(lines, runs),
            "\n" + target_line(runs),
        ]
    )


app = typer.Typer(add_completion=False)
app.command()(dev)


@app.callback()
def main() -> None:
    """Training time of the joint model: schedules and step budgets on EWT dev."""


if __name__ == "__main__":
    app()
