"""The torch `RecurrentTagger`, its encoders, and packing through the thinc model."""

from typing import Iterator

import catalogue
import numpy
import pytest
import torch
from conftest import make_nlp, records_to_examples
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from spacy_lstm_tagger.layers.encoders import encoders
from spacy_lstm_tagger.layers.tagger_model import get_torch_module
from spacy_lstm_tagger.layers.torch_module import RecurrentTagger

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
    module = RecurrentTagger(hidden_width=8, depth=1)
    assert not module.is_built
    with pytest.raises(ValueError, match=r"call build\(n_inputs, n_labels\)"):
        module(torch.randn(1, 3, N_INPUTS), torch.tensor([3]))


@pytest.mark.parametrize("rnn_type,bidirectional", RNN_SETTINGS)
def test_packing_makes_scores_independent_of_batch_mates(
    rnn_type: str, bidirectional: bool
) -> None:
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


def test_thinc_model_probabilities_independent_of_batch_mates(trained_nlp) -> None:
    model = trained_nlp.get_pipe("lstm_tagger").model
    doc = trained_nlp.make_doc("The dog ate the apple near a river .")
    longer = trained_nlp.make_doc("Some friends opened a baker , but John carried every banana .")
    shorter = trained_nlp.make_doc("John laughed")
    empty = trained_nlp.make_doc("")
    alone = model.predict([doc])[0]
    for batch, index in (([longer, doc, shorter], 1), ([shorter, empty, doc], 2)):
        in_batch = model.predict(batch)[index]
        numpy.testing.assert_allclose(in_batch, alone, rtol=0, atol=1e-6)


def test_pipe_tags_independent_of_batch_mates(trained_nlp) -> None:
    texts = [
        "Some friends opened a baker , but John carried every banana and a watch .",
        "The dog ate the apple near a river .",
        "John laughed",
        "",
    ]
    alone = [[t.tag_ for t in trained_nlp(text)] for text in texts]
    in_batch = [[t.tag_ for t in doc] for doc in trained_nlp.pipe(texts, batch_size=4)]
    assert in_batch == alone


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
    nlp = make_nlp("tag", rnn_type=linear_encoder_name)
    assert nlp.config["components"]["lstm_tagger"]["model"]["rnn_type"] == linear_encoder_name
    examples = records_to_examples(nlp, demo_records[:8])
    optimizer = nlp.initialize(lambda: examples)
    assert isinstance(get_torch_module(nlp.get_pipe("lstm_tagger").model).encoder, LinearEncoder)
    losses = [nlp.update(examples, sgd=optimizer)["lstm_tagger"] for _ in range(5)]
    assert losses[-1] < losses[0]
    labels = nlp.get_pipe("lstm_tagger").labels
    assert all(token.tag_ in labels for token in nlp("The dog ate the apple ."))
