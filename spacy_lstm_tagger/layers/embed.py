"""Word embeddings for the tagger's tok2vec: hash embeddings without a mixing layer,
and the concatenation of a word embedding with a character encoder."""

from typing import Any, List, Optional

from spacy.ml.featureextractor import FeatureExtractor
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import HashEmbed, Model, chain, concatenate, list2ragged, ragged2list, with_array
from thinc.layers.concatenate import forward as concatenate_forward
from thinc.types import Floats2d

from ..errors import Errors, LSTMTaggerError, is_int_at_least
from .static_vectors import build_static_vectors


@registry.architectures("spacy-lstm-tagger.ConcatHashEmbed.v1")
def build_concat_hash_embed(
    width: int, attrs: List[str], rows: List[int]
) -> Model[List[Doc], List[Floats2d]]:
    """Embed each token's attributes with hash embeddings and concatenate them.

    Unlike `spacy.MultiHashEmbed.v2` there is no Maxout layer to mix the tables:
    the recurrent encoder's input weights mix them anyway, and the Maxout layer
    costs about a quarter of the tagger's inference time.

    width (int): Width of each attribute's embedding.
    attrs (List[str]): Token attributes to embed, e.g. ["NORM", "PREFIX", "SUFFIX", "SHAPE"].
    rows (List[int]): Rows of each attribute's hash table, one per attribute.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, width * len(attrs))
        array per doc.
    """
    if not attrs or len(rows) != len(attrs):
        message = Errors.E117.format(n_attrs=len(attrs), attrs=attrs, n_rows=len(rows), rows=rows)
        raise LSTMTaggerError(message)
    for name, value in [("width", width)] + [("rows", n) for n in rows]:
        if not is_int_at_least(value, 1):
            raise LSTMTaggerError(Errors.E118.format(name=name, value=value))
    # Distinct seeds, so the tables hash the same value to different rows.
    tables = [HashEmbed(width, n, column=i, seed=7 + i, dropout=0.0) for i, n in enumerate(rows)]
    model = chain(
        FeatureExtractor(attrs), list2ragged(), with_array(concatenate(*tables)), ragged2list()
    )
    model.set_dim("nO", width * len(attrs))
    return model


@registry.architectures("spacy-lstm-tagger.ConcatHashEmbed.v2")
def build_concat_hash_embed_v2(
    width: int,
    attrs: List[str],
    rows: List[int],
    include_static_vectors: bool = False,
    vectors_width: Optional[int] = None,
    vectors_attr: str = "ORTH",
    vectors_dropout: float = 0.0,
) -> Model[List[Doc], List[Floats2d]]:
    """v1's hash embeddings, optionally with the pipeline's static vectors beside them
    (`spacy-lstm-tagger.StaticVectors.v1`), still without a mixing layer.

    width (int): Width of each attribute's embedding.
    attrs (List[str]): Token attributes to embed, e.g. ["NORM", "PREFIX", "SUFFIX", "SHAPE"].
    rows (List[int]): Rows of each attribute's hash table, one per attribute.
    include_static_vectors (bool): Whether to add the vectors of `nlp.vocab.vectors`,
        filled by [initialize] vectors. They stay fixed.
    vectors_width (Optional[int]): Width of a learned projection of the vectors;
        None passes them through as they are.
    vectors_attr (str): The token attribute looked up: "ORTH", "NORM" or "LOWER".
    vectors_dropout (float): Dropout on single vector values while training.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, width * len(attrs)
        + the vectors' width) array per doc.
    """
    hashes = build_concat_hash_embed(width, attrs, rows)
    if not include_static_vectors:
        return hashes
    vectors = build_static_vectors(vectors_width, vectors_attr, vectors_dropout)
    return concatenate_lists("concat_hash_vectors", [hashes, vectors])


@registry.architectures("spacy-lstm-tagger.WordCharEmbed.v1")
def build_word_char_embed(
    words: Model[List[Doc], List[Floats2d]], chars: Model[List[Doc], List[Floats2d]]
) -> Model[List[Doc], List[Floats2d]]:
    """Concatenate each token's word vector and its character vector.

    words (Model[List[Doc], List[Floats2d]]): A word embedding, e.g.
        `spacy-lstm-tagger.ConcatHashEmbed.v1` or `spacy.MultiHashEmbed.v2`.
    chars (Model[List[Doc], List[Floats2d]]): A character encoder, e.g.
        `spacy-lstm-tagger.CharEmbed.v1`.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, words nO + chars nO)
        array per doc.
    """
    return concatenate_lists("word_char_embed", [words, chars])


def concatenate_lists(name: str, layers: List[Model]) -> Model[List[Doc], List[Floats2d]]:
    """Concatenate the per-doc arrays of layers that read docs, as thinc's
    `concatenate` does, but with an init that does not ask the docs for a width.

    name (str): The name of the combined layer.
    layers (List[Model]): Layers from docs to one array per doc.
    RETURNS (Model[List[Doc], List[Floats2d]]): Their outputs side by side.
    """
    return Model(name, concatenate_forward, init=_init_concat, layers=layers, dims={"nO": None})


def _init_concat(model: Model, X: Any = None, Y: Any = None) -> None:
    """Initialize every layer on the docs, then sum their widths."""
    for layer in model.layers:
        layer.initialize(X=X)
    if all(layer.has_dim("nO") for layer in model.layers):
        model.set_dim("nO", sum(layer.get_dim("nO") for layer in model.layers))
