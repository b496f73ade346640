"""The joint tagger model, `spacy-lstm-tagger.LSTMTagger.v2`: v1's network with several
output heads (e.g. UPOS, XPOS and FEATS) over one shared encoder.

The torch module is v1's, unchanged: one linear output layer as wide as all heads
together. The heads' widths live in the wrapper's `attrs["heads"]`, which thinc saves
with the model, and its output converter applies one softmax per head's columns.
"""

from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import ArgsKwargs, Model
from thinc.types import Floats2d

from ..errors import Errors, LSTMTaggerError, is_int_at_least
from .tagger_converters import logits_only_ids, normalizes, unpad_outputs
from .tagger_model import build_lstm_tagger

HEADS = "heads"


@registry.architectures("spacy-lstm-tagger.LSTMTagger.v2")
def build_joint_tagger(
    tok2vec: Model[List[Doc], List[Floats2d]],
    rnn_type: str = "lstm",
    hidden_width: int = 128,
    depth: int = 2,
    bidirectional: bool = True,
    dropout: float = 0.33,
    word_dropout: float = 0.1,
    nO: Optional[int] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """Build a recurrent tagger with several output heads: v1's network, with a
    softmax over each head's labels instead of one over all outputs. The component
    sets the heads' widths in `initialize`.

    tok2vec (Model[List[Doc], List[Floats2d]]): The token-to-vector subnetwork.
    rnn_type (str): Registered encoder name: "lstm", "gru" or one of your own.
    hidden_width (int): Hidden width of each direction of the encoder.
    depth (int): Number of stacked recurrent layers.
    bidirectional (bool): Whether the encoder also reads right to left.
    dropout (float): As for `spacy-lstm-tagger.LSTMTagger.v1`.
    word_dropout (float): As for `spacy-lstm-tagger.LSTMTagger.v1`.
    nO (Optional[int]): The number of outputs of all heads together; inferred if None.
    RETURNS (Model[List[Doc], List[Floats2d]]): Per-token probabilities, one array of
        shape (n_tokens, n_outputs) per doc: each head's columns sum to 1.
    """
    model = build_lstm_tagger(
        tok2vec,
        rnn_type=rnn_type,
        hidden_width=hidden_width,
        depth=depth,
        bidirectional=bidirectional,
        dropout=dropout,
        word_dropout=word_dropout,
        nO=nO,
    )
    wrapper = _wrapper(model)
    wrapper.attrs["convert_outputs"] = convert_joint_outputs
    wrapper.attrs[HEADS] = []
    return model


def _wrapper(model: Model) -> Model:
    """RETURNS (Model): The torch wrapper layer of a tagger model."""
    return model.get_ref("output_layer").layers[0]


def get_heads(model: Model) -> Optional[List[int]]:
    """The widths of a tagger model's output heads.

    model (Model): A model built by `LSTMTagger.v1` or `.v2`.
    RETURNS (Optional[List[int]]): The widths; None for a v1 model, which has one head.
    """
    heads = _wrapper(model).attrs.get(HEADS)
    return None if heads is None else list(heads)


def set_heads(model: Model, widths: Sequence[int]) -> None:
    """Set the widths of a v2 model's heads, before the model is initialized.

    model (Model): A model built by `LSTMTagger.v2`.
    widths (Sequence[int]): The number of labels of each head, in column order.
    """
    if get_heads(model) is None:
        raise LSTMTaggerError(Errors.E114)
    if not widths or not all(is_int_at_least(width, 1) for width in widths):
        raise LSTMTaggerError(Errors.E115.format(widths=widths))
    _wrapper(model).attrs[HEADS] = [int(width) for width in widths]


@contextmanager
def logits_only(model: Model) -> Iterator[None]:
    """Within the block, the model's predictions in this thread are each head's logits
    instead of its probabilities: each head's argmax is the same, and the softmax is
    not computed. Other threads, and training passes, are not affected.

    model (Model): A model built by `LSTMTagger.v1` or `.v2`.
    """
    ids = logits_only_ids()
    wrapper_id = _wrapper(model).id
    if wrapper_id in ids:  # nested: the outer block switches it back
        yield
        return
    ids.add(wrapper_id)
    try:
        yield
    finally:
        ids.discard(wrapper_id)


def convert_joint_outputs(
    model: Model, inputs_outputs: Tuple[List[Floats2d], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    """Turn padded logits into per-doc arrays of per-head probabilities; with no
    heads set (a model initialized outside the component), one softmax over all.
    With the softmax switched off at inference (`logits_only`), the logits as they are.

    Each head's gradient that comes back is probabilities minus truth: the gradient
    of its cross-entropy with respect to its own logits. The heads' columns do not
    overlap, so the gradients side by side are passed to the logits as they are.
    """
    Xs, logits = inputs_outputs
    heads = model.attrs[HEADS] or [logits.shape[-1]]
    if sum(heads) != logits.shape[-1]:
        message = Errors.E116.format(n_outputs=logits.shape[-1], heads=heads, total=sum(heads))
        raise LSTMTaggerError(message)
    if not normalizes(model, is_train):
        return unpad_outputs(model, Xs, logits, logits.detach())
    segments = logits.detach().split(heads, dim=-1)
    probs = torch.cat([torch.softmax(segment, dim=-1) for segment in segments], dim=-1)
    return unpad_outputs(model, Xs, logits, probs)
