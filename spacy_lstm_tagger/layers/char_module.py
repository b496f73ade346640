"""The plain PyTorch character encoder: one vector per word form from its characters."""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from .torch_module import is_sorted

CHAR_ENCODERS = ("cnn", "lstm")


class CharEncoder(nn.Module):
    """Embed each character of a word form, then reduce them to one vector, with
    a convolution and max pooling ("cnn", as Ma and Hovy 2016) or a BiLSTM's last
    states ("lstm", as Plank et al. 2016 and Lample et al. 2016).

    Forms are encoded once per batch, whatever their number of tokens, and the
    token rows are gathered from them, so a frequent word costs one encoding.

    kind (str): "cnn" or "lstm".
    rows (int): Size of the character table; row 0 is padding.
    char_width (int): Width of each character's embedding.
    width (int): Width of the output vector (even for "lstm": two directions).
    window (int): Characters on each side that the "cnn" filters see.
    """

    def __init__(self, kind: str, rows: int, char_width: int, width: int, window: int = 1) -> None:
        super().__init__()
        self.embed = nn.Embedding(rows, char_width, padding_idx=0)
        self.conv = None
        self.lstm = None
        if kind == "cnn":
            self.conv = nn.Conv1d(char_width, width, 2 * window + 1, padding=window)
        else:
            self.lstm = nn.LSTM(char_width, width // 2, batch_first=True, bidirectional=True)

    def forward(
        self, chars: torch.Tensor, lengths: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        """Encode every form, then gather one row per token.

        chars (torch.Tensor): int64 character ids of the forms, padded with 0,
            shape (n_forms, max_chars).
        lengths (torch.Tensor): int64 CPU tensor, the number of characters of
            each form, each >= 1.
        index (torch.Tensor): int64, the form of each token, shape (n_tokens,).
        RETURNS (torch.Tensor): One vector per token, shape (n_tokens, width).
        """
        embedded = self.embed(chars)
        if self.conv is not None:
            features = torch.tanh(self.conv(embedded.transpose(1, 2)))
            # Padding positions must not win the max.
            pad = (chars == 0).unsqueeze(1)
            forms = features.masked_fill(pad, -1.0).max(dim=2).values
        else:
            packed = pack_padded_sequence(
                embedded, lengths, batch_first=True, enforce_sorted=is_sorted(lengths)
            )
            _, (last, _) = self.lstm(packed)
            # last: (2 directions, n_forms, width // 2); forward end, backward start.
            forms = torch.cat([last[0], last[1]], dim=-1)
        # index_select: its backward (index_add_) sums a form's token gradients in a
        # fixed order; forms[index] sums them with atomic adds across threads.
        return forms.index_select(0, index)
