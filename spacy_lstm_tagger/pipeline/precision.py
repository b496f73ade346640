"""Lower precision for inference: bfloat16 autocast of the recurrent taggers of a pipeline.

On CPUs with native bfloat16 (AVX512-BF16 or AMX), torch's fused LSTM kernels run
about 1.5x faster in bfloat16; training and the weights stay float32. It changes
probabilities in the third decimal, so it is opt-in: per pipeline, from a config

    [nlp.after_pipeline_creation]
    @callbacks = "spacy-lstm-tagger.inference_precision.v1"
    precision = "bfloat16"

or from Python with `set_inference_precision(nlp, "bfloat16")`.
"""

from functools import partial
from typing import Callable, Dict, Optional

import torch
from spacy.language import Language
from spacy.util import registry

from ..errors import Errors, LSTMTaggerError, Warnings, warn
from ..layers.shim import torch_modules
from ..layers.torch_module import RecurrentTagger

PRECISIONS: Dict[str, Optional[torch.dtype]] = {"float32": None, "bfloat16": torch.bfloat16}


@registry.callbacks("spacy-lstm-tagger.inference_precision.v1")
def make_inference_precision(precision: str = "bfloat16") -> Callable[[Language], Language]:
    """Build a callback for `[nlp.after_pipeline_creation]` that sets the
    inference precision of every `lstm_tagger` in the pipeline.

    precision (str): "float32" or "bfloat16".
    RETURNS (Callable[[Language], Language]): The callback.
    """
    _check_precision(precision)
    return partial(_apply, precision=precision)


def _apply(nlp: Language, precision: str) -> Language:
    set_inference_precision(nlp, precision)
    return nlp


def set_inference_precision(nlp: Language, precision: str) -> int:
    """Run the recurrent taggers of a pipeline in `precision` at inference. On a
    CPU without native bfloat16, "bfloat16" would be slower than float32, so it
    warns and keeps float32.

    nlp (Language): The pipeline.
    precision (str): "float32" or "bfloat16".
    RETURNS (int): The number of torch taggers changed.
    """
    _check_precision(precision)
    dtype = PRECISIONS[precision]
    if dtype is torch.bfloat16 and not has_native_bfloat16():
        warn(Warnings.W100)
        dtype = None
    changed = 0
    for _, pipe in nlp.components:
        model = getattr(pipe, "model", None)
        for module in torch_modules(model, RecurrentTagger) if model is not None else []:
            module.inference_dtype = dtype
            changed += 1
    return changed


def has_native_bfloat16() -> bool:
    """RETURNS (bool): Whether torch's current device computes bfloat16 natively:
    a CUDA GPU, or a CPU with AVX512-BF16 or AMX."""
    if torch.cuda.is_available():
        return True
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise LSTMTaggerError(Errors.E112.format(precision=precision, valid=", ".join(PRECISIONS)))
