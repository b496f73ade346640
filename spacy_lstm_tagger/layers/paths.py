"""How a batch of sequences runs through a recurrent layer: packed (the reference
path), or in groups of equal length (the fast path, where it pays: the same numbers
and gradients, see `equal_length_groups`), in training and at inference alike. The
character cache is a fast path of inference only.

`reference_paths()` turns the fast paths off, to compare them with the reference.
"""

import contextlib
from typing import Iterator, List, Tuple

import torch

from ..errors import Errors, LSTMTaggerError

_FAST = {"enabled": True}


def is_sorted(lengths: torch.Tensor) -> bool:
    """Whether sequences come longest first: then packing needs no sorting, and
    saves two copies of the batch (the model's converters send them so).

    lengths (torch.Tensor): The sequence lengths.
    RETURNS (bool): Whether the lengths never increase.
    """
    return bool((lengths[:-1] >= lengths[1:]).all())


def equal_length_groups(lengths: torch.Tensor) -> List[Tuple[int, slice]]:
    """Group the sequences of a batch, longest first, by length. A group's sequences
    all end at the same step, so a recurrent layer can run over them without packing
    and without reading padding, in either direction.

    lengths (torch.Tensor): int64 CPU tensor of sequence lengths, longest first.
    RETURNS (List[Tuple[int, slice]]): (length, rows) per distinct length.
    """
    if not is_sorted(lengths):
        raise LSTMTaggerError(Errors.E107)
    values, counts = torch.unique_consecutive(lengths, return_counts=True)
    ends = torch.cumsum(counts, 0).tolist()
    starts = [0, *ends[:-1]]
    return [(n, slice(s, e)) for n, s, e in zip(values.tolist(), starts, ends)]


def fast_paths_enabled(device: torch.device) -> bool:
    """Whether a pass on `device` may take the fast paths: by default on a CPU
    (a GPU's cuDNN runs packed sequences natively). The character cache is then
    used at any thread count; grouping by length only where it pays
    (`equal_length_runs_pay`).

    device (torch.device): The device of the inputs.
    RETURNS (bool): Whether to take the fast paths.
    """
    return _FAST["enabled"] and device.type == "cpu"


def equal_length_runs_pay(device: torch.device, low_precision: bool = False) -> bool:
    """Whether running groups of equal length beats packing. Packed input keeps
    torch off its fused CPU kernels (pytorch#149194); grouped input uses them, one
    call per length. Measured on EWT (BENCHMARKS.md, "Speed"): faster at one torch
    thread, but at two the packed path's larger products parallelize better and
    grouping is slower, except in bfloat16, whose gain comes from the fused kernels.

    device (torch.device): The device of the inputs.
    low_precision (bool): Whether inference runs in bfloat16.
    RETURNS (bool): Whether to group by length.
    """
    return fast_paths_enabled(device) and (low_precision or torch.get_num_threads() == 1)


@contextlib.contextmanager
def reference_paths() -> Iterator[None]:
    """Run inference on the reference paths (packing, no character cache) inside
    the block, e.g. to check that the fast paths give the same output."""
    previous = _FAST["enabled"]
    _FAST["enabled"] = False
    try:
        yield
    finally:
        _FAST["enabled"] = previous
