"""Reading training data."""
