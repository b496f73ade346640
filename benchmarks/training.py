"""One `spacy train` run in a fresh process: gold tokens, an optional time cap, and the
figures a result file records (time to the best dev score, steps, peak memory)."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

# Runs a command in a child process, stopped after argv[1] minutes (0: no cap), and
# prints "done" or "time_cap" and the child's peak RSS in MB.
CAPPED = (
    "import subprocess, sys\n"
    "from benchmarks.common import peak_rss_mb\n"
    "cap = float(sys.argv[1]) * 60 or None\n"
    "try:\n"
    "    subprocess.run(sys.argv[2:], check=True, timeout=cap); status = 'done'\n"
    "except subprocess.TimeoutExpired:\n"
    "    status = 'time_cap'\n"
    "print(status, peak_rss_mb(children=True))\n"
)


def run_capped(cmd: List[str], log_path: Path, minutes: float) -> Tuple[str, float]:
    """Run a command in a fresh child of a fresh process, its output to `log_path`,
    stopped after `minutes` (0: no cap). RETURNS (Tuple[str, float]): "done" or
    "time_cap", and the command's peak RSS in MB."""
    print("$", " ".join(cmd), f"> {log_path}", flush=True)
    with log_path.open("w") as log:
        subprocess.run(
            [sys.executable, "-c", CAPPED, str(minutes), *cmd],
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    status, peak = log_path.read_text().strip().splitlines()[-1].split()
    return status, round(float(peak), 1)


def read_log(path: Path) -> List[Dict]:
    """RETURNS (List[Dict]): The records of a JSONL training log, one per evaluation."""
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def saved_best(log: List[Dict]) -> Dict:
    """RETURNS (Dict): The evaluation whose model is model-best: spaCy saves a tie with
    the best dev score again, so the last of the best is the one saved."""
    return max(reversed(log), key=lambda record: record["score"])


def train(
    config: Path, out: Path, corpus: Dict[str, Path], overrides: List[str], minutes: float = 0
) -> Dict:
    """Train with `spacy train` in a fresh process; RETURNS its training figures.

    config (Path): The config, with its JSONL log at out/train.jsonl.
    out (Path): The output folder (model-best, model-last; train.log).
    corpus (Dict[str, Path]): The converted splits.
    overrides (List[str]): Further `spacy train` overrides (seeds, steps).
    minutes (float): Stop the training after this long (0: no cap); the result then says
        stopped_by "time_cap", and model-best is the best model found until then.
    RETURNS (Dict): Seconds to best dev and in all, best step and dev scores, peak RSS.
    """
    cmd = [
        sys.executable, "-m", "spacy", "train", str(config), "--output", str(out),
        "--paths.train", str(corpus["train"]), "--paths.dev", str(corpus["dev"]),
        "--corpora.train.gold_preproc", "true", "--corpora.dev.gold_preproc", "true",
        *overrides,
    ]  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    status, peak = run_capped(cmd, out / "train.log", minutes)
    log = read_log(out / "train.jsonl")
    best = saved_best(log)
    meta_file = out / "model-best" / "meta.json"
    performance = json.loads(meta_file.read_text())["performance"]
    return {
        # spaCy rewrites model-best at each better dev score: its last write is when the
        # best model was found, counted from the launch of `spacy train`.
        "train_seconds": round(meta_file.stat().st_mtime - start, 1),
        "total_train_seconds": round(time.time() - start, 1),
        "best_step": best["step"],
        "last_step": log[-1]["step"],
        "best_dev_score": best["score"],
        "dev": {k: v for k, v in performance.items() if k.endswith("_acc") and v is not None},
        "train_peak_rss_mb": peak,
        "stopped_by": status,
    }
