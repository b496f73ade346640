"""The thinc layer over `CharEncoder`: docs in, one character-based vector per token out.

`embed.build_word_char_embed` puts it beside a word embedding in the tagger's
tok2vec, so that rare and unseen words get vectors built from their spelling.
"""

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy
import torch
from spacy.attrs import ORTH
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d

from ..errors import Errors, LSTMTaggerError, is_int_at_least
from ..threads import one_thread_if_forked
from .char_module import CHAR_ENCODERS, CharEncoder
from .shim import TorchWrapper
from .tagger_converters import split_rows

# Forms whose character ids are kept between batches; the cache is emptied when
# it grows past this, so a long-running service does not grow without bound.
MAX_CACHED_FORMS = 200_000


@registry.architectures("spacy-lstm-tagger.CharEmbed.v1")
def build_char_embed(
    width: int = 64,
    char_width: int = 32,
    kind: str = "lstm",
    rows: int = 512,
    max_chars: int = 20,
    window: int = 1,
) -> Model[List[Doc], List[Floats2d]]:
    """Build a character encoder that gives each token a vector from its form, with
    torch's default init of the character table, N(0, 1).

    width (int): Width of each token's output vector (even for "lstm").
    char_width (int): Width of each character's embedding.
    kind (str): "lstm" (a BiLSTM) or "cnn" (convolution and max pooling).
    rows (int): Size of the character table. Code points below `rows - 1` get a
        row of their own; the others share rows by their value modulo the rest.
    max_chars (int): Characters read per form; longer forms keep their first and
        last `max_chars // 2` (prefixes and suffixes carry the part of speech).
    window (int): Characters on each side that the "cnn" filters see.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, width) array per doc.
    """
    return char_embed(width, char_width, kind, rows, max_chars, window, None)


@registry.architectures("spacy-lstm-tagger.CharEmbed.v2")
def build_char_embed_v2(
    width: int = 64,
    char_width: int = 32,
    kind: str = "lstm",
    rows: int = 512,
    max_chars: int = 20,
    window: int = 1,
    init_scale: float = 0.1,
) -> Model[List[Doc], List[Floats2d]]:
    """v1's encoder with the character table drawn from N(0, init_scale^2). A small
    scale keeps the first updates from tying an unseen word to whichever training
    word happens to be spelled most like it (BENCHMARKS.md, "Partial annotation").

    width, char_width, kind, rows, max_chars, window: As for `CharEmbed.v1`.
    init_scale (float): Standard deviation of the character embeddings at init.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, width) array per doc.
    """
    is_number = isinstance(init_scale, (int, float)) and not isinstance(init_scale, bool)
    if not (is_number and init_scale > 0):
        raise LSTMTaggerError(Errors.E160.format(value=init_scale))
    return char_embed(width, char_width, kind, rows, max_chars, window, float(init_scale))


def char_embed(
    width: int,
    char_width: int,
    kind: str,
    rows: int,
    max_chars: int,
    window: int,
    init_scale: Optional[float],
) -> Model[List[Doc], List[Floats2d]]:
    """The layer of `CharEmbed.v1` and `.v2`; init_scale None: torch's default init."""
    _validate(width, char_width, kind, rows, max_chars, window)
    wrapper = TorchWrapper(
        CharEncoder(kind, rows, char_width, width, window, init_scale),
        convert_inputs=CharInputs(rows, max_chars),
        convert_outputs=convert_outputs,
    )
    wrapper.set_dim("nO", width)
    return wrapper


class CharInputs:
    """The converter of docs to the `CharEncoder`'s inputs, with a cache of each
    form's character ids. A class rather than a closure, so that pipelines pickle;
    the cache is left out of the pickle.

    rows (int): Size of the character table.
    max_chars (int): Characters read per form.
    """

    def __init__(self, rows: int, max_chars: int) -> None:
        self.rows = rows
        self.max_chars = max_chars
        self.cache: Dict[int, numpy.ndarray] = {}

    def __call__(
        self, model: Model, docs: List[Doc], is_train: bool
    ) -> Tuple[ArgsKwargs, Callable[[Any], List]]:
        one_thread_if_forked()
        chars, lengths, index, keys = encode_forms(docs, self.cache, self.rows, self.max_chars)
        device = model.shims[0].device
        args = (
            torch.from_numpy(chars).to(device),
            torch.from_numpy(lengths),
            torch.from_numpy(index).to(device),
        )
        # The form keys let inference reuse form vectors between batches.
        kwargs = {} if is_train else {"keys": keys.tolist()}
        return ArgsKwargs(args=args, kwargs=kwargs), _no_input_gradient

    def __getstate__(self) -> Dict[str, Any]:
        return {"rows": self.rows, "max_chars": self.max_chars}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__init__(state["rows"], state["max_chars"])


def _no_input_gradient(d_inputs: Any) -> List:
    """Docs take no gradient."""
    return []


def _validate(
    width: int, char_width: int, kind: str, rows: int, max_chars: int, window: int
) -> None:
    """Refuse settings that would fail later, deep inside torch."""
    if kind not in CHAR_ENCODERS:
        raise LSTMTaggerError(Errors.E104.format(kinds=list(CHAR_ENCODERS), kind=kind))
    # name: (value, smallest allowed)
    settings = {
        "width": (width, 1),
        "char_width": (char_width, 1),
        "rows": (rows, 2),
        "max_chars": (max_chars, 2),
        "window": (window, 0),
    }
    for name, (value, minimum) in settings.items():
        if not is_int_at_least(value, minimum):
            raise LSTMTaggerError(Errors.E105.format(name=name, minimum=minimum, value=value))
    if kind == "lstm" and width % 2:
        raise LSTMTaggerError(Errors.E106.format(width=width))


def form_chars(form: str, rows: int, max_chars: int) -> numpy.ndarray:
    """Character ids of one form, 1 to rows - 1 (0 is padding).

    form (str): The word form.
    rows (int): Size of the character table.
    max_chars (int): The most characters kept: the first and last halves.
    RETURNS (numpy.ndarray): int64 ids, at least one.
    """
    if len(form) > max_chars:
        half = max_chars // 2
        form = form[:half] + form[len(form) - (max_chars - half) :]
    codes = numpy.frombuffer(form.encode("utf-32-le"), dtype=numpy.uint32).astype("int64")
    ids = 1 + codes % (rows - 1)
    return ids if ids.size else numpy.ones((1,), dtype="int64")


def encode_forms(
    docs: List[Doc], cache: Dict[int, numpy.ndarray], rows: int, max_chars: int
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """The distinct forms of a batch as a padded id matrix, and each token's form.

    RETURNS (Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]):
        The (n_forms, longest) character ids, the forms' lengths, each token's
        form index, and each form's ORTH (0 for the placeholder of an empty batch).
    """
    orths = [doc.to_array(ORTH) for doc in docs if len(doc)]
    if not orths:
        ones = numpy.ones((1,), dtype="int64")
        return ones.reshape(1, 1), ones, numpy.zeros(0, "int64"), numpy.zeros(1, "uint64")
    forms, index = numpy.unique(numpy.concatenate(orths), return_inverse=True)
    if len(cache) > MAX_CACHED_FORMS:
        cache.clear()
    strings = docs[0].vocab.strings
    ids = []
    # One Python step per distinct form, not per token; cached across batches.
    for orth in forms.tolist():
        if orth not in cache:
            cache[orth] = form_chars(strings[orth], rows, max_chars)
        ids.append(cache[orth])
    # Longest first, so the "lstm" encoder packs them without sorting.
    lengths = numpy.asarray([len(x) for x in ids], dtype="int64")
    order = numpy.argsort(-lengths, kind="stable")
    ids = [ids[i] for i in order]
    lengths = lengths[order]
    rank = numpy.empty_like(order)
    rank[order] = numpy.arange(len(order))
    chars = numpy.zeros((len(ids), int(lengths[0])), dtype="int64")
    chars[numpy.arange(chars.shape[1]) < lengths[:, None]] = numpy.concatenate(ids)
    return chars, lengths, rank[index.reshape(-1)].astype("int64"), forms[order]


def convert_outputs(
    model: Model, inputs_outputs: Tuple[List[Doc], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    """Split the (n_tokens, width) output into one array per doc."""
    docs, Y_torch = inputs_outputs
    ops = model.ops
    Y = split_rows(torch2xp(Y_torch.detach()), [len(doc) for doc in docs])

    def backprop(dY: List[Floats2d]) -> ArgsKwargs:
        width = Y_torch.shape[1]
        d_flat = ops.xp.concatenate(dY) if dY else ops.alloc2f(0, width)
        d_torch = xp2torch(d_flat, device=Y_torch.device)
        return ArgsKwargs(args=((Y_torch,),), kwargs={"grad_tensors": (d_torch,)})

    return Y, backprop
