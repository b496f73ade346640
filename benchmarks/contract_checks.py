"""Measurements behind two choices of the training contract (BENCHMARKS.md, issue 11).

    python benchmarks/contract_checks.py output-init   # spaCy's toy test: zero vs torch init
    python benchmarks/contract_checks.py threads       # two trainings at 1 and at 2 threads

`output-init` trains the factory's default model 50 times on spaCy's two toy sentences
(spacy/tests/pipeline/test_tagger.py, test_overfitting_IO) at drop=0.0, with the output
layer zeroed (as spaCy's Softmax starts) or left at torch's init, and prints the final loss
for three seeds. `threads` trains the default model twice with the same seed, at 1 and at 2
torch threads, and prints the largest weight difference between the two runs.
"""

import sys
from pathlib import Path

import numpy
import spacy
import typer
from torch import nn

from spacy_lstm_tagger.layers.torch_module import RecurrentTagger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_contract import toy_pipeline  # noqa: E402
from test_reproducibility import train_default_model, weights  # noqa: E402

from spacy_lstm_tagger.cli.demo import load_demo_records  # noqa: E402

app = typer.Typer(add_completion=False)


def toy_loss(seed: int) -> float:
    """The loss of the 50th update on spaCy's toy data."""
    spacy.util.fix_random_seed(seed)
    nlp, examples = toy_pipeline()
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(50):
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
    return losses["lstm_tagger"]


@app.command("output-init")
def output_init() -> None:
    """Toy-test loss with the output layer at torch's init and at zero."""
    build = RecurrentTagger.build
    for init in ("torch", "zero"):
        if init == "zero":

            def build_zeroed(self: RecurrentTagger, n_inputs: int, n_labels: int) -> None:
                build(self, n_inputs, n_labels)
                nn.init.zeros_(self.output.weight)
                nn.init.zeros_(self.output.bias)

            RecurrentTagger.build = build_zeroed
        print(init, [f"{toy_loss(seed):.2e}" for seed in range(3)])
    RecurrentTagger.build = build


@app.command("threads")
def threads() -> None:
    """Largest weight difference between two same-seed trainings at 1 and 2 threads."""
    records = load_demo_records()
    for n_threads in (1, 2):
        first, second = (
            weights(train_default_model(records, n_threads, epochs=6)).values() for _ in range(2)
        )
        diff = max(float(numpy.abs(a - b).max()) for a, b in zip(first, second))
        print(f"{n_threads} thread(s): largest weight difference {diff:.3g}")


if __name__ == "__main__":
    app()
