"""Training on CPU twice with the same seed gives the same weights and scores."""

import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import numpy
import pytest
import spacy
import torch
from conftest import make_nlp, records_to_examples, run_command
from spacy.language import Language

from spacy_lstm_tagger.cli.demo import DEMO_CONFIG
from spacy_lstm_tagger.layers.shim import get_module
from spacy_lstm_tagger.layers.tagger_model import get_torch_module


def train_with_seed(records: List[Dict], seed: int) -> Tuple[Language, Dict[str, float]]:
    """Seed as `spacy train` does, then train a small tagger with dropout and word
    dropout (so the random number generators matter) and score it on held-out records."""
    spacy.util.fix_random_seed(seed)
    nlp = make_nlp(dropout=0.2, word_dropout=0.2)
    examples = records_to_examples(nlp, records[:40])
    optimizer = nlp.initialize(lambda: examples)
    for i in range(6):
        nlp.update(examples[i * 5 : i * 5 + 10], sgd=optimizer, drop=0.1)
    scores = nlp.evaluate(records_to_examples(nlp, records[40:60]))
    return nlp, {key: value for key, value in scores.items() if key != "speed"}


def weights(nlp: Language) -> Dict[str, numpy.ndarray]:
    """Every weight of the component: the torch modules' and the thinc layers'."""
    found = {}
    for node in nlp.get_pipe("lstm_tagger").model.walk():
        for name in node.param_names:
            if node.has_param(name):
                found[f"{node.name}.{node.id}.{name}"] = node.get_param(name)
        if node.shims:
            state = get_module(node).state_dict()
            found.update({f"{node.id}.torch.{k}": v.numpy() for k, v in state.items()})
    return found


def assert_same_weights(first: Language, second: Language) -> None:
    first_weights, second_weights = weights(first), weights(second)
    # thinc node ids differ between the two pipelines; compare in walk order.
    assert len(first_weights) == len(second_weights) > 4
    for (name, a), b in zip(first_weights.items(), second_weights.values()):
        numpy.testing.assert_array_equal(a, b, err_msg=name)


def test_same_seed_same_weights_and_scores(demo_records) -> None:
    first, first_scores = train_with_seed(demo_records, seed=0)
    second, second_scores = train_with_seed(demo_records, seed=0)
    assert first_scores == second_scores and first_scores["tag_acc"] > 0
    assert_same_weights(first, second)
    other, _ = train_with_seed(demo_records, seed=1)
    with pytest.raises(AssertionError):
        assert_same_weights(first, other)


@pytest.mark.slow
def test_spacy_train_twice_with_the_same_seed(corpus_dir: Path) -> None:
    metas, states = [], []
    for run in ("first", "second"):
        output = corpus_dir / run
        cmd = [sys.executable, "-m", "spacy", "train", str(DEMO_CONFIG), "--output", str(output)]
        cmd += ["--paths.train", str(corpus_dir / "train.spacy")]
        cmd += ["--paths.dev", str(corpus_dir / "dev.spacy"), "--system.seed", "7"]
        cmd += ["--training.max_steps", "20", "--training.eval_frequency", "10"]
        cmd += ["--components.lstm_tagger.model.hidden_width", "16"]
        cmd += ["--components.lstm_tagger.model.tok2vec.words.width", "8"]
        run_command(cmd, corpus_dir)
        metas.append(json.loads((output / "model-last" / "meta.json").read_text()))
        nlp = spacy.load(output / "model-last")
        states.append(get_torch_module(nlp.get_pipe("lstm_tagger").model).state_dict())
    assert metas[0]["performance"] == metas[1]["performance"]
    assert metas[0]["performance"]["pos_acc"] > 0
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][key], states[1][key]) for key in states[0])


def train_default_model(records: List[Dict], n_threads: int, epochs: int = 2) -> Language:
    """Train the factory's default model (characters included) at `n_threads` torch
    threads, seed 0, on 200 sentences in batches large enough for torch to split its
    work over them."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        spacy.util.fix_random_seed(0)
        nlp = spacy.blank("en")
        nlp.add_pipe("lstm_tagger")
        examples = records_to_examples(nlp, records[:200])
        optimizer = nlp.initialize(lambda: examples)
        for _ in range(epochs):
            for i in range(0, 200, 100):
                nlp.update(examples[i : i + 100], sgd=optimizer, drop=0.33)
    finally:
        torch.set_num_threads(previous)
    return nlp


def test_default_model_same_weights_at_two_threads(demo_records) -> None:
    """At two torch threads the same seed still gives the same weights: a form's
    character vector sums its tokens' gradients in a fixed order."""
    first = train_default_model(demo_records, n_threads=2)
    second = train_default_model(demo_records, n_threads=2)
    assert_same_weights(first, second)
