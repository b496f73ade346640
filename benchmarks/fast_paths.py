"""Each inference path of a trained pipeline, timed on its own: the tok2vec (with and
without the character cache) and the recurrent layer (packed, grouped by length,
bfloat16, and int8 dynamic quantization as a measured alternative), at 1 and 2 threads.

    python -m benchmarks.fast_paths MODEL TEST.spacy [--rounds 12]

One process; the variants interleaved, each round over the whole test set in one
call; the median (and best) of the rounds after a warm-up round, in milliseconds of
wall-clock time. Also prints each variant's largest probability difference from the
reference path.
"""

import contextlib
import copy
import statistics
import warnings
from pathlib import Path
from typing import Callable, Dict, List

import spacy
import torch
import typer
from torch import nn

from spacy_lstm_tagger import reference_paths
from spacy_lstm_tagger.cli.corpus_io import gold_tokenized, read_corpus
from spacy_lstm_tagger.layers import char_module, tagger_converters
from spacy_lstm_tagger.layers.tagger_model import get_torch_module

from .common import Stopwatch, time_interleaved


@contextlib.contextmanager
def swapped_encoder(module: nn.Module, encoder: nn.Module):
    """Run with another encoder in the torch module."""
    original = module.encoder
    module.encoder = encoder
    try:
        yield
    finally:
        module.encoder = original


@contextlib.contextmanager
def grouped_always():
    """Group by length at any thread count (the library does so at one thread, or
    in bfloat16), to measure the choice."""
    patched = [tagger_converters, char_module]
    originals = [m.equal_length_runs_pay for m in patched]
    for m in patched:
        m.equal_length_runs_pay = lambda device, low_precision=False: device.type == "cpu"
    try:
        yield
    finally:
        for m, original in zip(patched, originals):
            m.equal_length_runs_pay = original


@contextlib.contextmanager
def bfloat16(module: nn.Module):
    """Run the torch module's inference in bfloat16."""
    module.inference_dtype = torch.bfloat16
    try:
        yield
    finally:
        module.inference_dtype = None


def int8_encoder(encoder: nn.Module) -> nn.Module:
    """A copy of the encoder with its LSTM quantized to int8 (dynamic quantization)."""
    quantized = copy.deepcopy(encoder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the API is deprecated in favour of torchao
        wrapped = torch.ao.quantization.quantize_dynamic(nn.Sequential(quantized.rnn), {nn.LSTM})
    quantized.rnn = wrapped[0]
    return quantized


def variants(nlp: spacy.Language) -> Dict[str, Callable]:
    """RETURNS (Dict[str, Callable]): Each variant's context manager factory."""
    module = get_torch_module(nlp.get_pipe("lstm_tagger").model)
    int8 = int8_encoder(module.encoder)
    return {
        "reference (packed, no cache)": reference_paths,
        "fast paths (float32)": contextlib.nullcontext,
        "grouped by length at any thread count (float32)": grouped_always,
        "fast paths, bfloat16": lambda: bfloat16(module),
        "int8 dynamic, packed": lambda: _both(reference_paths(), swapped_encoder(module, int8)),
    }


@contextlib.contextmanager
def _both(first, second):
    with first, second:
        yield


def time_layers(nlp: spacy.Language, docs: List, rounds: int) -> Dict[str, Dict]:
    """Milliseconds per round of the tok2vec and the recurrent layer, per variant."""
    model = nlp.get_pipe("lstm_tagger").model
    tok2vec, recurrent = model.get_ref("tok2vec"), model.get_ref("output_layer")
    X = tok2vec.predict(docs)
    with reference_paths():
        reference = recurrent.predict(X)
    diffs: Dict[str, float] = {}

    def task(name: str, make_context: Callable) -> Callable[[Stopwatch], None]:
        def timed(watch: Stopwatch) -> None:
            with make_context():
                with watch("tok2vec"):
                    tok2vec.predict(docs)
                with watch("recurrent"):
                    probs = recurrent.predict(X)
            diffs[name] = max(float(abs(a - b).max()) for a, b in zip(probs, reference))

        return timed

    tasks = {name: task(name, context) for name, context in variants(nlp).items()}
    timings = time_interleaved(tasks, rounds)
    return {
        name: {
            **{f"{part} ms": _ms(t["wall"]) for part, t in parts.items()},
            "max prob diff": f"{diffs[name]:.1e}",
        }
        for name, parts in timings.items()
    }


def _ms(seconds: List[float]) -> str:
    """RETURNS (str): The median and the best, in milliseconds."""
    return f"{statistics.median(seconds) * 1000:.0f} (best {min(seconds) * 1000:.0f})"


def main(
    model: Path = typer.Argument(..., help="A trained pipeline with an lstm_tagger"),
    corpus: Path = typer.Argument(..., help="A .spacy file to tag (gold tokens)"),
    rounds: int = typer.Option(12, help="Timed rounds after one warm-up"),
) -> None:
    """Print the timings of every variant at 1 and 2 torch threads."""
    nlp = spacy.load(model)
    docs = [gold_tokenized(nlp, doc) for doc in read_corpus(corpus, nlp.vocab)]
    print(f"{len(docs)} docs, {sum(len(doc) for doc in docs)} tokens, one call per round")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, row in time_layers(nlp, docs, rounds).items():
            print(
                f"{threads} thread(s) | {name} | " + " | ".join(f"{k} {v}" for k, v in row.items())
            )


if __name__ == "__main__":
    typer.run(main)
