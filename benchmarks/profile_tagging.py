"""Where tagging time goes: cProfile over `nlp.pipe` on a corpus, after a warm-up.

    OMP_NUM_THREADS=1 python -m benchmarks.profile_tagging MODEL TEST.spacy [--top 15]

Prints the functions with the most time of their own, then our layers' and torch's
cumulative times.
"""

import cProfile
import io
import pstats
from pathlib import Path

import spacy
import typer

from spacy_lstm_tagger.cli.corpus_io import gold_tokenized, read_corpus


def main(
    model: Path = typer.Argument(..., help="A trained pipeline"),
    corpus: Path = typer.Argument(..., help="A .spacy file to tag (gold tokens)"),
    top: int = typer.Option(15, help="Rows of each table"),
) -> None:
    """Profile tagging the corpus with batch_size 1000."""
    nlp = spacy.load(model)
    docs = [gold_tokenized(nlp, doc) for doc in read_corpus(corpus, nlp.vocab)]
    list(nlp.pipe(docs[:1000], batch_size=1000))  # warm-up: allocations, caches
    profiler = cProfile.Profile()
    profiler.enable()
    list(nlp.pipe(docs, batch_size=1000))
    profiler.disable()
    for sort, pattern in (("tottime", ""), ("cumtime", "spacy_lstm_tagger|torch|thinc/layers")):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(sort)
        stats.print_stats(pattern, top) if pattern else stats.print_stats(top)
        print(out.getvalue())


if __name__ == "__main__":
    typer.run(main)
