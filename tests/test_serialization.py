"""Saving and loading: the same tags and probabilities after every round trip."""

from pathlib import Path

import numpy
import pytest
import spacy
from conftest import SMALL_MODEL, make_nlp
from spacy.language import Language

from spacy_lstm_tagger.layers.tagger_model import get_torch_module

TEXTS = [
    "The dog ate the apple near a river .",
    "",
    "Olga was dancing slowly .",
    "They bought some red cakes .",
]


def assert_same_predictions(expected: Language, loaded: Language) -> None:
    """Same label probabilities from the models and same tags on the docs."""
    docs = [expected.make_doc(text) for text in TEXTS]
    want = expected.get_pipe("lstm_tagger").model.predict(docs)
    got = loaded.get_pipe("lstm_tagger").model.predict([loaded.make_doc(t) for t in TEXTS])
    for want_doc, got_doc in zip(want, got):
        numpy.testing.assert_allclose(got_doc, want_doc, rtol=0, atol=1e-6)
    assert [[t.tag_ for t in doc] for doc in loaded.pipe(TEXTS)] == [
        [t.tag_ for t in doc] for doc in expected.pipe(TEXTS)
    ]


def is_built(nlp: Language) -> bool:
    """RETURNS (bool): Whether the component's torch module has its layers."""
    return get_torch_module(nlp.get_pipe("lstm_tagger").model).is_built


def test_to_disk_and_spacy_load(trained_nlp, tmp_path: Path) -> None:
    trained_nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("lstm_tagger").labels == trained_nlp.get_pipe("lstm_tagger").labels
    assert_same_predictions(trained_nlp, loaded)


def test_from_disk_into_fresh_uninitialized_pipeline(trained_nlp, tmp_path: Path) -> None:
    trained_nlp.to_disk(tmp_path / "pipeline")
    fresh = make_nlp()
    assert not is_built(fresh)
    fresh.from_disk(tmp_path / "pipeline")
    assert is_built(fresh)
    assert_same_predictions(trained_nlp, fresh)


def test_bytes_into_fresh_uninitialized_pipeline(trained_nlp) -> None:
    fresh = make_nlp()
    fresh.from_bytes(trained_nlp.to_bytes())
    assert_same_predictions(trained_nlp, fresh)


def test_component_bytes_round_trip(trained_nlp) -> None:
    fresh = make_nlp()
    fresh.get_pipe("lstm_tagger").from_bytes(trained_nlp.get_pipe("lstm_tagger").to_bytes())
    assert_same_predictions(trained_nlp, fresh)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"hidden_width": 32}, "hidden_width: config 32, weights 16"),
        ({"rnn_type": "gru"}, "rnn_type: config 'gru', weights 'lstm'"),
        ({"bidirectional": False}, "bidirectional: config False, weights True"),
        ({"depth": 2}, "depth: config 2, weights 1"),
        ({"tok2vec": {**SMALL_MODEL["tok2vec"], "width": 64}}, "Attempt to change dimension"),
    ],
    ids=["hidden_width", "rnn_type", "bidirectional", "depth", "tok2vec_width"],
)
def test_weights_that_do_not_fit_the_config(trained_nlp, overrides, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_nlp(**overrides).from_bytes(trained_nlp.to_bytes())
