"""The torch `RecurrentTagger`, its encoders, and packing through the thinc model."""

from typing import Iterator, List

import catalogue
import numpy
import pytest
import torch
from conftest import (
    DEFAULT_TRAIN_DROPOUT,
    make_nlp,
    predicted_labels,
    records_to_examples,
    run_in_training_mode,
)
from spacy.language import Language
from thinc.api import set_dropout_rate
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from spacy_lstm_tagger.layers.char_module import CharEncoder
from spacy_lstm_tagger.layers.encoders import encoders
from spacy_lstm_tagger.layers.shim import torch_modules
from spacy_lstm_tagger.layers.tagger_model import get_torch_module
from spacy_lstm_tagger.layers.torch_module import RecurrentTagger
from spacy_lstm_tagger.pipeline.tagger import DEFAULT_MODEL

N_INPUTS = 6
N_LABELS = 5
RNN_SETTINGS = [("lstm", True), ("lstm", False), ("gru", True), ("gru", False)]


def build_module(rnn_type: str = "lstm", bidirectional: bool = True) -> RecurrentTagger:
    """A small built module in eval mode, with fixed random weights."""
    torch.manual_seed(0)
    module = RecurrentTagger(
        rnn_type=rnn_type, hidden_width=8, depth=2, bidirectional=bidirectional, dropout=0.0
    )
    module.build(N_INPUTS, N_LABELS)
    return module.eval()


@pytest.mark.parametrize("rnn_type,bidirectional", RNN_SETTINGS)
def test_output_shapes(rnn_type: str, bidirectional: bool) -> None:
    """The module has the configured encoder and scores every token, with zeros past each
    sequence's end."""
    module = build_module(rnn_type, bidirectional)
    rnn_class = nn.LSTM if rnn_type == "lstm" else nn.GRU
    assert isinstance(module.encoder.rnn, rnn_class)
    assert module.encoder.rnn.bidirectional is bidirectional
    assert module.encoder.output_width == 8 * (2 if bidirectional else 1)
    assert module.dims == {"n_inputs": N_INPUTS, "n_labels": N_LABELS}
    X = torch.randn(3, 7, N_INPUTS)
    with torch.no_grad():
        logits = module(X, torch.tensor([7, 3, 1]))
    assert logits.shape == (3, 7, N_LABELS)
    # Rows past a sequence's end are padding, never scored.
    assert not logits[1, 3:].any() and not logits[2, 1:].any()


def test_forward_before_build_is_a_clear_error() -> None:
    """Calling the module before `build` says to build it."""
    module = RecurrentTagger(hidden_width=8, depth=1)
    assert not module.is_built
    with pytest.raises(ValueError, match=r"\[E111\]"):
        module(torch.randn(1, 3, N_INPUTS), torch.tensor([3]))


@pytest.mark.parametrize("rnn_type,bidirectional", RNN_SETTINGS)
def test_packing_makes_scores_independent_of_batch_mates(
    rnn_type: str, bidirectional: bool
) -> None:
    """Packing keeps padding out of both directions: a sequence's scores are the same alone and
    in a padded batch."""
    module = build_module(rnn_type, bidirectional)
    torch.manual_seed(1)
    seq = torch.randn(1, 5, N_INPUTS)
    # Large padding values would change the scores if any padding were read.
    batch = torch.full((3, 9, N_INPUTS), 100.0)
    batch[0] = torch.randn(9, N_INPUTS)
    batch[1, :5] = seq[0]
    batch[2, :2] = torch.randn(2, N_INPUTS)
    with torch.no_grad():
        alone = module(seq, torch.tensor([5]))[0]
        in_batch = module(batch, torch.tensor([9, 5, 2]))[1, :5]
    torch.testing.assert_close(in_batch, alone, rtol=0, atol=1e-6)
    probs_alone, probs_in_batch = alone.softmax(-1), in_batch.softmax(-1)
    torch.testing.assert_close(probs_in_batch, probs_alone, rtol=0, atol=1e-6)
    assert torch.equal(probs_in_batch.argmax(-1), probs_alone.argmax(-1))


# The small test model, and the shipped default model with dropout, word dropout and
# characters: inference in training mode would show in the default model only.
PIPELINES = ["trained_nlp", "trained_default_nlp"]


def max_difference(a: List[numpy.ndarray], b: List[numpy.ndarray]) -> float:
    """The largest absolute difference between two lists of probability arrays."""
    return max(float(numpy.abs(x - y).max()) for x, y in zip(a, b) if x.size)


def assert_probabilities_independent_of_batch_mates(nlp: Language) -> None:
    """A doc's label probabilities are the same (within 1e-6) alone and in batches
    with longer, shorter and empty docs."""
    model = nlp.get_pipe("lstm_tagger").model
    doc = nlp.make_doc("The dog ate the apple near a river .")
    longer = nlp.make_doc("Some friends opened a baker , but John carried every banana .")
    shorter = nlp.make_doc("John laughed")
    empty = nlp.make_doc("")
    alone = model.predict([doc])[0]
    for batch, index in (([longer, doc, shorter], 1), ([shorter, empty, doc], 2)):
        in_batch = model.predict(batch)[index]
        numpy.testing.assert_allclose(in_batch, alone, rtol=0, atol=1e-6)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_thinc_model_probabilities_independent_of_batch_mates(pipeline: str, request) -> None:
    """A doc's probabilities do not depend on its batch-mates, on the small model and
    on the shipped default model."""
    assert_probabilities_independent_of_batch_mates(request.getfixturevalue(pipeline))


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_pipe_tags_independent_of_batch_mates(pipeline: str, request) -> None:
    """`nlp.pipe` gives each text the tags it gets alone."""
    nlp = request.getfixturevalue(pipeline)
    texts = [
        "Some friends opened a baker , but John carried every banana and a watch .",
        "The dog ate the apple near a river .",
        "John laughed",
        "",
    ]
    alone = [[t.tag_ for t in nlp(text)] for text in texts]
    in_batch = [[t.tag_ for t in doc] for doc in nlp.pipe(texts, batch_size=4)]
    assert in_batch == alone


def test_default_model_fixture_is_the_shipped_model_with_dropout_on(trained_default_nlp) -> None:
    """The default-model fixture has the factory's default config (2-layer BiLSTM of
    128, character BiLSTM, word dropout) and the dropout rate its training set, so
    the tests that use it would see inference run in training mode."""
    nlp = trained_default_nlp
    assert nlp.config["components"]["lstm_tagger"]["model"] == DEFAULT_MODEL
    model = nlp.get_pipe("lstm_tagger").model
    module = get_torch_module(model)
    rnn = module.encoder.rnn
    assert isinstance(rnn, nn.LSTM) and rnn.bidirectional
    assert (rnn.num_layers, rnn.hidden_size, module.word_dropout) == (2, 128, 0.1)
    wrappers = [node for node in model.walk() if node.shims]
    assert {type(m) for m in torch_modules(model)} == {CharEncoder, RecurrentTagger}
    # nlp.update(drop=...) set the rate on every layer, the torch layers too.
    assert {node.attrs["dropout_rate"] for node in wrappers} == {DEFAULT_TRAIN_DROPOUT}
    assert module.dropout.p == DEFAULT_TRAIN_DROPOUT and rnn.dropout == DEFAULT_TRAIN_DROPOUT


def test_training_mode_would_fail_the_batch_invariance_check(trained_default_nlp, monkeypatch):
    """Negative control: the shipped default model run in training mode (dropout 0.33)
    gives other probabilities on every run and other ones than `predict`, so the
    batch-invariance check fails on it; at dropout 0 training mode gives predict's
    probabilities, so the difference is the dropout."""
    nlp = trained_default_nlp
    model = nlp.get_pipe("lstm_tagger").model
    docs = [nlp.make_doc(text) for text in ("The dog ate the apple .", "John laughed")]
    predicted = model.predict(docs)
    set_dropout_rate(model, DEFAULT_TRAIN_DROPOUT)
    first, _ = model.begin_update(docs)
    second, _ = model.begin_update(docs)
    assert max_difference(first, second) > 1e-3
    assert max_difference(first, predicted) > 1e-3
    try:
        set_dropout_rate(model, 0.0)
        without_dropout, _ = model.begin_update(docs)
    finally:
        set_dropout_rate(model, DEFAULT_TRAIN_DROPOUT)
    assert max_difference(without_dropout, predicted) < 1e-6
    run_in_training_mode(monkeypatch, nlp)
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        assert_probabilities_independent_of_batch_mates(nlp)


class LinearEncoder(nn.Module):
    """A context-free encoder: one linear layer on each token vector."""

    def __init__(self, input_width: int, hidden_width: int) -> None:
        super().__init__()
        self.linear = nn.Linear(input_width, hidden_width)
        self.output_width = hidden_width

    def forward(self, packed: PackedSequence) -> PackedSequence:
        return packed._replace(data=torch.tanh(self.linear(packed.data)))


@pytest.fixture
def linear_encoder_name() -> Iterator[str]:
    """Register `LinearEncoder` for one test, then remove it again."""
    name = "test_linear"

    @encoders.register(name)
    def make_linear_encoder(
        input_width: int, hidden_width: int, depth: int, bidirectional: bool, dropout: float
    ) -> nn.Module:
        return LinearEncoder(input_width, hidden_width)

    yield name
    # catalogue has no public way to unregister a function.
    catalogue._remove((*encoders.namespace, name))


def test_custom_encoder_from_config(linear_encoder_name: str, demo_records) -> None:
    """An encoder registered by the user is built from the config, trains and tags."""
    nlp = make_nlp("tag", rnn_type=linear_encoder_name)
    assert nlp.config["components"]["lstm_tagger"]["model"]["rnn_type"] == linear_encoder_name
    examples = records_to_examples(nlp, demo_records[:8])
    optimizer = nlp.initialize(lambda: examples)
    assert isinstance(get_torch_module(nlp.get_pipe("lstm_tagger").model).encoder, LinearEncoder)
    losses = [nlp.update(examples, sgd=optimizer)["lstm_tagger"] for _ in range(5)]
    assert losses[-1] < losses[0]
    # The registered encoder does the encoding: it sees no context, so a word's
    # probabilities are the same wherever it stands, which no LSTM or GRU would give.
    doc = nlp("the dog saw the dog .")
    probs = nlp.get_pipe("lstm_tagger").model.predict([doc])[0]
    numpy.testing.assert_allclose(probs[3:5], probs[0:2], rtol=0, atol=1e-6)
    assert float(numpy.abs(probs[0] - probs[1]).max()) > 1e-3
    assert [t.tag_ for t in doc] == predicted_labels(nlp, [doc.text])[0]
