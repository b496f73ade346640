"""The thinc model: a tok2vec, then the torch `RecurrentTagger` through `PyTorchWrapper`.

The (de)serializers that rebuild the lazily-built torch module from its stored
widths before loading its weights live here; the converters between thinc's
per-doc arrays and torch's batches in `tagger_converters.py`.
"""

from io import BytesIO
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, chain
from thinc.types import Floats2d

from ..errors import Errors, LSTMTaggerError, WeightsError, is_int_at_least
from .encoders import get_encoder
from .shim import TorchWrapper, get_module, move_to_current_device
from .tagger_converters import (
    SOFTMAX_NORMALIZE,
    convert_inputs,
    convert_outputs,
    uses_flat_path,
)
from .torch_module import RecurrentTagger

# The layout of the saved torch module (serialize_module); loading refuses any other.
SERIAL_FORMAT = 1
# Hyperparameters that change the shapes of the weights: a stored model must agree.
SHAPE_HPARAMS = ("rnn_type", "hidden_width", "depth", "bidirectional")
# The most padded token slots (docs x longest doc) that one call of the torch module
# allocates. A batch over it is split into groups of docs of similar length, so one
# long doc does not pad all its batch-mates to its length; packing keeps each doc's
# output independent of its group.
MAX_PADDED_TOKENS = 65536


@registry.architectures("spacy-lstm-tagger.LSTMTagger.v1")
def build_lstm_tagger(
    tok2vec: Model[List[Doc], List[Floats2d]],
    rnn_type: str = "lstm",
    hidden_width: int = 128,
    depth: int = 2,
    bidirectional: bool = True,
    dropout: float = 0.33,
    word_dropout: float = 0.1,
    nO: Optional[int] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """Build a recurrent tagger: token vectors from `tok2vec`, a packed (bi)LSTM or
    GRU over each doc, and a softmax over the labels for every token.

    tok2vec (Model[List[Doc], List[Floats2d]]): The token-to-vector subnetwork.
    rnn_type (str): Registered encoder name: "lstm", "gru" or one of your own.
    hidden_width (int): Hidden width of each direction of the encoder.
    depth (int): Number of stacked recurrent layers.
    bidirectional (bool): Whether the encoder also reads right to left.
    dropout (float): Dropout on the encoder's input, between its layers and on
        its output, in [0, 1), until training sets its own: like every thinc layer's,
        it is replaced by the rate given to `nlp.update(drop=...)`, i.e. by
        `[training] dropout`.
    word_dropout (float): Probability of zeroing a token's whole input vector
        while training with a dropout rate above 0, in [0, 1).
    nO (Optional[int]): The number of labels; inferred from the data if None.
    RETURNS (Model[List[Doc], List[Floats2d]]): Per-token label probabilities,
        one array of shape (n_tokens, n_labels) per doc.
    """
    validate_hparams(rnn_type, hidden_width, depth, dropout, word_dropout, nO)
    module = RecurrentTagger(
        rnn_type=rnn_type,
        hidden_width=hidden_width,
        depth=depth,
        bidirectional=bidirectional,
        dropout=dropout,
        word_dropout=word_dropout,
    )
    wrapper = TorchWrapper(
        module,
        convert_inputs=convert_inputs,
        convert_outputs=convert_outputs,
        serialize_model=serialize_module,
        deserialize_model=deserialize_module,
        dropout=dropout,
    )
    wrapper.attrs[SOFTMAX_NORMALIZE] = True
    recurrent: Model[List[Floats2d], List[Floats2d]] = Model(
        "lstm_tagger_rnn",
        forward,
        init=init,
        layers=[wrapper],
        dims={"nI": None, "nO": nO},
    )
    model = chain(tok2vec, recurrent)
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("output_layer", recurrent)
    return model


def validate_hparams(
    rnn_type: str,
    hidden_width: int,
    depth: int,
    dropout: float,
    word_dropout: float,
    nO: Optional[int] = None,
) -> None:
    """Refuse settings that would fail later, deep inside torch."""
    get_encoder(rnn_type)
    sizes = [("hidden_width", hidden_width), ("depth", depth)]
    if nO is not None:
        sizes.append(("nO", nO))
    for name, value in sizes:
        if not is_int_at_least(value, 1):
            raise LSTMTaggerError(Errors.E101.format(name=name, value=value))
    for name, value in (("dropout", dropout), ("word_dropout", word_dropout)):
        if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise LSTMTaggerError(Errors.E102.format(name=name, value=value))


def get_torch_module(model: Model) -> RecurrentTagger:
    """Find the `RecurrentTagger` inside a model built by `build_lstm_tagger`.

    model (Model): The tagger model, or its recurrent layer.
    RETURNS (RecurrentTagger): The wrapped torch module.
    """
    layer = model.get_ref("output_layer") if model.has_ref("output_layer") else model
    return get_module(layer.layers[0])


def validate_weights(model: Model, n_labels: int, name: str, source: str) -> None:
    """Refuse loaded weights that do not fit the labels or are not finite.

    model (Model): The tagger model, after loading its weights.
    n_labels (int): The number of labels in the component's cfg.
    name (str): The component name, for the message.
    source (str): Where the weights were loaded from, for the message.
    """
    module = get_torch_module(model)
    if not module.is_built:
        return
    if module.dims["n_labels"] != n_labels:
        raise WeightsError(
            Errors.E153.format(
                name=name, source=source, n_labels=n_labels, n_outputs=module.dims["n_labels"]
            )
        )
    finite = all(bool(torch.isfinite(param).all()) for param in module.parameters())
    for node in model.walk():
        params = [node.get_param(p) for p in node.param_names if node.has_param(p)]
        finite = finite and all(bool(node.ops.xp.isfinite(param).all()) for param in params)
    if not finite:
        raise WeightsError(Errors.E154.format(name=name, source=source))


def init(
    model: Model[List[Floats2d], List[Floats2d]],
    X: Optional[List[Floats2d]] = None,
    Y: Optional[List[Floats2d]] = None,
) -> None:
    """Take the input width from X and the label count from Y, then build the module."""
    if X is not None and len(X):
        model.set_dim("nI", int(X[0].shape[1]))
    if Y is not None and len(Y) and not model.has_dim("nO"):
        model.set_dim("nO", int(Y[0].shape[1]))
    if not model.has_dim("nI") or not model.has_dim("nO"):
        raise LSTMTaggerError(Errors.E103)
    get_torch_module(model).build(model.get_dim("nI"), model.get_dim("nO"))
    move_to_current_device(model.layers[0])


def forward(
    model: Model[List[Floats2d], List[Floats2d]], Xs: List[Floats2d], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    """Run the wrapped torch module: at inference on the fast path, all docs in one
    call (see `uses_flat_path`); otherwise on groups of docs of similar length (see
    `MAX_PADDED_TOKENS`). The wrapper does the conversions."""
    if Xs and model.has_dim("nI") and Xs[0].shape[1] != model.get_dim("nI"):
        raise LSTMTaggerError(Errors.E100.format(width=Xs[0].shape[1], nI=model.get_dim("nI")))
    if not is_train and any(len(X) for X in Xs) and uses_flat_path(model.layers[0]):
        return model.layers[0](Xs, is_train)
    # Each group comes longest first, so the torch module packs it without sorting.
    groups = group_by_length([len(X) for X in Xs], MAX_PADDED_TOKENS)
    Ys: List[Floats2d] = [None] * len(Xs)  # type: ignore[list-item]
    backprops = []
    for group in groups:
        group_Ys, backprop_group = model.layers[0]([Xs[i] for i in group], is_train)
        for i, Y in zip(group, group_Ys):
            Ys[i] = Y
        backprops.append((group, backprop_group))

    def backprop(dYs: List[Floats2d]) -> List[Floats2d]:
        dXs: List[Floats2d] = [None] * len(Xs)  # type: ignore[list-item]
        for group, backprop_group in backprops:
            for i, dX in zip(group, backprop_group([dYs[i] for i in group])):
                dXs[i] = dX
        return dXs

    return Ys, backprop


def group_by_length(lengths: Sequence[int], max_padded: int) -> List[List[int]]:
    """Split a batch into groups of docs, longest first, whose padded size (docs x
    longest doc) stays within `max_padded`; a longer doc is a group of its own.

    lengths (Sequence[int]): The number of tokens of each doc.
    max_padded (int): The most padded token slots per group.
    RETURNS (List[List[int]]): The docs' indices, one list per group.
    """
    groups: List[List[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        # A group's first doc is its longest, so it sets the padded length.
        if groups and (len(groups[-1]) + 1) * max(1, lengths[groups[-1][0]]) <= max_padded:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def serialize_module(module: RecurrentTagger) -> bytes:
    """Save the module's hyperparameters and widths with its weights, so that
    loading can rebuild the layers before it reads the weights."""
    buffer = BytesIO()
    payload = {
        "format": SERIAL_FORMAT,
        "hparams": module.hparams,
        "dims": module.dims,
        "state_dict": module.state_dict(),
    }
    torch.save(payload, buffer)
    return buffer.getvalue()


def deserialize_module(
    module: RecurrentTagger, state_bytes: bytes, device: torch.device
) -> RecurrentTagger:
    """Rebuild `module` from stored widths, then load the stored weights.

    module (RecurrentTagger): The module of the model config, built or not.
    state_bytes (bytes): What serialize_module saved.
    device (torch.device): Where the weights go.
    RETURNS (RecurrentTagger): The same module, built and loaded on `device`.
    """
    try:
        # map_location: weights saved on a GPU load on a CPU-only machine.
        payload = torch.load(BytesIO(state_bytes), map_location=device, weights_only=True)
        stored_format = payload.get("format")
    except Exception as err:
        raise WeightsError(Errors.E157.format(err=err)) from err
    # Checked before any other key is read: another format may not have them.
    if stored_format != SERIAL_FORMAT:
        found = "(none)" if stored_format is None else repr(stored_format)
        raise WeightsError(Errors.E159.format(found=found, expected=SERIAL_FORMAT))
    try:
        hparams, dims, state_dict = payload["hparams"], payload["dims"], payload["state_dict"]
    except KeyError as err:
        raise WeightsError(Errors.E157.format(err=f"no {err}")) from err
    mismatched = [k for k in SHAPE_HPARAMS if hparams.get(k) != module.hparams.get(k)]
    if mismatched:
        details = ", ".join(
            f"{k}: config {module.hparams.get(k)!r}, weights {hparams.get(k)!r}" for k in mismatched
        )
        raise WeightsError(Errors.E158.format(details=details))
    if dims.get("n_inputs") is not None:
        module.build(dims["n_inputs"], dims["n_labels"])
        module.load_state_dict(state_dict)
    module.to(device)
    return module
