"""The commands of `python -m spacy_lstm_tagger` and what they share."""
