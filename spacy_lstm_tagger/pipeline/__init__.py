"""The `lstm_tagger` pipeline component, its scorer and its inference precision callback."""
