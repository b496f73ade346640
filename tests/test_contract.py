"""spaCy's training contract, kept by the shipped default model: dropout from `update`,
averaged weights in what is saved, thinc's device, pickling and spaCy's error types."""

import pickle
from pathlib import Path
from typing import List, Tuple

import numpy
import pytest
import spacy
import torch
from conftest import (
    SHIPPED_CONFIGS,
    load_shipped_config,
    records_to_examples,
    training_examples,
)
from spacy.language import Language
from spacy.training import Example
from thinc.api import Adam, set_dropout_rate
from torch import nn

import spacy_lstm_tagger.layers.shim as shim_module
from spacy_lstm_tagger import build_char_embed, build_lstm_tagger
from spacy_lstm_tagger.layers.shim import get_module, torch_modules
from spacy_lstm_tagger.layers.tagger_model import get_torch_module

CONFIGS = SHIPPED_CONFIGS
# spaCy's own tagger test (spacy/tests/pipeline/test_tagger.py, test_overfitting_IO).
TOY_DATA = [
    ("I like green eggs", ["N", "V", "J", "N"]),
    ("Eat blue ham", ["V", "J", "N"]),
]


def toy_pipeline() -> Tuple[Language, List[Example]]:
    """A blank pipeline with the factory's default `lstm_tagger`, and the toy examples."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    examples = [Example.from_dict(nlp.make_doc(text), {"tags": tags}) for text, tags in TOY_DATA]
    return nlp, examples


def test_default_model_overfits_toy_data_without_dropout() -> None:
    """spaCy's expectation for its tagger: 50 updates at nlp.update's default drop=0.0
    drive the loss below 1e-5. Dropout that ignored `drop` kept it near 0.015."""
    nlp, examples = toy_pipeline()
    optimizer = nlp.initialize(get_examples=lambda: examples)
    for _ in range(50):
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
    assert losses["lstm_tagger"] < 1e-5
    assert [token.tag_ for token in nlp("I like green eggs")] == ["N", "V", "J", "N"]


def test_update_drop_is_the_torch_dropout_rate() -> None:
    """The rate given to `update` reaches every dropout inside torch, the recurrent
    layers' included, and a later update with another rate replaces it."""
    nlp, examples = toy_pipeline()
    optimizer = nlp.initialize(get_examples=lambda: examples)
    for rate in (0.25, 0.0):
        nlp.update(examples, sgd=optimizer, drop=rate)
        module = get_torch_module(nlp.get_pipe("lstm_tagger").model)
        dropouts = [m.p for m in module.modules() if isinstance(m, nn.Dropout)]
        assert dropouts == [rate]
        assert module.encoder.rnn.dropout == rate


def test_drop_zero_training_pass_is_deterministic_and_drop_changes_it() -> None:
    """With drop 0.0 a training pass is the inference pass (no dropout, no word
    dropout) every time; with drop 0.5 two passes differ from it and from each other."""
    nlp, examples = toy_pipeline()
    nlp.initialize(get_examples=lambda: examples)
    model = nlp.get_pipe("lstm_tagger").model
    docs = [eg.predicted for eg in examples]
    inference = numpy.concatenate(model.predict(docs))
    set_dropout_rate(model, 0.0)
    passes = [numpy.concatenate(model.begin_update(docs)[0]) for _ in range(2)]
    numpy.testing.assert_array_equal(passes[0], passes[1])
    numpy.testing.assert_allclose(passes[0], inference, atol=1e-6)
    set_dropout_rate(model, 0.5)
    dropped = [numpy.concatenate(model.begin_update(docs)[0]) for _ in range(2)]
    assert numpy.abs(dropped[0] - inference).max() > 1e-3
    assert numpy.abs(dropped[0] - dropped[1]).max() > 1e-3


def test_saved_torch_weights_are_the_optimizers_averages(tmp_path: Path, demo_records) -> None:
    """Saved inside `nlp.use_params(optimizer.averages)`, as spaCy's training loop saves
    model-best and model-last, every weight is the average: the torch modules' (tagger
    and characters) as well as the hash tables'. Leaving the block restores the raw ones."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    examples = records_to_examples(nlp, demo_records[:20])
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.001, use_averages=True)
    for i in range(4):
        nlp.update(examples[i * 5 : i * 5 + 5], sgd=optimizer, drop=0.1)
    model = nlp.get_pipe("lstm_tagger").model
    docs = [nlp.make_doc("The dog saw a zebra .")]
    raw = {
        name: p.detach().clone() for m in torch_modules(model) for name, p in m.named_parameters()
    }
    raw_probs = model.predict(docs)[0]
    with nlp.use_params(optimizer.averages):
        nlp.to_disk(tmp_path / "averaged")
        averaged_probs = model.predict(docs)[0]
    loaded = spacy.load(tmp_path / "averaged").get_pipe("lstm_tagger").model
    shims = [node.shims[0] for node in model.walk() if node.shims]
    loaded_modules = torch_modules(loaded)
    assert len(shims) == len(loaded_modules) == 2
    for shim, loaded_module in zip(shims, loaded_modules):
        for name, param in loaded_module.named_parameters():
            numpy.testing.assert_array_equal(
                param.detach().numpy(), optimizer.averages[(shim.id, name)], err_msg=name
            )
    hash_tables = [(node, loaded_node) for node, loaded_node in zip(model.walk(), loaded.walk())]
    hash_tables = [pair for pair in hash_tables if pair[0].name.startswith("hashembed")]
    assert len(hash_tables) == 4
    for node, loaded_node in hash_tables:
        numpy.testing.assert_array_equal(
            loaded_node.get_param("E"), optimizer.averages[(node.id, "E")]
        )
    numpy.testing.assert_allclose(loaded.predict(docs)[0], averaged_probs, atol=1e-6)
    assert numpy.abs(averaged_probs - raw_probs).max() > 1e-4
    for m in torch_modules(model):
        for name, param in m.named_parameters():
            assert torch.equal(param.detach(), raw[name])
    numpy.testing.assert_array_equal(model.predict(docs)[0], raw_probs)


def test_torch_modules_are_built_on_thincs_current_device(monkeypatch) -> None:
    """The lazily built tagger module and the character module go to the device thinc
    names (the GPU after `spacy.require_gpu`), not to the CPU they were created on.
    thinc's choice is mocked with torch's "meta" device, so no GPU is needed."""
    monkeypatch.setattr(shim_module, "get_torch_default_device", lambda: torch.device("meta"))
    tagger = build_lstm_tagger(tok2vec=build_char_embed(width=8), hidden_width=4)
    rnn = tagger.get_ref("output_layer")
    rnn.initialize(X=[numpy.zeros((3, 8), dtype="f")], Y=[numpy.zeros((3, 5), dtype="f")])
    chars = build_char_embed(width=8)
    chars.initialize()
    for module in (get_module(rnn.layers[0]), get_module(chars)):
        devices = {param.device.type for param in module.parameters()}
        assert devices == {"meta"}


@pytest.mark.parametrize("config_path", CONFIGS, ids=lambda path: path.name)
def test_every_shipped_config_pickles(config_path: Path, demo_records, vectors_dir) -> None:
    """`pickle.dumps(nlp)` (what `nlp.pipe(n_process=...)` does under spawn and
    forkserver) works for every shipped config, and the copy tags with the same
    probabilities."""
    config = load_shipped_config(config_path, vectors_dir)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = training_examples(nlp, demo_records)
    nlp.initialize(lambda: examples)
    copy = pickle.loads(pickle.dumps(nlp))
    docs = [nlp.make_doc("The dog saw a zebra ."), nlp.make_doc("Unseen wordz here")]
    ours = nlp.get_pipe("lstm_tagger").model.predict(docs)
    theirs = copy.get_pipe("lstm_tagger").model.predict(docs)
    for a, b in zip(ours, theirs):
        numpy.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("get_examples", [lambda: [], lambda: iter([]), "not callable"])
def test_invalid_get_examples_is_a_type_error(get_examples) -> None:
    """As spaCy's components (E930): an empty or invalid `get_examples` is a TypeError."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    with pytest.raises(TypeError):
        nlp.get_pipe("lstm_tagger").initialize(get_examples)
