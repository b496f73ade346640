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
from pathlib import Path
from typing import Dict, List, Tuple

import typer
from spacy import util

from .common import RESULTS, ROOT, WORK
from .dev_ablation import ablate_table

DEV_FILE = RESULTS / "train_time" / "dev.jsonl"
BASE = "ewt_joint.cfg"
WARMUP = 250


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


app = typer.Typer(add_completion=False)
app.command()(dev)


@app.callback()
def main() -> None:
    """Training time of the joint model: schedules and step budgets on EWT dev."""

if __name__ == "__main__":
    app()
