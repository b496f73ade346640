"""spacy-lstm-tagger: a recurrent (LSTM/GRU) part-of-speech tagger for spaCy v3."""

from .encoders import encoders
from .model import build_lstm_tagger
from .pipe import LSTMTagger, make_lstm_tagger
from .scorer import make_tagger_scorer
from .torch_module import RecurrentTagger

__version__ = "0.1.0"

__all__ = [
    "LSTMTagger",
    "RecurrentTagger",
    "__version__",
    "build_lstm_tagger",
    "encoders",
    "make_lstm_tagger",
    "make_tagger_scorer",
]
