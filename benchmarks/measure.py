"""Accuracy, speed, memory and size of trained pipelines, for benchmarks/ewt.py.

Run as a script, it evaluates one pipeline and prints JSON:
    python benchmarks/measure.py MODEL TARGET TRAIN.spacy TEST.spacy
"""

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import spacy

from spacy_lstm_tagger.cli.corpus_io import gold_tokenized, read_corpus
from spacy_lstm_tagger.pipeline.precision import set_inference_precision

RESULT_KEY = {"pos": "upos_acc", "tag": "xpos_acc"}


def score(model: Path, target: str, train: Path, test: Path) -> Dict[str, float]:
    """Token accuracy on test, and on test tokens whose form never occurs in train."""
    nlp = spacy.load(model)
    train_forms = {t.text for doc in read_corpus(train, nlp.vocab) for t in doc}
    gold = read_corpus(test, nlp.vocab)
    attr = "pos_" if target == "pos" else "tag_"
    right = total = oov_right = oov_total = 0
    docs = [gold_tokenized(nlp, doc) for doc in gold]
    for gold_doc, doc in zip(gold, nlp.pipe(docs, batch_size=1000)):
        for g, p in zip(gold_doc, doc):
            if not getattr(g, attr):
                continue
            ok = getattr(g, attr) == getattr(p, attr)
            right, total = right + ok, total + 1
            if g.text not in train_forms:
                oov_right, oov_total = oov_right + ok, oov_total + 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        RESULT_KEY[target]: right / total,
        "oov_acc": oov_right / oov_total,
        "n_tokens": total,
        "n_oov_tokens": oov_total,
        "peak_rss_mb": round(peak, 1),
    }


def disk_mb(path: Path) -> float:
    """RETURNS (float): Total size of the files under path, in MB."""
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 2)


def evaluate_system(model: Path, target: str, corpus: Dict[str, Path]) -> Dict[str, float]:
    """Score a pipeline in a fresh process, so its peak memory is its own."""
    cmd = [sys.executable, __file__, str(model), target, str(corpus["train"]), str(corpus["test"])]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["disk_mb"] = disk_mb(model)
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
    any_nlp = next(iter(pipelines.values()))
    gold = read_corpus(test, any_nlp.vocab)
    n_words = sum(len(doc) for doc in gold)
    timings: Dict[str, List[float]] = {name: [] for name in pipelines}
    for _ in range(repeats + 1):  # the first round warms up and is dropped
        for name, nlp in pipelines.items():
            docs = [gold_tokenized(nlp, doc) for doc in gold]
            start = time.perf_counter()
            for _doc in nlp.pipe(docs, batch_size=1000):
                pass
            timings[name].append(time.perf_counter() - start)
    return {name: round(n_words / statistics.median(t[1:]), 1) for name, t in timings.items()}


if __name__ == "__main__":
    model_arg, target_arg, train_arg, test_arg = sys.argv[1:5]
    print(json.dumps(score(Path(model_arg), target_arg, Path(train_arg), Path(test_arg))))
