"""The `lstm_tagger` pipeline component and its scorer."""
