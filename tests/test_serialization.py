"""Saving and loading: the same tags and probabilities after every round trip, for the
small test model and for the shipped default model."""

import re
from io import BytesIO
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy
import pytest
import spacy
import srsly
import torch
from conftest import DEFAULT_TRAIN_DROPOUT, SMALL_MODEL, make_nlp, run_in_training_mode
from spacy.language import Language
from thinc.api import set_dropout_rate

from spacy_lstm_tagger.errors import WeightsError
from spacy_lstm_tagger.layers.tagger_model import SERIAL_FORMAT, get_torch_module

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


def make_default_nlp() -> Language:
    """A blank English pipeline with an uninitialized `lstm_tagger` of the default model."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    return nlp


# Each trained pipeline fixture, and how to make a fresh pipeline of its config: the
# small test model, and the shipped default model (dropout, word dropout, characters),
# on which inference in training mode would show.
FRESH: Dict[str, Callable[[], Language]] = {
    "trained_nlp": make_nlp,
    "trained_default_nlp": make_default_nlp,
}


def is_built(nlp: Language) -> bool:
    """RETURNS (bool): Whether the component's torch module has its layers."""
    return get_torch_module(nlp.get_pipe("lstm_tagger").model).is_built


@pytest.mark.parametrize("pipeline", list(FRESH))
def test_to_disk_and_spacy_load(pipeline: str, request, tmp_path: Path) -> None:
    """`spacy.load` of a saved pipeline gives the same labels, probabilities and tags."""
    trained_nlp = request.getfixturevalue(pipeline)
    trained_nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("lstm_tagger").labels == trained_nlp.get_pipe("lstm_tagger").labels
    assert_same_predictions(trained_nlp, loaded)


@pytest.mark.parametrize("pipeline", list(FRESH))
def test_from_disk_into_fresh_uninitialized_pipeline(pipeline: str, request, tmp_path) -> None:
    """`from_disk` builds an uninitialized pipeline's torch module and loads the weights."""
    trained_nlp = request.getfixturevalue(pipeline)
    trained_nlp.to_disk(tmp_path / "pipeline")
    fresh = FRESH[pipeline]()
    assert not is_built(fresh)
    fresh.from_disk(tmp_path / "pipeline")
    assert is_built(fresh)
    assert_same_predictions(trained_nlp, fresh)


@pytest.mark.parametrize("pipeline", list(FRESH))
def test_bytes_into_fresh_uninitialized_pipeline(pipeline: str, request) -> None:
    """`nlp.from_bytes(nlp.to_bytes())` into a fresh pipeline predicts the same."""
    trained_nlp = request.getfixturevalue(pipeline)
    fresh = FRESH[pipeline]()
    fresh.from_bytes(trained_nlp.to_bytes())
    assert_same_predictions(trained_nlp, fresh)


@pytest.mark.parametrize("pipeline", list(FRESH))
def test_component_bytes_round_trip(pipeline: str, request) -> None:
    """The component's own bytes, loaded into a fresh component, predict the same."""
    trained_nlp = request.getfixturevalue(pipeline)
    fresh = FRESH[pipeline]()
    fresh.get_pipe("lstm_tagger").from_bytes(trained_nlp.get_pipe("lstm_tagger").to_bytes())
    assert_same_predictions(trained_nlp, fresh)


def test_training_mode_would_fail_the_round_trip_check(
    trained_default_nlp, tmp_path: Path, monkeypatch
) -> None:
    """Negative control: a loaded default model whose inference runs in training mode
    (dropout 0.33 on) fails the round-trip check, which compares probabilities."""
    trained_default_nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    set_dropout_rate(loaded.get_pipe("lstm_tagger").model, DEFAULT_TRAIN_DROPOUT)
    run_in_training_mode(monkeypatch, loaded)
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        assert_same_predictions(trained_default_nlp, loaded)


@pytest.mark.parametrize(
    "overrides,message",
    [
        # The code, and the settings the message names (thinc's own error for the tok2vec).
        ({"hidden_width": 32}, r"\[E158\] .*hidden_width: config 32, weights 16"),
        ({"rnn_type": "gru"}, r"\[E158\] .*rnn_type: config 'gru', weights 'lstm'"),
        ({"bidirectional": False}, r"\[E158\] .*bidirectional: config False, weights True"),
        ({"depth": 2}, r"\[E158\] .*depth: config 2, weights 1"),
        ({"tok2vec": {**SMALL_MODEL["tok2vec"], "width": 64}}, r"\[E152\] .*change dimension"),
    ],
    ids=["hidden_width", "rnn_type", "bidirectional", "depth", "tok2vec_width"],
)
def test_weights_that_do_not_fit_the_config(trained_nlp, overrides, message: str) -> None:
    """Weights saved with one model config are refused by another, naming the setting."""
    with pytest.raises(ValueError, match=message):
        make_nlp(**overrides).from_bytes(trained_nlp.to_bytes())


def set_serial_format(model_bytes: bytes, serial_format: Optional[int]) -> bytes:
    """The model's bytes with the "format" of its saved torch module changed (None: removed).

    model_bytes (bytes): A model file, as thinc's Model.to_bytes writes it.
    serial_format (Optional[int]): The format to write, or None to leave it out.
    RETURNS (bytes): The model file, everything else as it was.
    """
    msg = srsly.msgpack_loads(model_bytes)
    for shims in msg["shims"]:
        for i, shim_bytes in enumerate(shims):
            shim = srsly.msgpack_loads(shim_bytes)
            payload = torch.load(BytesIO(shim["state"]), weights_only=True)
            payload.pop("format")
            if serial_format is not None:
                payload["format"] = serial_format
            buffer = BytesIO()
            torch.save(payload, buffer)
            shim["state"] = buffer.getvalue()
            shims[i] = srsly.msgpack_dumps(shim)
    return srsly.msgpack_dumps(msg)


@pytest.mark.parametrize("serial_format", [999, None], ids=["format_999", "no_format"])
def test_weights_of_another_serial_format_are_refused(
    trained_nlp, tmp_path: Path, serial_format: Optional[int]
) -> None:
    """A saved module of an unknown format, or of none, was written by an incompatible
    version: loading says so (nested in the component's error), naming what to do."""
    trained_nlp.to_disk(tmp_path / "pipeline")
    model_file = tmp_path / "pipeline" / "lstm_tagger" / "model"
    model_file.write_bytes(set_serial_format(model_file.read_bytes(), serial_format))
    found = "(none)" if serial_format is None else str(serial_format)
    expected = (
        rf"\[E151\] .*: \[E159\] the stored weights have serialization format {re.escape(found)}, "
        rf"but this version of spacy-lstm-tagger reads format {SERIAL_FORMAT}: .*incompatible "
        r"version.* Retrain the pipeline .* or install the version of spacy-lstm-tagger"
    )
    with pytest.raises(WeightsError, match=expected):
        spacy.load(tmp_path / "pipeline")


def test_rewritten_weights_of_the_current_format_still_load(trained_nlp, tmp_path: Path) -> None:
    """Positive control of the test above: the same rewrite with this version's format
    loads and predicts as before."""
    trained_nlp.to_disk(tmp_path / "pipeline")
    model_file = tmp_path / "pipeline" / "lstm_tagger" / "model"
    model_file.write_bytes(set_serial_format(model_file.read_bytes(), SERIAL_FORMAT))
    assert_same_predictions(trained_nlp, spacy.load(tmp_path / "pipeline"))
