"""`set_annotations` writes every target of a doc in one `from_array` call. These tests
compare it with the path it replaced (one `to_array` and one `from_array` per target),
which is written out here as the reference."""

from typing import List

import numpy
import pytest
import spacy
from conftest import demo_morphs, joint_examples, make_joint_nlp
from spacy.attrs import IDS as ATTR_IDS
from spacy.language import Language
from spacy.tokens import Doc

from spacy_lstm_tagger.pipeline.targets import TARGETS, predicted_values

TEXTS = ["the dog ate the apple", "a zebra devoured the mango .", "I like green eggs"]


@pytest.fixture(scope="module")
def joint_nlp(demo_records) -> Language:
    """A joint tagger (UPOS, tags, FEATS as strings, restricted by UPOS) fit briefly to
    demo sentences. Do not modify."""
    spacy.util.fix_random_seed(0)
    nlp = make_joint_nlp("string", restrict_morph_by_pos=True)
    examples = joint_examples(nlp, demo_records[:20])
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(5):
        nlp.update(examples, sgd=optimizer)
    return nlp


def reference_annotations(nlp: Language, docs: List[Doc], overwrite: bool) -> None:
    """Write the predictions target by target, one to_array/from_array per target and
    doc: the path `set_annotations` had before it wrote all targets at once."""
    tagger = nlp.get_pipe("lstm_tagger")
    ids = numpy.concatenate(tagger.predict(docs))
    start = 0
    for doc in docs:
        doc_ids = ids[start : start + len(doc)]
        start += len(doc)
        for target, values in predicted_values(nlp.vocab, tagger._heads(), doc_ids).items():
            attr = ATTR_IDS[TARGETS[target]]
            if not overwrite:
                current = doc.to_array(attr)
                values = numpy.where(current == 0, values, current)
            doc.from_array([attr], values.reshape(-1, 1))


def annotations(docs: List[Doc]) -> List[List[tuple]]:
    return [[(t.pos_, t.tag_, str(t.morph)) for t in doc] for doc in docs]


def fresh_docs(nlp: Language, preset: bool) -> List[Doc]:
    """Docs of TEXTS; with `preset`, some tokens already carry a tag, UPOS or FEATS."""
    docs = [nlp.make_doc(text) for text in TEXTS]
    if preset:
        docs[0][1].tag_ = "XX"
        docs[1][0].pos_ = "PROPN"
        docs[2][0].set_morph("Person=1")
    return docs


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("preset", [False, True])
def test_one_call_path_matches_reference(joint_nlp, overwrite, preset):
    tagger = joint_nlp.get_pipe("lstm_tagger")
    tagger.cfg["overwrite"] = overwrite
    try:
        reference = fresh_docs(joint_nlp, preset)
        reference_annotations(joint_nlp, reference, overwrite)
        docs = fresh_docs(joint_nlp, preset)
        tagger.set_annotations(docs, tagger.predict(docs))
    finally:
        tagger.cfg["overwrite"] = False
    assert annotations(docs) == annotations(reference)
    # The arrays too, not just their string views (MORPH hashes, POS ids).
    attrs = ["POS", "TAG", "MORPH"]
    for doc, ref in zip(docs, reference):
        assert numpy.array_equal(doc.to_array(attrs), ref.to_array(attrs))
    if preset and not overwrite:  # preset values are kept, so the test sees them
        assert docs[0][1].tag_ == "XX" and docs[1][0].pos_ == "PROPN"
        assert str(docs[2][0].morph) == "Person=1"


def test_reference_detects_a_wrong_write(joint_nlp):
    """Negative control: a doc annotated differently from the reference is told apart."""
    tagger = joint_nlp.get_pipe("lstm_tagger")
    reference = fresh_docs(joint_nlp, False)
    reference_annotations(joint_nlp, reference, False)
    docs = fresh_docs(joint_nlp, False)
    tagger.set_annotations(docs, tagger.predict(docs))
    docs[2][1].set_morph(demo_morphs(["NNS"])[0] or "Number=Plur")
    docs[2][1].pos_ = "X"
    assert annotations(docs) != annotations(reference)


def test_pipe_and_call_write_the_same(joint_nlp):
    """nlp.pipe in batches and nlp(text) one at a time give the same annotations."""
    piped = list(joint_nlp.pipe(TEXTS, batch_size=2))
    single = [joint_nlp(text) for text in TEXTS]
    assert annotations(piped) == annotations(single)
    assert all(token.pos_ and token.tag_ for doc in piped for token in doc)
