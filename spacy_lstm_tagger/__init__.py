"""spacy-lstm-tagger: a recurrent (LSTM/GRU) part-of-speech tagger for spaCy v3."""

from .char_model import build_char_embed
from .char_module import CharEncoder
from .embed import build_concat_hash_embed, build_word_char_embed
from .encoders import encoders
from .model import build_lstm_tagger
from .pipe import LSTMTagger, make_lstm_tagger
from .scorer import make_tagger_scorer
from .torch_module import RecurrentTagger

__version__ = "0.1.0"

__all__ = [
    "CharEncoder",
    "LSTMTagger",
    "RecurrentTagger",
    "__version__",
    "build_char_embed",
    "build_concat_hash_embed",
    "build_lstm_tagger",
    "build_word_char_embed",
    "encoders",
    "make_lstm_tagger",
    "make_tagger_scorer",
]
