"""Tagging speed on a CPU: our shipped models against spaCy's taggers, and the distance
from what the machine can do.

    OMP_NUM_THREADS=2 python benchmarks/speed.py --work benchmarks/work/speed

Trains each system that WORK does not hold yet for `--train-steps` steps (speed does
not depend on how long a model trained, and our fast paths give the reference path's
output, so accuracy is the one of the trained model), then, in one process, times
`nlp.pipe(batch_size=1000)` over EWT test with gold tokens: the systems and
precisions interleaved, the median of `--repeats` rounds after a warm-up round, at 1
and 2 torch threads. It also records each system's test accuracy per precision, its
peak RSS (a fresh process each), words/s with `n_process=2`, the FLOPs per token of
our shapes, and the machine's measured GEMM peak. Writes
benchmarks/results/speed_runs/DATE.json and the speed section of BENCHMARKS.md: the
latest run in full, and the speed ratios of every recorded run.
"""

import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import spacy
import torch
import typer

sys.path.insert(0, str(Path(__file__).parent))
from ewt import DATA, ROOT, convert, git_commit, train_system  # noqa: E402
from render import write_section  # noqa: E402
from speed_report import flops_per_token, gemm_peak, history_table, speed_table  # noqa: E402

from spacy_lstm_tagger import reference_paths, set_inference_precision  # noqa: E402
from spacy_lstm_tagger.cli.corpus_io import gold_tokenized, read_corpus  # noqa: E402

# The systems of benchmarks/ewt.py that are timed, and the attributes they write.
SYSTEMS: Dict[str, Tuple[str, ...]] = {
    "spacy_tagger": ("tag",),
    "spacy_tagger_morphologizer": ("tag", "pos"),
    "spacy_bilstm_tagger": ("tag",),
    "lstm_tagger_upos": ("pos",),
    "lstm_tagger_xpos": ("tag",),
}
# Our precisions: "reference" is float32 with the fast paths off (the code before
# them), "float32" the default, "bfloat16" the opt-in.
OUR_VARIANTS = ("reference", "float32", "bfloat16")


def load_systems(work: Path, names: List[str]) -> Dict[str, spacy.Language]:
    """RETURNS (Dict[str, Language]): Each system's trained pipeline (model-last)."""
    return {name: spacy.load(work / "models" / name / "model-last") for name in names}


def variants(name: str) -> Tuple[str, ...]:
    """RETURNS (Tuple[str, ...]): The precisions timed for a system."""
    return OUR_VARIANTS if name.startswith("lstm_tagger") else ("float32",)


def tag(
    nlp: spacy.Language, variant: str, gold: List, **pipe_kwargs
) -> Tuple[Tuple[float, float], List]:
    """Tag the gold-tokenized docs in one precision.

    RETURNS (Tuple[Tuple[float, float], List]): The wall-clock and CPU seconds of
        this process, and the docs.
    """
    set_inference_precision(nlp, "bfloat16" if variant == "bfloat16" else "float32")
    docs = [gold_tokenized(nlp, doc) for doc in gold]
    with reference_paths() if variant == "reference" else contextlib.nullcontext():
        start, cpu_start = time.perf_counter(), time.process_time()
        out = list(nlp.pipe(docs, batch_size=1000, **pipe_kwargs))
        seconds = (time.perf_counter() - start, time.process_time() - cpu_start)
    set_inference_precision(nlp, "float32")
    return seconds, out


def accuracy(gold: List, docs: List, attrs: Tuple[str, ...]) -> Dict[str, float]:
    """RETURNS (Dict[str, float]): Token accuracy of each attribute, e.g. `pos_acc`."""
    scores = {}
    for attr in attrs:
        pairs = [
            (getattr(g, f"{attr}_"), getattr(p, f"{attr}_"))
            for gd, pd in zip(gold, docs)
            for g, p in zip(gd, pd)
            if getattr(g, f"{attr}_")
        ]
        scores[f"{attr}_acc"] = sum(g == p for g, p in pairs) / len(pairs)
    return scores


def time_interleaved(
    systems: Dict[str, spacy.Language], gold: List, threads: int, repeats: int
) -> Dict[str, float]:
    """Words/s of every system and precision, interleaved, median after a warm-up:
    per second of wall-clock time, and at one thread also per second of this
    process's CPU time, which time the virtual machine's host takes away does not
    count against (on a quiet machine the two agree).

    RETURNS (Dict[str, float]): Keyed "system/precision/clock".
    """
    torch.set_num_threads(threads)
    n_words = sum(len(doc) for doc in gold)
    timings: Dict[str, List[float]] = {}
    for _ in range(repeats + 1):
        for name, nlp in systems.items():
            for variant in variants(name):
                (wall, cpu), _ = tag(nlp, variant, gold)
                timings.setdefault(f"{name}/{variant}/wall", []).append(wall)
                if threads == 1:
                    timings.setdefault(f"{name}/{variant}/cpu", []).append(cpu)
    speeds = {key: round(n_words / statistics.median(t[1:]), 1) for key, t in timings.items()}
    print(f"{threads} thread(s):", json.dumps(speeds), flush=True)
    return speeds


def multiprocess_speed(systems: Dict[str, spacy.Language], gold: List, repeats: int) -> Dict:
    """Words/s of `nlp.pipe(n_process=2)` against one process (one thread each), over
    two copies of the test set, startup of the workers included; median of runs."""
    torch.set_num_threads(1)
    text = gold * 2
    n_words = sum(len(doc) for doc in text)
    result = {}
    for name, nlp in systems.items():
        for n_process in (1, 2):
            runs = [tag(nlp, "float32", text, n_process=n_process)[0][0] for _ in range(repeats)]
            result[f"{name}/n_process={n_process}"] = round(n_words / statistics.median(runs), 1)
            print(
                name, f"n_process={n_process}", result[f"{name}/n_process={n_process}"], flush=True
            )
    return result


def peak_rss_mb(model: Path, test: Path) -> float:
    """Load a pipeline and tag the test set in a fresh process; RETURNS its peak RSS."""
    cmd = [sys.executable, __file__, "--rss-of", str(model), "--test", str(test)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return float(out.strip().splitlines()[-1])


def print_rss_of(model: Path, test: Path) -> None:
    """The `--rss-of` mode: tag once and print the peak RSS in MB."""
    torch.set_num_threads(1)
    nlp = spacy.load(model)
    tag(nlp, "float32", read_corpus(test, nlp.vocab))
    print(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))


def measure(work: Path, names: List[str], test: Path, repeats: int) -> Dict:
    """Every measurement of the saved systems; RETURNS the per-system results."""
    systems = load_systems(work, names)
    any_nlp = next(iter(systems.values()))
    gold = read_corpus(test, any_nlp.vocab)
    results: Dict[str, Dict] = {name: {} for name in names}
    for name, nlp in systems.items():
        for variant in variants(name):
            _, docs = tag(nlp, variant, gold)
            results[name][variant] = {"accuracy": accuracy(gold, docs, SYSTEMS[name])}
        results[name]["peak_rss_mb"] = peak_rss_mb(work / "models" / name / "model-last", test)
        results[name]["flops_per_token"] = flops_per_token(nlp)
        print(name, json.dumps(results[name]), flush=True)
    for threads in (1, 2):
        speeds = time_interleaved(systems, gold, threads, repeats)
        for key, wps in speeds.items():
            name, variant, clock = key.split("/")
            results[name][variant][f"words_per_{clock}_second_{threads}t"] = wps
    for key, wps in multiprocess_speed(systems, gold, 1).items():
        name, setting = key.split("/")
        results[name][setting] = wps
    return results


def train_missing(work: Path, names: List[str], corpus: Dict[str, Path], steps: int) -> None:
    """Train each system that has no model in WORK yet, for `steps` steps."""
    overrides = ["--training.max_steps", str(steps), "--training.eval_frequency", str(steps)]
    for name in names:
        if not (work / "models" / name / "model-last" / "meta.json").exists():
            info = train_system(name, corpus, work, overrides, minutes=0)
            (work / "models" / name / "train_info.json").write_text(json.dumps(info))


def main(
    data: Path = typer.Option(DATA, help="Directory with the EWT CoNLL-U files"),
    work: Path = typer.Option(ROOT / "benchmarks" / "work" / "speed", help="Scratch directory"),
    train_steps: int = typer.Option(1000, help="Training steps of each system"),
    repeats: int = typer.Option(7, help="Timed rounds (median reported), after one warm-up"),
    systems: Optional[List[str]] = typer.Option(None, "--system", help="Only these systems"),
    results_dir: Path = typer.Option(ROOT / "benchmarks" / "results"),
    markdown: Path = typer.Option(ROOT / "BENCHMARKS.md"),
    train_only: bool = typer.Option(False, help="Only train the missing systems"),
    rss_of: Optional[Path] = typer.Option(None, hidden=True),
    test: Optional[Path] = typer.Option(None, hidden=True),
) -> None:
    """Train what is missing, measure, and write the results and the table."""
    if rss_of is not None and test is not None:
        return print_rss_of(rss_of, test)
    names = list(systems or SYSTEMS)
    corpus = convert(data, work / "corpus")
    train_missing(work, names, corpus, train_steps)
    if train_only:
        return None
    results = measure(work, names, corpus["test"], repeats)
    meta = {
        "commit": git_commit(),
        "command": "python benchmarks/speed.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": "2 CPU cores, no GPU",
        "torch": torch.__version__,
        "gemm_peak_gflops": {f"{t}t": gemm_peak(t) for t in (1, 2)},
        "train_steps": train_steps,
    }
    out = {"meta": meta, **results}
    # This machine's speed varies between runs (BENCHMARKS.md): every run is kept.
    runs = results_dir / "speed_runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (runs / f"{stamp}.json").write_text(json.dumps(out, indent=2) + "\n")
    history = [json.loads(path.read_text()) for path in sorted(runs.glob("*.json"))]
    section = speed_table(out) + "\n\n" + history_table(history)
    write_section(markdown, "speed", section)
    print(section)


if __name__ == "__main__":
    typer.run(main)
