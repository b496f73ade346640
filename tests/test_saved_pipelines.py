"""Pipelines saved by earlier versions load and tag the same with this one."""

import json
from pathlib import Path

import numpy
import spacy

FIXTURES = Path(__file__).parent / "fixtures"


def test_single_target_pipeline_saved_before_joint_targets() -> None:
    """A single-target pipeline (target "tag", `LSTMTagger.v1`, characters) saved by
    commit dbf1394, before the joint tagger, gives the tags and probabilities it gave
    then. Made with `tests/fixtures/make_saved_pipeline.py` run on that commit's code."""
    folder = FIXTURES / "pipeline_dbf1394"
    expected = json.loads((folder / "expected.json").read_text())
    nlp = spacy.load(folder / "pipeline")
    pipe = nlp.get_pipe("lstm_tagger")
    assert pipe.targets == ["tag"] and isinstance(pipe.labels, tuple)
    docs = [nlp.make_doc(text) for text in expected["texts"]]
    for got, want in zip(pipe.model.predict(docs), expected["probs"]):
        numpy.testing.assert_allclose(got, numpy.asarray(want).reshape(got.shape), atol=1e-6)
    assert [[t.tag_ for t in doc] for doc in nlp.pipe(expected["texts"])] == expected["tags"]
