"""Peak memory of tagging one long doc with the default `lstm_tagger` (the README's
"Robustness" figure), each measurement in a fresh process:

    python -m benchmarks.long_docs            # writes benchmarks/results/long_docs.json

The pipeline is the factory's default model, initialized (not trained: memory does not
depend on the weights) with 50 labels, as many as EWT's XPOS. Words are drawn from 5,000
random forms. Recorded per doc length and torch thread count (the path taken at
inference depends on it): the process's peak RSS, and that peak minus the peak after
loading and tagging a 10-token doc.
"""

import json
import random
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import spacy
import torch
import typer
from spacy.tokens import Doc
from spacy.training import Example

from .common import RESULTS, last_json, metadata, peak_rss_mb, write_json
from .joint_render import recorded

LENGTHS = [10_000, 50_000, 200_000]
THREADS = [1, 2]
RESULT_FILE = RESULTS / "long_docs.json"


def random_words(n: int, seed: int = 0) -> List[str]:
    """RETURNS (List[str]): n words drawn from 5,000 random lowercase forms."""
    rng = random.Random(seed)
    forms = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 12))) for _ in range(5000)
    ]
    return rng.choices(forms, k=n)


def build(path: Path) -> None:
    """Save a default `lstm_tagger` pipeline with 50 labels, initialized, to path."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    words = random_words(500, seed=1)
    tags = [f"T{i % 50}" for i in range(len(words))]
    example = Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, tags=tags))
    nlp.initialize(lambda: [example])
    nlp.to_disk(path)


def measure_one(path: Path, n_tokens: int, threads: int) -> None:
    """Tag a 10-token doc, then one doc of n_tokens; print both peaks as JSON."""
    torch.set_num_threads(threads)
    nlp = spacy.load(path)
    nlp(Doc(nlp.vocab, words=random_words(10)))
    base = peak_rss_mb()
    doc = Doc(nlp.vocab, words=random_words(n_tokens))
    start = time.perf_counter()
    nlp(doc)
    seconds = time.perf_counter() - start
    assert all(token.tag_ for token in doc)
    print(json.dumps({"base_peak_mb": base, "peak_mb": peak_rss_mb(),
                      "seconds": round(seconds, 2)}))  # fmt: skip


def section(path: Path = RESULT_FILE) -> Optional[str]:
    """RETURNS (Optional[str]): The `long-docs` section of BENCHMARKS.md, None without
    the result file."""
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    meta = data["meta"]
    rows = [
        "| tokens in the doc | torch threads | peak RSS MB | after a 10-token doc MB "
        "| added MB | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for r in data["results"]:
        rows.append(
            f"| {r['tokens']:,} | {r['threads']} | {r['peak_mb']:,.1f} | "
            f"{r['base_peak_mb']:,.1f} | {r['added_mb']:,.1f} | {r['seconds']:.2f} |"
        )
    return "\n".join(
        [
            "## Memory of one long doc\n",
            "Peak memory of tagging one doc of many tokens with the factory's default "
            "`lstm_tagger` (initialized with 50 labels, untrained: memory does not depend on "
            "the weights), each measurement in a fresh process; added: the peak minus the "
            "peak after tagging a 10-token doc.\n",
            *(f"- {key}: {recorded([meta.get(key)])}" for key in ("commit", "date", "machine")),
            f"- command: {recorded([meta.get('command')])}; torch {meta.get('torch')}\n",
            *rows,
        ]
    )


def main(
    output: Path = typer.Option(RESULT_FILE),
    measure: str = typer.Option("", hidden=True, help="Internal: PATH,N,THREADS"),
) -> None:
    """Measure every (length, threads) pair in a fresh process and write the results."""
    if measure:
        path, n, threads = measure.split(",")
        measure_one(Path(path), int(n), int(threads))
        return
    meta = {**metadata("long_docs"), "torch": torch.__version__}
    results: List[Dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp) / "pipeline")
        for threads in THREADS:
            for n in LENGTHS:
                arg = f"{Path(tmp) / 'pipeline'},{n},{threads}"
                cmd = [sys.executable, "-m", "benchmarks.long_docs", "--measure", arg]
                row = {"tokens": n, "threads": threads, **last_json(cmd)}
                row["added_mb"] = round(row["peak_mb"] - row["base_peak_mb"], 1)
                print(row, flush=True)
                results.append(row)
    write_json(output, {"meta": meta, "results": results})
    print(f"written to {output}")


if __name__ == "__main__":
    typer.run(main)
