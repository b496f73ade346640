"""spaCy's partial-annotation tagger test (`test_incomplete_data` in
spacy/tests/pipeline/test_tagger.py) with the default `lstm_tagger`, over 20 seeds.

With `CharEmbed.v1`'s N(0, 1) character table, 3 seeds of 96 (62, 84 and 86) tagged the
unseen "blue" like "like"; with the default `CharEmbed.v2` (N(0, 0.1^2)) none did
(`python -m benchmarks.partial_annotation`, BENCHMARKS.md "Partial annotation"). The
seeds here include those three."""

import pytest

from benchmarks.partial_annotation import one_seed

SEEDS = [62, 84, 86, *range(17)]


@pytest.mark.parametrize("seed", SEEDS)
def test_partly_annotated_sentences_are_fitted(seed: int) -> None:
    """50 updates on two partly annotated sentences (one with misaligned words) fit
    them, and the unseen "blue" between "like" and "eggs" is tagged J."""
    run = one_seed(seed, char_scale=1.0)
    assert run["loss"] < 1e-5
    assert (run["like"], run["blue"]) == ("V", "J")
