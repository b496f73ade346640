"""spacy-lstm-tagger: a recurrent (LSTM/GRU) part-of-speech tagger for spaCy v3."""

from .layers.char_model import build_char_embed
from .layers.char_module import CharEncoder
from .layers.embed import (
    build_concat_hash_embed,
    build_concat_hash_embed_v2,
    build_word_char_embed,
)
from .layers.encoders import encoders
from .layers.joint_model import build_joint_tagger
from .layers.paths import reference_paths
from .layers.static_vectors import build_static_vectors
from .layers.tagger_model import build_lstm_tagger
from .layers.torch_module import RecurrentTagger
from .pipeline.precision import make_inference_precision, set_inference_precision
from .pipeline.scorer import make_tagger_scorer
from .pipeline.tagger import LSTMTagger, make_lstm_tagger
from .training.corpus import ReadOnceCorpus, create_corpus_reader
from .training.schedules import WarmupLinear, create_warmup_linear

__version__ = "0.1.0"

__all__ = [
    "CharEncoder",
    "LSTMTagger",
    "ReadOnceCorpus",
    "RecurrentTagger",
    "WarmupLinear",
    "__version__",
    "build_char_embed",
    "build_concat_hash_embed",
    "build_concat_hash_embed_v2",
    "build_joint_tagger",
    "build_lstm_tagger",
    "build_static_vectors",
    "build_word_char_embed",
    "create_corpus_reader",
    "create_warmup_linear",
    "encoders",
    "make_inference_precision",
    "make_lstm_tagger",
    "make_tagger_scorer",
    "reference_paths",
    "set_inference_precision",
]
