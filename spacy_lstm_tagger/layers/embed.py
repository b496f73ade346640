"""Word embeddings for the tagger's tok2vec: hash embeddings without a mixing layer,
and the concatenation of a word embedding with a character encoder."""

from typing import Any, List

from spacy.ml.featureextractor import FeatureExtractor
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import HashEmbed, Model, chain, concatenate, list2ragged, ragged2list, with_array
from thinc.layers.concatenate import forward as concatenate_forward
from thinc.types import Floats2d

from ..errors import is_int_at_least


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
        raise ValueError(
            f"spacy-lstm-tagger: ConcatHashEmbed needs one rows value per attribute, got "
            f"{len(attrs)} attrs {attrs} and {len(rows)} rows {rows}."
        )
    for name, value in [("width", width)] + [("rows", n) for n in rows]:
        if not is_int_at_least(value, 1):
            raise ValueError(
                f"spacy-lstm-tagger: ConcatHashEmbed {name} must be a positive integer, "
                f"got {value!r}."
            )
    # Distinct seeds, so the tables hash the same value to different rows.
    tables = [HashEmbed(width, n, column=i, seed=7 + i, dropout=0.0) for i, n in enumerate(rows)]
    model = chain(
        FeatureExtractor(attrs), list2ragged(), with_array(concatenate(*tables)), ragged2list()
    )
    model.set_dim("nO", width * len(attrs))
    return model


@registry.architectures("spacy-lstm-tagger.WordCharEmbed.v1")
def build_word_char_embed(
    words: Model[List[Doc], List[Floats2d]], chars: Model[List[Doc], List[Floats2d]]
) -> Model[List[Doc], List[Floats2d]]:
    """Concatenate each token's word vector and its character vector.

    thinc's `concatenate.v1` cannot be used here: its init asks docs for a width.

    words (Model[List[Doc], List[Floats2d]]): A word embedding, e.g.
        `spacy-lstm-tagger.ConcatHashEmbed.v1` or `spacy.MultiHashEmbed.v2`.
    chars (Model[List[Doc], List[Floats2d]]): A character encoder, e.g.
        `spacy-lstm-tagger.CharEmbed.v1`.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, words nO + chars nO)
        array per doc.
    """
    return Model(
        "word_char_embed",
        concatenate_forward,
        init=_init_word_char,
        layers=[words, chars],
        dims={"nO": None},
    )


def _init_word_char(model: Model, X: Any = None, Y: Any = None) -> None:
    """Initialize both embeddings on the docs, then sum their widths."""
    for layer in model.layers:
        layer.initialize(X=X)
    if all(layer.has_dim("nO") for layer in model.layers):
        model.set_dim("nO", sum(layer.get_dim("nO") for layer in model.layers))
