"""The converters of the recurrent tagger's thinc layer: per-doc arrays to torch
batches and back, flat (one doc after another, longest first) where grouping by length
pays (see `paths.equal_length_runs_pay`), padded otherwise and for encoders without a
fast path."""

import threading
from itertools import accumulate
from typing import Any, Callable, List, Sequence, Set, Tuple

import torch
from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d

from ..threads import one_thread_if_forked
from .paths import equal_length_runs_pay
from .shim import get_module

# The wrapper attr that says whether inference outputs probabilities (True, the
# default) or the logits they come from; named as in thinc's `Softmax_v2`. Training
# always gets probabilities: the loss's gradient is computed from them.
SOFTMAX_NORMALIZE = "softmax_normalize"
# The ids of the wrappers whose softmax is switched off in this thread (`logits_only`):
# per thread, so a thread that asks for probabilities meanwhile still gets them.
_LOGITS_ONLY = threading.local()


def logits_only_ids() -> Set[int]:
    """RETURNS (Set[int]): This thread's wrapper ids with the softmax switched off."""
    if not hasattr(_LOGITS_ONLY, "ids"):
        _LOGITS_ONLY.ids = set()
    return _LOGITS_ONLY.ids


def uses_flat_path(wrapper: Model, is_train: bool = False) -> bool:
    """Whether the wrapper sends the torch module the docs' token vectors unpadded,
    one doc after another, longest first (`RecurrentTagger.forward` with
    `flat=True`): where grouping by length pays (`equal_length_runs_pay`), with an
    encoder that has `forward_flat`. Training runs in float32, so a bfloat16
    inference precision does not make training take it.

    wrapper (Model): The torch wrapper layer.
    is_train (bool): Whether this is a training pass.
    RETURNS (bool): Whether the flat path is used.
    """
    module = get_module(wrapper)
    low_precision = module.inference_dtype is not None and not is_train
    pays = equal_length_runs_pay(wrapper.shims[0].device, low_precision)
    return pays and hasattr(module.encoder, "forward_flat")


def longest_first(lengths: Sequence[int]) -> List[int]:
    """The docs' order on the flat path: longest first, ties in batch order.

    lengths (Sequence[int]): The number of tokens of each doc.
    RETURNS (List[int]): The docs' indices.
    """
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def in_batch_order(parts: Sequence[Any], order: Sequence[int], out: List[Any]) -> List[Any]:
    """Put per-doc pieces in the flat path's order back in batch order.

    parts (Sequence[Any]): One piece per doc of `order`, in that order.
    order (Sequence[int]): The docs' batch indices, in the flat order (`longest_first`).
    out (List[Any]): One slot per doc of the batch; those not in `order` keep theirs.
    RETURNS (List[Any]): out, filled.
    """
    for i, part in zip(order, parts):
        out[i] = part
    return out


def _scatter_index(xp: Any, lengths: Sequence[int]) -> Tuple[Any, Any]:
    """Row and column of each token in the padded (batch, max_length) grid, so a
    batch is padded and unpadded with one indexing operation, not a loop."""
    lengths_arr = xp.asarray(lengths, dtype="int64")
    rows = xp.repeat(xp.arange(len(lengths), dtype="int64"), lengths_arr)
    starts = xp.cumsum(lengths_arr) - lengths_arr
    cols = xp.arange(int(lengths_arr.sum()), dtype="int64") - xp.repeat(starts, lengths_arr)
    return rows, cols


def split_rows(flat: Any, lengths: Sequence[int]) -> List[Any]:
    """Split the rows of a (n_tokens, width) array into one array per doc.

    flat (Any): The rows of all docs, one after another.
    lengths (Sequence[int]): The number of rows of each doc.
    RETURNS (List[Any]): One array (a view) per doc.
    """
    # Plain slices: numpy.split costs a Python-level swapaxes per piece.
    ends = list(accumulate(lengths))
    return [flat[end - n : end] for n, end in zip(lengths, ends)]


def convert_inputs(
    model: Model, Xs: List[Floats2d], is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], List[Floats2d]]]:
    """The per-doc token vectors as one torch batch: flat where grouping by length
    pays (`uses_flat_path`), else padded into one (batch, max_length, width) tensor."""
    one_thread_if_forked()
    ops = model.ops
    device = model.shims[0].device
    lengths = [len(x) for x in Xs]
    if any(lengths) and uses_flat_path(model, is_train):
        return _flat_inputs(ops, Xs, lengths, device, is_train)
    rows, cols = _scatter_index(ops.xp, lengths)
    # Every row gets at least one step: torch cannot pack an empty sequence, and
    # an empty doc's padding row is never read back.
    width = Xs[0].shape[1]
    padded = ops.alloc3f(len(Xs), max(1, max(lengths)), width)
    if rows.size:
        padded[rows, cols] = ops.xp.concatenate(Xs)
    X_torch = xp2torch(padded, requires_grad=is_train, device=device)
    lengths_torch = torch.tensor([max(1, n) for n in lengths], dtype=torch.int64)

    def backprop(d_inputs: ArgsKwargs) -> List[Floats2d]:
        d_padded = torch2xp(d_inputs.args[0])
        return split_rows(d_padded[rows, cols], lengths)

    return ArgsKwargs(args=(X_torch, lengths_torch), kwargs={}), backprop


def _flat_inputs(
    ops: Any, Xs: List[Floats2d], lengths: List[int], device: torch.device, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], List[Floats2d]]]:
    """The docs' token vectors one doc after another, longest first, unpadded;
    empty docs (last in that order) have no rows."""
    order = [i for i in longest_first(lengths) if lengths[i]]
    flat = ops.xp.concatenate([Xs[i] for i in order])
    sorted_lengths = torch.tensor([lengths[i] for i in order], dtype=torch.int64)
    width = Xs[0].shape[1]

    def backprop(d_inputs: ArgsKwargs) -> List[Floats2d]:
        d_flat = split_rows(torch2xp(d_inputs.args[0]), [lengths[i] for i in order])
        # Empty docs are not in `order`: they get no rows.
        return in_batch_order(d_flat, order, [ops.alloc2f(0, width) for _ in lengths])

    args = (xp2torch(flat, requires_grad=is_train, device=device), sorted_lengths)
    return ArgsKwargs(args=args, kwargs={"flat": True}), backprop


def normalizes(model: Model, is_train: bool) -> bool:
    """Whether the wrapper's outputs are probabilities now (see `SOFTMAX_NORMALIZE`).

    model (Model): The torch wrapper layer.
    is_train (bool): Whether this is a training pass.
    RETURNS (bool): False only at inference with the softmax switched off, by the
        attr or, in this thread, by `logits_only`.
    """
    if is_train:
        return True
    return model.attrs[SOFTMAX_NORMALIZE] and model.id not in logits_only_ids()


def convert_outputs(
    model: Model, inputs_outputs: Tuple[List[Floats2d], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    """Turn padded logits into per-doc probability arrays (logits, with the softmax
    switched off at inference: see `SOFTMAX_NORMALIZE`).

    The gradient that comes back is spaCy's categorical cross-entropy gradient,
    probabilities minus truth. That is the gradient of the loss with respect to
    the logits, so it is passed to the logits as is (as thinc's Softmax does).
    """
    Xs, logits = inputs_outputs
    scores = logits.detach()
    if normalizes(model, is_train):
        scores = torch.softmax(scores, dim=-1)
    return unpad_outputs(model, Xs, logits, scores)


def unpad_outputs(
    model: Model, Xs: List[Floats2d], logits: torch.Tensor, probs: torch.Tensor
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    """Split padded probabilities into per-doc arrays, and pass the gradient that
    comes back for them to the logits as is (see `convert_outputs`).

    model (Model): The wrapper layer, for its ops.
    Xs (List[Floats2d]): The per-doc inputs, for the docs' lengths.
    logits (torch.Tensor): The module's output, shape (batch, max_length, n_outputs).
    probs (torch.Tensor): The probabilities computed from the logits, same shape.
    RETURNS (Tuple[List[Floats2d], Callable]): Per-doc probabilities and the backprop.
    """
    ops = model.ops
    lengths = [len(x) for x in Xs]
    if logits.dim() == 2:
        return _unflatten_outputs(ops, logits, probs, lengths)
    rows, cols = _scatter_index(ops.xp, lengths)
    Y = split_rows(torch2xp(probs)[rows, cols], lengths)

    def backprop(dY: List[Floats2d]) -> ArgsKwargs:
        d_padded = ops.alloc3f(*logits.shape)
        if rows.size:
            d_padded[rows, cols] = ops.xp.concatenate(dY)
        d_logits = xp2torch(d_padded, device=logits.device)
        return ArgsKwargs(args=((logits,),), kwargs={"grad_tensors": (d_logits,)})

    return Y, backprop


def _unflatten_outputs(
    ops: Any, logits: torch.Tensor, probs: torch.Tensor, lengths: List[int]
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    """Per-doc arrays, in batch order, from the flat path's rows (longest first), and
    the backprop that passes the per-doc gradients to the logits in the flat order."""
    order = longest_first(lengths)
    docs = split_rows(torch2xp(probs), [lengths[i] for i in order])
    Y = in_batch_order(docs, order, [None] * len(lengths))

    def backprop(dY: List[Floats2d]) -> ArgsKwargs:
        d_flat = ops.xp.concatenate([dY[i] for i in order if lengths[i]])
        d_logits = xp2torch(ops.asarray2f(d_flat), device=logits.device)
        return ArgsKwargs(args=((logits,),), kwargs={"grad_tensors": (d_logits,)})

    return Y, backprop
