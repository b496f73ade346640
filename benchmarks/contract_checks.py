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
from typing import List

import numpy
import spacy
import torch
import typer
from spacy.training import Example
from torch import nn

from spacy_lstm_tagger.layers.torch_module import RecurrentTagger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import records_to_examples  # noqa: E402

from spacy_lstm_tagger.cli.demo import load_demo_records  # noqa: E402

app = typer.Typer(add_completion=False)
TOY_DATA = [("I like green eggs", ["N", "V", "J", "N"]), ("Eat blue ham", ["V", "J", "N"])]


def toy_loss(seed: int) -> float:
    """The loss of the 50th update on the toy data."""
    spacy.util.fix_random_seed(seed)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    examples = [Example.from_dict(nlp.make_doc(text), {"tags": tags}) for text, tags in TOY_DATA]
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


def train_weights(n_threads: int) -> List[numpy.ndarray]:
    """All weights after training the default model on 200 demo sentences, seed 0."""
    torch.set_num_threads(n_threads)
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    examples = records_to_examples(nlp, load_demo_records()[:200])
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(6):
        for i in range(0, 200, 100):
            nlp.update(examples[i : i + 100], sgd=optimizer, drop=0.33)
    model = nlp.get_pipe("lstm_tagger").model
    found = []
    for node in model.walk():
        found += [node.get_param(name).copy() for name in node.param_names if node.has_param(name)]
        for shim in node.shims:
            found += [t.detach().numpy().copy() for t in shim._model.state_dict().values()]
    return found


@app.command("threads")
def threads() -> None:
    """Largest weight difference between two same-seed trainings at 1 and 2 threads."""
    for n_threads in (1, 2):
        first, second = train_weights(n_threads), train_weights(n_threads)
        diff = max(float(numpy.abs(a - b).max()) for a, b in zip(first, second))
        print(f"{n_threads} thread(s): largest weight difference {diff:.3g}")


if __name__ == "__main__":
    app()
