"""The plain PyTorch character encoder: one vector per word form from its characters."""

from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from .paths import equal_length_groups, equal_length_runs_pay, fast_paths_enabled, is_sorted

CHAR_ENCODERS = ("cnn", "lstm")
# Form vectors kept between inference batches; the cache is emptied when it grows
# past this, so a long-running service does not grow without bound.
MAX_CACHED_VECTORS = 100_000


class CharEncoder(nn.Module):
    """Embed each character of a word form, then reduce them to one vector, with
    a convolution and max pooling ("cnn", as Ma and Hovy 2016) or a BiLSTM's last
    states ("lstm", as Plank et al. 2016 and Lample et al. 2016).

    Forms are encoded once per batch, whatever their number of tokens, and the
    token rows are gathered from them, so a frequent word costs one encoding. At
    inference, a form's vector is also kept between batches (`FormCache`).

    kind (str): "cnn" or "lstm".
    rows (int): Size of the character table; row 0 is padding.
    char_width (int): Width of each character's embedding.
    width (int): Width of the output vector (even for "lstm": two directions).
    window (int): Characters on each side that the "cnn" filters see.
    init_scale (Optional[float]): Standard deviation of the character embeddings at
        init; None keeps torch's N(0, 1).
    """

    def __init__(
        self,
        kind: str,
        rows: int,
        char_width: int,
        width: int,
        window: int = 1,
        init_scale: Optional[float] = None,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(rows, char_width, padding_idx=0)
        if init_scale is not None:
            with torch.no_grad():
                self.embed.weight.normal_(0.0, init_scale)
                self.embed.weight[0].zero_()  # the padding row
        self.conv = None
        self.lstm = None
        if kind == "cnn":
            self.conv = nn.Conv1d(char_width, width, 2 * window + 1, padding=window)
        else:
            self.lstm = nn.LSTM(char_width, width // 2, batch_first=True, bidirectional=True)
        self.cache = FormCache()

    def forward(
        self,
        chars: torch.Tensor,
        lengths: torch.Tensor,
        index: torch.Tensor,
        keys: Optional[List[int]] = None,
    ) -> torch.Tensor:
        """Encode every form, then gather one row per token.

        chars (torch.Tensor): int64 character ids of the forms, padded with 0,
            shape (n_forms, max_chars).
        lengths (torch.Tensor): int64 CPU tensor, the number of characters of
            each form, each >= 1.
        index (torch.Tensor): int64, the form of each token, shape (n_tokens,).
        keys (Optional[List[int]]): An id of each form (its ORTH), to find its
            vector in the cache at inference; without keys nothing is cached.
        RETURNS (torch.Tensor): One vector per token, shape (n_tokens, width).
        """
        if self.training:
            # The weights are about to change: vectors from before are stale.
            self.cache.clear()
        if keys is not None and not self.training and fast_paths_enabled(chars.device):
            forms = self.cache.vectors(
                self, keys, lambda rows: self.encode(chars[rows], lengths[rows])
            )
        else:
            forms = self.encode(chars, lengths)
        # index_select: its backward (index_add_) sums a form's token gradients in a
        # fixed order; forms[index] sums them with atomic adds across threads.
        return forms.index_select(0, index)

    def encode(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """One vector per form.

        chars (torch.Tensor): As for `forward`.
        lengths (torch.Tensor): As for `forward`.
        RETURNS (torch.Tensor): Shape (n_forms, width).
        """
        embedded = self.embed(chars)
        if self.conv is not None:
            features = torch.tanh(self.conv(embedded.transpose(1, 2)))
            # Padding positions must not win the max.
            pad = (chars == 0).unsqueeze(1)
            return features.masked_fill(pad, -1.0).max(dim=2).values
        # At inference only: in training, grouped forms were slower than packed ones
        # (a probe at one thread on EWT train), unlike grouped docs in the tagger.
        if not self.training and equal_length_runs_pay(embedded.device) and is_sorted(lengths):
            return self._encode_by_length(embedded, lengths)
        packed = pack_padded_sequence(
            embedded, lengths, batch_first=True, enforce_sorted=is_sorted(lengths)
        )
        _, (last, _) = self.lstm(packed)
        # last: (2 directions, n_forms, width // 2); forward end, backward start.
        return torch.cat([last[0], last[1]], dim=-1)

    def _encode_by_length(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The BiLSTM's last states without packing: forms of one length run as a
        plain batch (torch's fused kernels), and no step reads padding."""
        forms = embedded.new_empty(embedded.shape[0], 2 * self.lstm.hidden_size)
        for length, rows in equal_length_groups(lengths):
            _, (last, _) = self.lstm(embedded[rows, :length])
            forms[rows] = torch.cat([last[0], last[1]], dim=-1)
        return forms


class FormCache:
    """Form vectors of earlier inference batches, by form key.

    It is emptied by every training pass, by `clear()` (which the wrapper calls
    when the optimizer or `use_params` changes the weights), and whenever the
    module's parameters are no longer the tensors, or the versions of them, that
    the vectors were computed with. It is never pickled or saved.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every vector."""
        self.rows: Dict[int, int] = {}
        self.store: Optional[torch.Tensor] = None
        self.weights: Tuple = ()

    def vectors(
        self, module: nn.Module, keys: List[int], encode: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor:
        """The vector of each key, encoding only the keys not cached yet.

        module (nn.Module): The encoder whose weights the vectors come from.
        keys (List[int]): One key per form.
        encode (Callable[[torch.Tensor], torch.Tensor]): Encodes the forms at the
            given positions (an int64 index tensor, in order).
        RETURNS (torch.Tensor): Shape (len(keys), width).
        """
        weights = tuple((p.data_ptr(), p._version) for p in module.parameters())
        if weights != self.weights or len(self.rows) > MAX_CACHED_VECTORS:
            self.clear()
            self.weights = weights
        missing = [i for i, key in enumerate(keys) if key not in self.rows]
        if missing:
            self._add([keys[i] for i in missing], encode(torch.tensor(missing)))
        rows = torch.tensor([self.rows[key] for key in keys], device=self.store.device)
        return self.store.index_select(0, rows)

    def _add(self, keys: List[int], vectors: torch.Tensor) -> None:
        """Append vectors, doubling the store when it is full."""
        start = len(self.rows)
        needed = start + len(keys)
        if self.store is None or needed > self.store.shape[0]:
            grown = vectors.new_empty(max(needed, 2 * start, 1024), vectors.shape[1])
            if self.store is not None:
                grown[:start] = self.store[:start]
            self.store = grown
        self.store[start:needed] = vectors
        self.rows.update(zip(keys, range(start, needed)))

    def __getstate__(self) -> Dict[str, Any]:
        # Not empty: pickle skips __setstate__ for an empty state.
        return {"cached": False}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.clear()
