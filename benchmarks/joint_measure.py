"""Test scores and speed of trained pipelines, for joint.py and vectors.py, each
measured in a fresh process of its own that prints JSON:

    python -m benchmarks.joint_measure evaluate MODEL TRAIN.spacy TEST.spacy --attrs pos,tag
    python -m benchmarks.joint_measure evaluate MODEL TRAIN.spacy TEST.spacy --restrict
    python -m benchmarks.joint_measure speed TEST.spacy NAME=MODEL [NAME=MODEL ...]

`speed --output FILE --data "EWT test" --note TEXT` also writes a result file
(benchmarks/results/vectors/test_speed_DATE.json), which BENCHMARKS.md shows.
"""

import json
import statistics
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import spacy
import torch
import typer

from spacy_lstm_tagger import set_inference_precision
from spacy_lstm_tagger.cli.corpus_io import gold_tokenized, read_corpus

from .common import (
    accuracies,
    metadata,
    peak_rss_mb,
    pipe_task,
    time_interleaved,
    token_counts,
    write_json,
)

# The component setting that restricts FEATS to those seen with the predicted UPOS.
RESTRICT = {"components": {"lstm_tagger": {"restrict_morph_by_pos": True}}}
# The suffix of a system timed in bfloat16 (opt-in, `inference_precision.v1`).
BFLOAT16 = ", bfloat16"
# The suffix of lstm_joint scored and timed with RESTRICT.
RESTRICTED = ", FEATS restricted by UPOS"
app = typer.Typer(add_completion=False)


def score(
    model: Path, attrs: List[str], train: Path, test: Path, restrict: bool = False
) -> Dict[str, float]:
    """Accuracy of each written attribute on test (gold tokens), overall and on tokens
    whose form never occurs in train, and this process's peak RSS.

    restrict (bool): Load the `lstm_tagger` with `restrict_morph_by_pos` on; off otherwise.
    RETURNS (Dict[str, float]): E.g. `upos_acc`, `oov_upos_acc`, `seen_pair_acc` (the
        share of tokens whose predicted UPOS and FEATS were seen together in train),
        `eval_peak_rss_mb`.
    """
    nlp = spacy.load(model, config=RESTRICT if restrict else {})
    if not restrict and "lstm_tagger" in nlp.pipe_names:
        # The plain scores are unrestricted, whatever the pipeline's config says.
        nlp.get_pipe("lstm_tagger").restrict_morph_by_pos = False
    train_docs = read_corpus(train, nlp.vocab)
    train_forms = {t.text for doc in train_docs for t in doc}
    pairs = {(t.pos_, str(t.morph)) for doc in train_docs for t in doc if t.has_morph()}
    gold = read_corpus(test, nlp.vocab)
    docs = list(nlp.pipe([gold_tokenized(nlp, doc) for doc in gold], batch_size=1000))
    result: Dict[str, float] = accuracies(token_counts(gold, docs, attrs, train_forms, pairs))
    tokens = [t.text for doc in gold for t in doc]
    result["n_tokens"] = len(tokens)
    result["n_oov_tokens"] = sum(text not in train_forms for text in tokens)
    result["eval_peak_rss_mb"] = peak_rss_mb()
    return result


def measure_speed(
    models: Dict[str, Path],
    test: Path,
    repeats: int,
    bfloat16: Iterable[str] = (),
    configs: Optional[Dict[str, Dict]] = None,
) -> Dict[str, float]:
    """Words per second of `nlp.pipe` over the test sentences (batch_size 1000), the
    systems interleaved in one process, median over the repetitions; the systems named
    in `bfloat16` run their recurrent taggers in bfloat16 (`set_inference_precision`),
    and those in `configs` are loaded with that config override."""
    configs = configs or {}
    pipelines = {
        name: spacy.load(path, config=configs.get(name, {})) for name, path in models.items()
    }
    for name in bfloat16:
        set_inference_precision(pipelines[name], "bfloat16")
    gold = read_corpus(test, next(iter(pipelines.values())).vocab)
    n_words = sum(len(doc) for doc in gold)
    tasks = {name: pipe_task(nlp, gold) for name, nlp in pipelines.items()}
    timings = time_interleaved(tasks, repeats)
    return {
        name: round(n_words / statistics.median(t["all"]["wall"]), 1) for name, t in timings.items()
    }


@app.command()
def evaluate(
    model: Path, train: Path, test: Path, attrs: str = "pos,tag,morph", restrict: bool = False
) -> None:
    """Print the test scores of one pipeline as JSON (run in a fresh process)."""
    print(json.dumps(score(model, attrs.split(","), train, test, restrict)))


@app.command()
def speed(
    test: Path,
    models: List[str],
    repeats: int = 5,
    output: Optional[Path] = typer.Option(None, help="Also write a result file here"),
    data: str = typer.Option("", help="What TEST is, for the result file"),
    note: str = typer.Option("", help="What the result file should say of the models"),
) -> None:
    """Print the words/s of `NAME=MODEL` pipelines as JSON: one torch thread, the systems
    interleaved in this process, median of `repeats` rounds after a warm-up. A NAME
    ending in BFLOAT16 runs its recurrent tagger in bfloat16; one ending in RESTRICTED
    restricts FEATS by UPOS. With --output, the words/s also go to a result file, with
    how they were made (vectors_render shows every `test_speed*.json`)."""
    torch.set_num_threads(1)
    paths = {n: Path(p) for n, p in (item.split("=", 1) for item in models)}
    bfloat16 = [name for name in paths if name.endswith(BFLOAT16)]
    configs = {name: RESTRICT for name in paths if name.endswith(RESTRICTED)}
    words_per_second = measure_speed(paths, test, repeats, bfloat16, configs)
    print(json.dumps(words_per_second))
    if output is not None:
        meta = {**metadata("joint_measure"), "repeats": repeats, "data": data or str(test)}
        meta["models"] = {name: str(path) for name, path in paths.items()}
        if note:
            meta["note"] = note
        write_json(output, {"meta": meta, "words_per_second": words_per_second})


if __name__ == "__main__":
    app()
