"""The registry of recurrent encoders, and the built-in LSTM and GRU encoders.

An encoder is a `torch.nn.Module` that reads a `PackedSequence` of token vectors
and returns a `PackedSequence` of contextual vectors, and tells its output width
through an `output_width` attribute. An encoder may also offer a fast path for
inference, `forward_flat(X, lengths)`: the token vectors of the sequences one
after another (longest first) in, contextual vectors in the same layout out (see
`RNNEncoder.forward_flat`); encoders without it are run packed.

Encoders are built by functions registered here by name, so a config's `rnn_type`
can name one from another package:

    from spacy_lstm_tagger.layers.encoders import encoders

    @encoders.register("my_encoder")
    def make_my_encoder(input_width, hidden_width, depth, bidirectional, dropout):
        ...

Other packages can also register through the `spacy_lstm_tagger_encoders`
entry point group.
"""

from typing import Callable

import catalogue
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from ..errors import Errors, LSTMTaggerError
from .paths import equal_length_groups

# entry_points=True: packages can add encoders through the
# "spacy_lstm_tagger_encoders" entry point group, without being imported first.
encoders = catalogue.create("spacy_lstm_tagger", "encoders", entry_points=True)

EncoderFactory = Callable[[int, int, int, bool, float], nn.Module]


class RNNEncoder(nn.Module):
    """A stacked `nn.LSTM` or `nn.GRU` over packed sequences.

    rnn_class (type): `nn.LSTM` or `nn.GRU`.
    input_width (int): Width of the token vectors.
    hidden_width (int): Hidden width of each direction.
    depth (int): Number of stacked recurrent layers.
    bidirectional (bool): Whether to also read each sequence right to left.
    dropout (float): Dropout between stacked layers.
    """

    def __init__(
        self,
        rnn_class: type,
        input_width: int,
        hidden_width: int,
        depth: int,
        bidirectional: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.rnn = rnn_class(
            input_size=input_width,
            hidden_size=hidden_width,
            num_layers=depth,
            bidirectional=bidirectional,
            # torch warns when dropout is set on a one-layer RNN: it would do nothing.
            dropout=dropout if depth > 1 else 0.0,
            batch_first=True,
        )
        self.output_width = hidden_width * (2 if bidirectional else 1)

    def forward(self, packed: PackedSequence) -> PackedSequence:
        output, _ = self.rnn(packed)
        return output

    def forward_flat(self, X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The outputs of `forward`, without packing or padding: the sequences of
        one length run as one plain batch, a view of their rows, so no step reads
        padding and torch can use its fused CPU kernels, which packed input keeps
        it from (pytorch#149194).

        X (torch.Tensor): The token vectors of the sequences one after another,
            longest first, shape (n_tokens, width).
        lengths (torch.Tensor): int64 CPU tensor of sequence lengths, each >= 1,
            longest first.
        RETURNS (torch.Tensor): Shape (n_tokens, output_width), rows as in X.
        """
        outputs = []
        start = 0
        for length, rows in equal_length_groups(lengths):
            end = start + (rows.stop - rows.start) * length
            group = X[start:end].view(-1, length, X.shape[1])
            outputs.append(self.rnn(group)[0].reshape(end - start, self.output_width))
            start = end
        return torch.cat(outputs)


@encoders.register("lstm")
def make_lstm_encoder(
    input_width: int, hidden_width: int, depth: int, bidirectional: bool, dropout: float
) -> nn.Module:
    """Build a (bi)LSTM encoder.

    RETURNS (nn.Module): The encoder.
    """
    return RNNEncoder(nn.LSTM, input_width, hidden_width, depth, bidirectional, dropout)


@encoders.register("gru")
def make_gru_encoder(
    input_width: int, hidden_width: int, depth: int, bidirectional: bool, dropout: float
) -> nn.Module:
    """Build a (bi)GRU encoder, the tutorial's drop-in alternative to the LSTM.

    RETURNS (nn.Module): The encoder.
    """
    return RNNEncoder(nn.GRU, input_width, hidden_width, depth, bidirectional, dropout)


def get_encoder(name: str) -> EncoderFactory:
    """Look up an encoder factory by name, with a clear error for unknown names.

    name (str): The registered name, e.g. "lstm" or "gru".
    RETURNS (EncoderFactory): The function that builds the encoder.
    """
    if not isinstance(name, str) or name not in encoders:
        available = ", ".join(sorted(encoders.get_all()))
        raise LSTMTaggerError(Errors.E113.format(name=name, available=available))
    return encoders.get(name)
