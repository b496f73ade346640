"""Benchmark on UD English EWT: our tagger against spaCy's own, trained and timed side by side.

    python benchmarks/ewt.py                 # full run (hours on 2 CPU cores)
    python benchmarks/ewt.py --quick         # a fraction of the steps, to check the path

Writes benchmarks/results/ewt.json and BENCHMARKS.md (pass --results-dir/--markdown
to write elsewhere). Trains every system with gold tokenization and best-on-dev
selection, then scores each on test and measures speed, memory and size.
"""

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer
from spacy import util
from thinc.api import Config

sys.path.insert(0, str(Path(__file__).parent))
from measure import evaluate_system, measure_speed  # noqa: E402
from render import write_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "ud-english-ewt"
# system name: (config source, target attribute)
# Ordered so that with --jobs 2 each of ours trains beside one of spaCy's.
SYSTEMS: Dict[str, tuple] = {
    "lstm_tagger_upos": ("configs/ewt_upos.cfg", "pos"),
    "spacy_morphologizer": ("morphologizer", "pos"),
    "lstm_tagger_xpos": ("configs/ewt_xpos.cfg", "tag"),
    "spacy_tagger": ("tagger", "tag"),
    "spacy_bilstm_tagger": ("tagger+bilstm", "tag"),
    # As en_core_web_sm builds them: both listen to one shared tok2vec.
    "spacy_tagger_morphologizer": ("tagger,morphologizer", "pos"),
}
BILSTM_ENCODER = {
    "@architectures": "spacy.TorchBiLSTMEncoder.v1",
    "width": 96,
    "depth": 2,
    "dropout": 0.0,
}


def run(cmd: List[str]) -> None:
    """Run a command, echoing it, and stop on failure."""
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def convert(data: Path, corpus: Path) -> Dict[str, Path]:
    """Convert the CoNLL-U files with `spacy convert`, once."""
    corpus.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split in ("train", "dev", "test"):
        out = corpus / f"en_ewt-ud-{split}.spacy"
        if not out.exists():
            src = data / f"en_ewt-ud-{split}.conllu"
            run([sys.executable, "-m", "spacy", "convert", str(src), str(corpus), "-c", "conllu"])
        paths[split] = out
    return paths


def make_config(system: str, out: Path, log_file: Path) -> Path:
    """Write the training config of a system, with a JSONL training log."""
    source = SYSTEMS[system][0]
    out.parent.mkdir(parents=True, exist_ok=True)
    if source.endswith(".cfg"):
        config = util.load_config(ROOT / source)
    else:
        pipe = source.split("+")[0]
        spacy_cfg = out.with_suffix(".init.cfg")
        run(
            [
                sys.executable,
                "-m",
                "spacy",
                "init",
                "config",
                "-l",
                "en",
                "-p",
                pipe,
                "-o",
                "efficiency",
                "--force",
                str(spacy_cfg),
            ]
        )
        config = util.load_config(spacy_cfg)
        if source.endswith("+bilstm"):
            config["components"]["tok2vec"]["model"]["encode"] = dict(BILSTM_ENCODER)
    config["training"]["logger"] = {
        "@loggers": "spacy.ConsoleLogger.v3",
        "progress_bar": None,
        "console_output": True,
        "output_file": str(log_file),
    }
    Config(config).to_disk(out)
    return out


def train_system(
    system: str, corpus: Dict[str, Path], work: Path, overrides: List[str], minutes: float
) -> Dict:
    """Train one system in a child process; return its training time and peak memory."""
    model_dir = work / "models" / system
    log_file = work / "logs" / f"{system}.jsonl"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.unlink(missing_ok=True)
    config = make_config(system, work / "configs" / f"{system}.cfg", log_file)
    cmd = [
        sys.executable,
        "-m",
        "spacy",
        "train",
        str(config),
        "--output",
        str(model_dir),
        "--paths.train",
        str(corpus["train"]),
        "--paths.dev",
        str(corpus["dev"]),
        "--corpora.train.gold_preproc",
        "true",
        "--corpora.dev.gold_preproc",
        "true",
        *overrides,
    ]
    start = time.time()
    status, peak = run_capped(cmd, work / "logs" / f"{system}.train.log", minutes)
    records = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    best = max(records, key=lambda r: r["score"])
    # spaCy writes model-best each time the dev score improves: its last write is
    # the moment the best model was found, counted from the launch of `spacy train`.
    best_written = (model_dir / "model-best" / "meta.json").stat().st_mtime
    return {
        "train_seconds": round(best_written - start, 1),
        "total_train_seconds": round(time.time() - start, 1),
        "best_dev_score": best["score"],
        "best_step": best["step"],
        "train_peak_rss_mb": peak,
        "stopped_by": status,
    }


def run_capped(cmd: List[str], log_path: Path, minutes: float) -> Tuple[str, float]:
    """Run a command in a fresh child of a fresh process, its output to `log_path`,
    stopped after `minutes` (0: no cap). RETURNS (Tuple[str, float]): "done" or
    "time_cap", and the command's peak RSS in MB."""
    probe = (
        "import resource, subprocess, sys\n"
        "cap = float(sys.argv[1]) * 60 or None\n"
        "try:\n"
        "    subprocess.run(sys.argv[2:], check=True, timeout=cap); status = 'done'\n"
        "except subprocess.TimeoutExpired:\n"
        "    status = 'time_cap'\n"
        "print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    print("$", " ".join(cmd), f"> {log_path}", flush=True)
    with log_path.open("w") as log:
        subprocess.run(
            [sys.executable, "-c", probe, str(minutes), *cmd],
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    status, peak = log_path.read_text().strip().splitlines()[-1].split()
    return status, round(float(peak), 1)


def git_commit() -> str:
    """RETURNS (str): The current commit, with '+dirty' if the tree has changes."""
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, text=True, stdout=subprocess.PIPE
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
    ).stdout.strip()
    return sha + ("+dirty" if dirty else "")


def main(
    data: Path = typer.Option(DATA, help="Directory with the EWT CoNLL-U files"),
    work: Path = typer.Option(ROOT / "benchmarks" / "work", help="Scratch directory"),
    quick: bool = typer.Option(False, help="A fraction of the steps, to check the path"),
    systems: Optional[List[str]] = typer.Option(None, "--system", help="Only these systems"),
    max_steps: Optional[int] = typer.Option(None, help="Cap on training steps"),
    max_epochs: Optional[int] = typer.Option(None, help="Cap on training epochs"),
    minutes: float = typer.Option(0, help="Wall-time cap per training (0: none)"),
    jobs: int = typer.Option(1, help="Trainings run at once (give each OMP_NUM_THREADS=1)"),
    repeats: int = typer.Option(5, help="Speed repetitions (median reported)"),
    results_dir: Path = typer.Option(ROOT / "benchmarks" / "results"),
    markdown: Path = typer.Option(ROOT / "BENCHMARKS.md"),
    skip_training: bool = typer.Option(False, help="Reuse models already in WORK"),
) -> None:
    """Train, evaluate and time every system; write the JSON results and the table."""
    names = list(systems or SYSTEMS)
    corpus = convert(data, work / "corpus")
    overrides: List[str] = []
    if quick:
        overrides += ["--training.max_steps", "300", "--training.eval_frequency", "100"]
        repeats = min(repeats, 2)
    elif max_steps is not None:
        overrides += ["--training.max_steps", str(max_steps)]
    if max_epochs is not None:
        overrides += ["--training.max_epochs", str(max_epochs)]
    results: Dict[str, Dict] = {}
    if skip_training:
        for name in names:
            results[name] = json.loads((work / "models" / name / "train_info.json").read_text())
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            infos = pool.map(lambda n: train_system(n, corpus, work, overrides, minutes), names)
            for name, info in zip(names, infos):
                results[name] = info
                (work / "models" / name / "train_info.json").write_text(json.dumps(info))
    for name in names:
        model = work / "models" / name / "model-best"
        results[name].update(evaluate_system(model, SYSTEMS[name][1], corpus))
    speeds = measure_speed(
        {n: work / "models" / n / "model-best" for n in names}, corpus["test"], repeats
    )
    for name in names:
        results[name]["words_per_second"] = speeds[name]
    cmd = "python benchmarks/ewt.py " + " ".join(sys.argv[1:])
    meta = {
        "commit": git_commit(),
        "command": cmd.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "quick": quick,
        "machine": "2 CPU cores, no GPU",
        "training_overrides": overrides,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    out = {"meta": meta, **results}
    (results_dir / "ewt.json").write_text(json.dumps(out, indent=2) + "\n")
    write_markdown(out, markdown)
    print(markdown.read_text())


if __name__ == "__main__":
    typer.run(main)
