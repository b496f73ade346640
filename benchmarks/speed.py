"""Tagging speed on a CPU: our shipped models against spaCy's taggers, and the distance
from what the machine can do.

    OMP_NUM_THREADS=2 python -m benchmarks.speed --work benchmarks/work/speed

Trains each system that WORK does not hold yet for `--train-steps` steps (speed does
not depend on how long a model trained, and our fast paths give the reference path's
output, so accuracy is the one of the trained model), then, in one process, times
`nlp.pipe(batch_size=1000)` over EWT test with gold tokens: the systems and
precisions interleaved, the median of `--repeats` rounds after a warm-up round, at 1
and 2 torch threads. It also records each system's test accuracy per precision, its
peak RSS (a fresh process each), words/s with `n_process=2`, the FLOPs per token of
our shapes, and the machine's measured GEMM peak. Writes
benchmarks/results/speed_runs/DATE.json and the speed section of BENCHMARKS.md: the
latest run in full, and the speed ratios of every recorded run (speed_report.py).
"""

import contextlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import spacy
import torch
import typer

from spacy_lstm_tagger import reference_paths, set_inference_precision
from spacy_lstm_tagger.cli.corpus_io import gold_tokenized, read_corpus

from .common import (
    DATA,
    FIELDS,
    RESULTS,
    ROOT,
    WORK,
    Stopwatch,
    accuracies,
    convert,
    last_json,
    metadata,
    peak_rss_mb,
    time_interleaved,
    token_counts,
    write_json,
    write_section,
)
from .speed_report import flops_per_token, gemm_peak, history_table, speed_table
from .systems import ewt_config
from .training import train

# The EWT systems that are timed (systems.EWT_CONFIGS), and the attributes they write.
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


def tag(nlp: spacy.Language, variant: str, gold: List, watch: Stopwatch, **pipe_kwargs) -> List:
    """Tag the gold-tokenized docs in one precision, timing `nlp.pipe` with `watch`.

    RETURNS (List): The docs.
    """
    set_inference_precision(nlp, "bfloat16" if variant == "bfloat16" else "float32")
    docs = [gold_tokenized(nlp, doc) for doc in gold]
    with reference_paths() if variant == "reference" else contextlib.nullcontext(), watch():
        out = list(nlp.pipe(docs, batch_size=1000, **pipe_kwargs))
    set_inference_precision(nlp, "float32")
    return out


def accuracy(gold: List, docs: List, attrs: Tuple[str, ...]) -> Dict[str, float]:
    """RETURNS (Dict[str, float]): Token accuracy of each attribute, e.g. `pos_acc`."""
    scores = accuracies(token_counts(gold, docs, attrs), oov=False)
    return {f"{attr}_acc": scores[f"{FIELDS[attr]}_acc"] for attr in attrs}


def timed_speeds(
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
    tasks = {
        f"{name}/{variant}": (
            lambda watch, nlp=nlp, variant=variant: tag(nlp, variant, gold, watch)
        )
        for name, nlp in systems.items()
        for variant in variants(name)
    }
    speeds = {}
    for key, timing in time_interleaved(tasks, repeats).items():
        for clock in ("wall", "cpu") if threads == 1 else ("wall",):
            speeds[f"{key}/{clock}"] = round(n_words / statistics.median(timing["all"][clock]), 1)
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
            watch = Stopwatch()
            for _ in range(repeats):
                tag(nlp, "float32", text, watch, n_process=n_process)
            wps = round(n_words / statistics.median(watch.wall["all"]), 1)
            result[f"{name}/n_process={n_process}"] = wps
            print(name, f"n_process={n_process}", wps, flush=True)
    return result


def rss_of(model: Path, test: Path) -> float:
    """Load a pipeline and tag the test set in a fresh process; RETURNS its peak RSS."""
    cmd = [sys.executable, "-m", "benchmarks.speed", "--rss-of", str(model), "--test", str(test)]
    return float(last_json(cmd))


def print_rss_of(model: Path, test: Path) -> None:
    """The `--rss-of` mode: tag once and print the peak RSS in MB."""
    torch.set_num_threads(1)
    nlp = spacy.load(model)
    tag(nlp, "float32", read_corpus(test, nlp.vocab), Stopwatch())
    print(peak_rss_mb())


def measure(work: Path, names: List[str], test: Path, repeats: int) -> Dict:
    """Every measurement of the saved systems; RETURNS the per-system results."""
    systems = load_systems(work, names)
    gold = read_corpus(test, next(iter(systems.values())).vocab)
    results: Dict[str, Dict] = {name: {} for name in names}
    for name, nlp in systems.items():
        for variant in variants(name):
            docs = tag(nlp, variant, gold, Stopwatch())
            results[name][variant] = {"accuracy": accuracy(gold, docs, SYSTEMS[name])}
        results[name]["peak_rss_mb"] = rss_of(work / "models" / name / "model-last", test)
        results[name]["flops_per_token"] = flops_per_token(nlp)
        print(name, json.dumps(results[name]), flush=True)
    for threads in (1, 2):
        for key, wps in timed_speeds(systems, gold, threads, repeats).items():
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
        out = work / "models" / name
        if not (out / "model-last" / "meta.json").exists():
            config = ewt_config(name, out / "config.cfg", out / "train.jsonl")
            info = train(config, out, corpus, overrides)
            write_json(out / "train_info.json", info)


def main(
    data: Path = typer.Option(DATA / "ud-english-ewt", help="Folder of the EWT CoNLL-U files"),
    work: Path = typer.Option(WORK / "speed", help="Scratch directory"),
    train_steps: int = typer.Option(1000, help="Training steps of each system"),
    repeats: int = typer.Option(7, help="Timed rounds (median reported), after one warm-up"),
    systems: Optional[List[str]] = typer.Option(None, "--system", help="Only these systems"),
    results_dir: Path = typer.Option(RESULTS),
    markdown: Path = typer.Option(ROOT / "BENCHMARKS.md"),
    train_only: bool = typer.Option(False, help="Only train the missing systems"),
    rss_of: Optional[Path] = typer.Option(None, hidden=True),
    test: Optional[Path] = typer.Option(None, hidden=True),
) -> None:
    """Train what is missing, measure, and write the results and the table."""
    if rss_of is not None and test is not None:
        return print_rss_of(rss_of, test)
    names = list(systems or SYSTEMS)
    corpus = convert("ewt", work / "corpus", data)
    train_missing(work, names, corpus, train_steps)
    if train_only:
        return None
    meta = metadata("speed")  # before the run writes its results
    results = measure(work, names, corpus["test"], repeats)
    meta["torch"] = torch.__version__
    meta["gemm_peak_gflops"] = {f"{t}t": gemm_peak(t) for t in (1, 2)}
    meta["train_steps"] = train_steps
    out = {"meta": meta, **results}
    # This machine's speed varies between runs: every run is kept.
    runs = results_dir / "speed_runs"
    write_json(runs / f"{time.strftime('%Y%m%d-%H%M%S')}.json", out)
    section = speed_section(runs)
    write_section(markdown, "speed", section)
    print(section)


def speed_section(runs: Path = RESULTS / "speed_runs") -> Optional[str]:
    """RETURNS (Optional[str]): The `speed` section: the latest run in full, and every
    run's ratios; None without runs."""
    history = [json.loads(path.read_text()) for path in sorted(runs.glob("*.json"))]
    return speed_table(history[-1]) + "\n\n" + history_table(history) if history else None


if __name__ == "__main__":
    typer.run(main)
