"""thinc's PyTorch wrapper, made to keep spaCy's training contract.

thinc 8.3's `PyTorchWrapper_v3` leaves three settings of spaCy's training behind:
- dropout: `set_dropout_rate` (what `nlp.update(drop=...)` calls) sets
  `attrs["dropout_rate"]` on thinc nodes; an `nn.Dropout` inside torch never sees it;
- averaged weights: `PyTorchShim.finish_update` gives the optimizer `(shim.id, name)`
  keys, but `PyTorchShim.use_params` looks for `"pytorch_{id}_{name}"` strings, so
  `nlp.use_params(optimizer.averages)` leaves the torch weights raw;
- device: `PyTorchShim.device` is its module's first parameter's device, so a module
  built lazily (on the CPU) is never moved to the GPU that thinc uses.
`TorchWrapper` is `PyTorchWrapper_v3` with those three kept, and with the torch
modules' inference caches (`CharEncoder.cache`) emptied whenever the weights change.
"""

import contextlib
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Type

import torch
from thinc.api import Model, PyTorchShim, xp2torch
from thinc.layers.pytorchwrapper import forward as pytorch_forward
from thinc.util import get_torch_default_device
from torch import nn


class AveragingPyTorchShim(PyTorchShim):
    """A `PyTorchShim` whose `use_params` finds the optimizer's averages."""

    @contextlib.contextmanager
    def use_params(self, params: Dict[Any, Any]) -> Iterator[None]:
        """Swap in the torch parameters found in `params` (keyed `(shim.id, name)`, as
        `finish_update` stores them), and put the trained ones back afterwards.

        params (Dict[Any, Any]): E.g. `optimizer.averages`.
        """
        found = {
            name: param
            for name, param in self._model.named_parameters()
            if (self.id, name) in params
        }
        backup = {name: param.data for name, param in found.items()}
        for name, param in found.items():
            param.data = xp2torch(params[(self.id, name)], device=param.device)
        clear_caches(self._model)
        try:
            yield
        finally:
            for name, param in found.items():
                param.data = backup[name]
            clear_caches(self._model)

    def finish_update(self, optimizer: Any) -> None:
        """Update the weights, then empty the caches computed from the old ones.

        optimizer (thinc.api.Optimizer): The optimizer.
        """
        super().finish_update(optimizer)
        clear_caches(self._model)

    def from_bytes(self, bytes_data: bytes) -> "AveragingPyTorchShim":
        """Load the weights, then empty the caches computed from the old ones.

        bytes_data (bytes): The data, from `to_bytes`.
        RETURNS (AveragingPyTorchShim): The shim.
        """
        super().from_bytes(bytes_data)
        clear_caches(self._model)
        return self


def TorchWrapper(
    module: nn.Module,
    convert_inputs: Callable,
    convert_outputs: Callable,
    serialize_model: Optional[Callable[[Any], bytes]] = None,
    deserialize_model: Optional[Callable[[Any, bytes, torch.device], Any]] = None,
    dropout: float = 0.0,
) -> Model:
    """Wrap a torch module as `PyTorchWrapper_v3` does, with spaCy's dropout rate and
    averaged weights reaching it (see the module docstring).

    module (nn.Module): The torch module.
    convert_inputs (Callable): As for `PyTorchWrapper_v3`.
    convert_outputs (Callable): As for `PyTorchWrapper_v3`.
    serialize_model (Optional[Callable]): As for `PyTorchWrapper_v3`.
    deserialize_model (Optional[Callable]): As for `PyTorchWrapper_v3`.
    dropout (float): The dropout rate until `set_dropout_rate` sets another.
    RETURNS (Model): The layer; named "pytorch" like thinc's, so that saved pipelines load.
    """
    shim = AveragingPyTorchShim(
        module, serialize_model=serialize_model, deserialize_model=deserialize_model
    )
    return Model(
        "pytorch",
        forward,
        attrs={
            "convert_inputs": convert_inputs,
            "convert_outputs": convert_outputs,
            "dropout_rate": dropout,
        },
        shims=[shim],
        dims={"nI": None, "nO": None},
        init=init,
    )


def init(model: Model, X: Any = None, Y: Any = None) -> None:
    """Put the torch module on thinc's current device (see `move_to_current_device`)."""
    move_to_current_device(model)


def forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
    """thinc's wrapper forward pass, with the layer's dropout rate set in torch first."""
    if is_train:
        set_torch_dropout(get_module(model), model.attrs["dropout_rate"])
    return pytorch_forward(model, X, is_train)


def get_module(wrapper: Model) -> nn.Module:
    """RETURNS (nn.Module): The torch module of a `TorchWrapper` layer."""
    # PyTorchShim keeps its module in `_model`; thinc offers no public accessor.
    return wrapper.shims[0]._model


def torch_modules(model: Model, kind: Optional[Type[nn.Module]] = None) -> List[nn.Module]:
    """The torch modules of a thinc model's PyTorch layers, in `model.walk()` order.

    model (Model): The model to walk, e.g. a component's `pipe.model`.
    kind (Optional[Type[nn.Module]]): Keep only the modules of this class.
    RETURNS (List[nn.Module]): The modules.
    """
    modules = [
        get_module(node)
        for node in model.walk()
        if node.shims and isinstance(node.shims[0], PyTorchShim)
    ]
    return [m for m in modules if kind is None or isinstance(m, kind)]


def set_torch_dropout(module: nn.Module, rate: float) -> None:
    """Give every dropout of a torch module the rate spaCy asked for: `nn.Dropout`
    layers and the dropout between the layers of a stacked `nn.LSTM` or `nn.GRU`.

    module (nn.Module): The module; its submodules are changed in place.
    rate (float): The dropout rate, in [0, 1).
    """
    for child in module.modules():
        if isinstance(child, nn.Dropout):
            child.p = rate
        elif isinstance(child, nn.RNNBase) and child.num_layers > 1:
            child.dropout = rate


def clear_caches(module: nn.Module) -> None:
    """Empty the inference caches of a torch module's submodules (those with a
    `cache` that has `clear()`, like `CharEncoder`'s form vectors).

    module (nn.Module): The module.
    """
    for child in module.modules():
        cache = getattr(child, "cache", None)
        if cache is not None and callable(getattr(cache, "clear", None)):
            cache.clear()


def move_to_current_device(wrapper: Model) -> None:
    """Put a wrapper's torch module on thinc's current torch device (the GPU after
    `spacy.require_gpu`), whatever device its parameters were created on.

    wrapper (Model): A `TorchWrapper` layer.
    """
    module = get_module(wrapper)
    module.to(get_torch_default_device())
    clear_caches(module)
