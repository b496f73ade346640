"""Pretrained static vectors from `nlp.vocab.vectors`, fixed, with an optional learned
projection and no mixing layer, for the tagger's word embedding.

spaCy's `StaticVectors.v2` always projects, and it looks words up by the table's own
attribute, which a default-mode table forgets on save (ORTH after every load). This
layer keeps its lookup attribute in its config, so a lowercased table such as GloVe
is read by LOWER, and a word without a vector gets zeros.
"""

from typing import Callable, List, Optional, Tuple

import numpy
from spacy.attrs import IDS
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vectors import Mode
from spacy.vocab import Vocab
from thinc.api import Model, glorot_uniform_init
from thinc.types import Floats2d

from ..errors import Errors, LSTMTaggerError, WeightsError, is_int_at_least

NAME = "lstm_static_vectors"
KEY_ATTRS = ("ORTH", "NORM", "LOWER")


@registry.architectures("spacy-lstm-tagger.StaticVectors.v1")
def build_static_vectors(
    width: Optional[int] = None, key_attr: str = "ORTH", dropout: float = 0.0
) -> Model[List[Doc], List[Floats2d]]:
    """Look each token up in the vocab's vectors table. The vectors stay fixed;
    only the projection, if any, is trained.

    width (Optional[int]): Width of a learned linear projection of the vectors
        (no bias); None passes the vectors through as they are.
    key_attr (str): The token attribute looked up: "ORTH" (spaCy's default),
        "NORM" or "LOWER" (for a lowercased table such as GloVe).
    dropout (float): Rate at which single vector values are zeroed while training,
        in [0, 1); on top of the encoder's own input dropout.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, width or the table's
        width) array per doc.
    """
    if width is not None and not is_int_at_least(width, 1):
        raise LSTMTaggerError(Errors.E119.format(setting="width", value=width))
    if key_attr not in KEY_ATTRS:
        raise LSTMTaggerError(Errors.E120.format(value=key_attr, valid=KEY_ATTRS))
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise LSTMTaggerError(Errors.E119.format(setting="dropout", value=dropout))
    # "vectors_dropout", not "dropout_rate": set_dropout_rate would overwrite that one
    # with [training] dropout, which the encoder already applies to its whole input.
    return Model(
        NAME,
        forward,
        init=init,
        params={"W": None} if width is not None else {},
        dims={"nO": width, "nV": None},
        attrs={"key_attr": key_attr, "vectors_dropout": float(dropout), "project": width},
    )


def init(
    model: Model[List[Doc], List[Floats2d]],
    X: Optional[List[Doc]] = None,
    Y: Optional[List[Floats2d]] = None,
) -> None:
    """Take the table's width from the docs' vocab; refuse an empty table."""
    if not X:
        return
    vectors = X[0].vocab.vectors
    if vectors.shape[0] == 0 or vectors.shape[1] == 0:
        raise LSTMTaggerError(Errors.E121)
    n_vectors = int(vectors.shape[1])
    model.set_dim("nV", n_vectors)
    width = model.attrs["project"]
    if width is None:
        model.set_dim("nO", n_vectors)
    else:
        model.set_param("W", glorot_uniform_init(model.ops, (width, n_vectors)))


def check_vocab(model: Model, vocab: Vocab) -> None:
    """Refuse a vectors table of another width than the one the model was trained on.

    model (Model): A model that may contain static vectors layers.
    vocab (Vocab): The vocab whose vectors the model will read.
    """
    for node in model.walk():
        if node.name == NAME and node.has_dim("nV") and node.get_dim("nV") is not None:
            trained, found = node.get_dim("nV"), int(vocab.vectors.shape[1])
            if trained != found:
                raise WeightsError(Errors.E156.format(trained=trained, found=found))


def lookup(model: Model, docs: List[Doc]) -> Floats2d:
    """RETURNS (Floats2d): The vector of every token of the docs, one after another;
    zeros where the table has no row for the token's key."""
    vectors = docs[0].vocab.vectors
    keys = numpy.concatenate([doc.to_array(IDS[model.attrs["key_attr"]]) for doc in docs])
    if vectors.mode == Mode.floret:
        return model.ops.asarray2f(vectors.get_batch(keys))
    get_row = vectors.key2row.get
    rows = numpy.fromiter((get_row(key, -1) for key in keys.tolist()), "int64", len(keys))
    data = vectors.data
    xp_rows = rows if isinstance(data, numpy.ndarray) else model.ops.asarray1i(rows)
    found = data[xp_rows.clip(0)]
    found[xp_rows < 0] = 0
    return model.ops.asarray2f(found)


def forward(
    model: Model[List[Doc], List[Floats2d]], docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], List]]:
    """Look the tokens up, then project them; the backward pass trains only W."""
    lengths = [len(doc) for doc in docs]
    if not sum(lengths):
        return [model.ops.alloc2f(n, model.get_dim("nO")) for n in lengths], lambda d: []
    check_vocab(model, docs[0].vocab)
    V = lookup(model, docs)
    W = model.get_param("W") if model.attrs["project"] is not None else None
    Y = V if W is None else model.ops.gemm(V, W, trans2=True)
    rate = model.attrs["vectors_dropout"]
    mask = model.ops.get_dropout_mask(Y.shape, rate) if is_train and rate > 0 else None
    if mask is not None:
        Y = Y * mask

    def backprop(dYs: List[Floats2d]) -> List:
        if W is not None:
            dY = model.ops.flatten(dYs)
            if mask is not None:
                dY = dY * mask
            model.inc_grad("W", model.ops.gemm(dY, V, trans1=True))
        return []

    return model.ops.unflatten(Y, model.ops.asarray1i(lengths)), backprop
