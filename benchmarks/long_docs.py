"""Peak memory of tagging one long doc with the default `lstm_tagger` (the README's
"Robustness" figure), each measurement in a fresh process:

    python benchmarks/long_docs.py            # writes benchmarks/results/long_docs.json

The pipeline is the factory's default model, initialized (not trained: memory does not
depend on the weights) with 50 labels, as many as EWT's XPOS. Words are drawn from 5,000
random forms. Recorded per doc length and torch thread count (the path taken at
inference depends on it): the process's peak RSS, and that peak minus the peak after
loading and tagging a 10-token doc.
"""

import json
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import spacy
import torch
import typer
from spacy.tokens import Doc
from spacy.training import Example

sys.path.insert(0, str(Path(__file__).parent))
from ewt import ROOT, git_commit  # noqa: E402

LENGTHS = [10_000, 50_000, 200_000]
THREADS = [1, 2]


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


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_one(path: Path, n_tokens: int, threads: int) -> None:
    """Tag a 10-token doc, then one doc of n_tokens; print both peaks as JSON."""
    torch.set_num_threads(threads)
    nlp = spacy.load(path)
    nlp(Doc(nlp.vocab, words=random_words(10)))
    base = peak_mb()
    doc = Doc(nlp.vocab, words=random_words(n_tokens))
    start = time.perf_counter()
    nlp(doc)
    seconds = time.perf_counter() - start
    assert all(token.tag_ for token in doc)
    print(json.dumps({"base_peak_mb": round(base, 1), "peak_mb": round(peak_mb(), 1),
                      "seconds": round(seconds, 2)}))  # fmt: skip


def main(
    output: Path = typer.Option(ROOT / "benchmarks" / "results" / "long_docs.json"),
    measure: str = typer.Option("", hidden=True, help="Internal: PATH,N,THREADS"),
) -> None:
    """Measure every (length, threads) pair in a fresh process and write the results."""
    if measure:
        path, n, threads = measure.split(",")
        measure_one(Path(path), int(n), int(threads))
        return
    results: List[Dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp) / "pipeline")
        for threads in THREADS:
            for n in LENGTHS:
                arg = f"{Path(tmp) / 'pipeline'},{n},{threads}"
                cmd = [sys.executable, __file__, "--measure", arg]
                out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
                row = {"tokens": n, "threads": threads, **json.loads(out.splitlines()[-1])}
                row["added_mb"] = round(row["peak_mb"] - row["base_peak_mb"], 1)
                print(row, flush=True)
                results.append(row)
    meta = {"commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "command": "python benchmarks/long_docs.py", "torch": torch.__version__}  # fmt: skip
    output.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(f"written to {output}")


if __name__ == "__main__":
    typer.run(main)
