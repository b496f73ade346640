"""The plain PyTorch tagger: token vectors in, per-token label scores out."""

from typing import Any, ContextManager, Dict, Optional

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import Errors, LSTMTaggerError
from .encoders import get_encoder
from .paths import is_sorted


class RecurrentTagger(nn.Module):
    """A recurrent encoder over token vectors, then a linear layer to label scores.

    The widths of the input and of the label set are often unknown when the module
    is created (they come from the tok2vec and the training data), so the layers
    are made by `build()`, once both are known.

    rnn_type (str): Name of a registered encoder, e.g. "lstm" or "gru".
    hidden_width (int): Hidden width of each direction of the encoder.
    depth (int): Number of stacked recurrent layers.
    bidirectional (bool): Whether the encoder also reads right to left.
    dropout (float): Dropout on the encoder's input and output, and between its
        layers; `shim.set_torch_dropout` changes it to the rate spaCy trains with.
    word_dropout (float): Probability of zeroing a token's whole input vector
        while training with dropout on (a rate above 0), so the tagger learns to use
        context for unseen words; a training pass with dropout 0 is deterministic.
    """

    def __init__(
        self,
        rnn_type: str = "lstm",
        hidden_width: int = 128,
        depth: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.2,
        word_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.hparams: Dict[str, Any] = {
            "rnn_type": rnn_type,
            "hidden_width": hidden_width,
            "depth": depth,
            "bidirectional": bidirectional,
            "dropout": dropout,
            "word_dropout": word_dropout,
        }
        self.dims: Dict[str, Optional[int]] = {"n_inputs": None, "n_labels": None}
        self.dropout = nn.Dropout(dropout)
        self.word_dropout = word_dropout
        self.encoder: Optional[nn.Module] = None
        self.output: Optional[nn.Linear] = None
        # Lower precision for inference only, e.g. torch.bfloat16; not saved with
        # the weights (see spacy_lstm_tagger.pipeline.precision).
        self.inference_dtype: Optional[torch.dtype] = None

    @property
    def is_built(self) -> bool:
        """RETURNS (bool): Whether `build()` has made the layers."""
        return self.encoder is not None

    def build(self, n_inputs: int, n_labels: int) -> None:
        """Make the encoder and output layers for the given widths.

        n_inputs (int): Width of the token vectors.
        n_labels (int): Number of labels.
        """
        hp = self.hparams
        make_encoder = get_encoder(hp["rnn_type"])
        self.encoder = make_encoder(
            n_inputs, hp["hidden_width"], hp["depth"], hp["bidirectional"], hp["dropout"]
        )
        self.output = nn.Linear(self.encoder.output_width, n_labels)
        # torch's random init, not zeros as in spaCy's Softmax: the encoder's outputs
        # are tanh-bounded, and a zero output layer sends no gradient into the encoder
        # on the first update.
        self.dims = {"n_inputs": n_inputs, "n_labels": n_labels}

    def forward(self, X: torch.Tensor, lengths: torch.Tensor, flat: bool = False) -> torch.Tensor:
        """Score every token of a batch.

        X (torch.Tensor): Token vectors, padded to shape (batch, max_length,
            n_inputs); or with `flat`, the sequences' vectors one after another,
            longest first, shape (n_tokens, n_inputs).
        lengths (torch.Tensor): int64 CPU tensor of sequence lengths, each >= 1.
        flat (bool): Take the flat layout (the encoder must have `forward_flat`).
        RETURNS (torch.Tensor): Label logits in the layout of X: padded (rows past
            a sequence's length are padding) or flat.
        """
        if self.encoder is None or self.output is None:
            raise LSTMTaggerError(Errors.E111)
        if self.training and self.word_dropout > 0.0 and self.dropout.p > 0.0:
            # One draw per token: the last dimension is the vector.
            keep = torch.rand(X.shape[:-1], device=X.device) >= self.word_dropout
            X = X * keep.unsqueeze(-1).to(X.dtype)
        X = self.dropout(X)
        with self._inference_precision(X):
            if flat:
                hidden = self.encoder.forward_flat(X, lengths)
                return self.output(self.dropout(hidden)).float()
            # Packing keeps padding out of both directions, so a sequence's scores do
            # not depend on its batch-mates.
            packed = pack_padded_sequence(
                X, lengths, batch_first=True, enforce_sorted=is_sorted(lengths)
            )
            hidden = self.encoder(packed)
            # Project the packed rows only: padding never reaches the output layer.
            scores = hidden._replace(data=self.output(self.dropout(hidden.data)).float())
        padded, _ = pad_packed_sequence(scores, batch_first=True, total_length=X.shape[1])
        return padded

    def _inference_precision(self, X: torch.Tensor) -> ContextManager:
        """Autocast to `inference_dtype` at inference, if one is set; training and
        the default stay float32."""
        enabled = self.inference_dtype is not None and not self.training
        return torch.autocast(X.device.type, dtype=self.inference_dtype, enabled=enabled)
