"""The component's `predict` decodes logits (`logits_only`: no softmax), while
`model.predict` still returns probabilities. These tests compare its tags, UPOS and
FEATS with the ones decoded from the probabilities, written out here as the reference."""

import threading
from typing import Dict, List

import numpy
import pytest
import spacy
from conftest import joint_examples, make_joint_nlp, make_nlp, records_to_examples
from spacy.language import Language
from spacy.tokens import Doc

from spacy_lstm_tagger.layers.joint_model import logits_only
from spacy_lstm_tagger.pipeline.targets import (
    Decoder,
    predicted_values,
    target_attrs,
    write_values,
)

MODES = ("string", "features")
EXTRA_TEXTS = ["", "The zebra devoured a mango .", "", "I like blue eggs", "Quux !"]


@pytest.fixture(scope="module")
def joint_nlps(demo_records) -> Dict[str, Language]:
    """A joint tagger (UPOS, tags, FEATS) per morph mode, fit briefly to demo sentences.
    Do not modify (tests switch `restrict_morph_by_pos` and restore it)."""
    return {mode: fit(make_joint_nlp(mode), joint_examples, demo_records) for mode in MODES}


def fit(nlp: Language, make_examples, demo_records) -> Language:
    """The pipeline after 5 updates on 20 demo sentences, from seed 0."""
    spacy.util.fix_random_seed(0)
    examples = make_examples(nlp, demo_records[:20])
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(5):
        nlp.update(examples, sgd=optimizer)
    return nlp


def texts(demo_records) -> List[str]:
    """Held-out demo sentences, unseen words and empty docs."""
    return [" ".join(record["words"]) for record in demo_records[20:40]] + EXTRA_TEXTS


def probability_annotations(nlp: Language, docs: List[Doc]) -> None:
    """Annotate the docs from `model.predict`'s probabilities: the reference path."""
    tagger = nlp.get_pipe("lstm_tagger")
    heads = tagger._heads()
    table = tagger.cfg["morph_by_pos"] if tagger.restrict_morph_by_pos else None
    probs = tagger.model.predict(docs)
    for doc, doc_probs in zip(docs, probs):
        if len(doc):
            values = predicted_values(nlp.vocab, heads, Decoder(heads, numpy, table)(doc_probs))
            stacked = numpy.stack(list(values.values()), axis=1)
            write_values(doc, target_attrs(values), stacked, overwrite=False)


def annotations(docs: List[Doc]) -> List[List[tuple]]:
    return [[(t.tag_, t.pos_, str(t.morph)) for t in doc] for doc in docs]


@pytest.mark.parametrize("restrict", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_logits_path_writes_what_probabilities_give(joint_nlps, demo_records, mode, restrict):
    nlp = joint_nlps[mode]
    tagger = nlp.get_pipe("lstm_tagger")
    tagger.restrict_morph_by_pos = restrict
    try:
        reference = [nlp.make_doc(text) for text in texts(demo_records)]
        probability_annotations(nlp, reference)
        docs = list(nlp.pipe(texts(demo_records), batch_size=8))
    finally:
        tagger.restrict_morph_by_pos = False
    assert annotations(docs) == annotations(reference)
    for doc, ref in zip(docs, reference):
        attrs = ["TAG", "POS", "MORPH"]
        assert numpy.array_equal(doc.to_array(attrs), ref.to_array(attrs))
    assert all(token.tag_ and token.pos_ for doc in docs for token in doc)


def test_restriction_changes_some_morph(joint_nlps, demo_records):
    """Control: the restriction is on in the test above, and changes some FEATS here,
    so the comparison also covers the masked logits."""
    nlp = joint_nlps["string"]
    tagger = nlp.get_pipe("lstm_tagger")
    docs = [nlp.make_doc(text) for text in texts(demo_records)]
    free = numpy.concatenate(tagger.predict(docs))
    tagger.restrict_morph_by_pos = True
    try:
        restricted = numpy.concatenate(tagger.predict(docs))
    finally:
        tagger.restrict_morph_by_pos = False
    assert (free != restricted).any()


@pytest.mark.parametrize("mode", MODES)
def test_model_predict_still_gives_probabilities(joint_nlps, demo_records, mode):
    """Inside `logits_only` the model gives each head's logits; outside, before and
    after the component's predict, each head's probabilities."""
    nlp = joint_nlps[mode]
    tagger = nlp.get_pipe("lstm_tagger")
    docs = [nlp.make_doc(text) for text in texts(demo_records)]
    bounds = numpy.cumsum([0] + [len(head.labels) for head in tagger._heads()])
    before = numpy.concatenate(tagger.model.predict(docs))
    with logits_only(tagger.model):
        logits = numpy.concatenate(tagger.model.predict(docs))
    tagger.predict(docs)
    after = numpy.concatenate(tagger.model.predict(docs))
    numpy.testing.assert_array_equal(before, after)
    for start, end in zip(bounds[:-1], bounds[1:]):
        numpy.testing.assert_allclose(before[:, start:end].sum(axis=1), 1.0, atol=1e-5)
        shifted = logits[:, start:end] - logits[:, start:end].max(axis=1, keepdims=True)
        softmax = numpy.exp(shifted) / numpy.exp(shifted).sum(axis=1, keepdims=True)
        numpy.testing.assert_allclose(softmax, before[:, start:end], atol=1e-5)
    assert (logits < 0).any()


def test_logits_only_is_per_thread(joint_nlps, demo_records):
    """While one thread is inside `logits_only`, another thread's `model.predict` still
    gets probabilities; the thread inside gets logits."""
    nlp = joint_nlps["string"]
    model = nlp.get_pipe("lstm_tagger").model
    docs = [nlp.make_doc(text) for text in texts(demo_records)]
    expected = numpy.concatenate(model.predict(docs))
    entered, release, inside = threading.Event(), threading.Event(), []

    def hold() -> None:
        with logits_only(model):
            entered.set()
            release.wait(timeout=60)
            inside.append(numpy.concatenate(model.predict(docs)))

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert entered.wait(timeout=60)
        meanwhile = numpy.concatenate(model.predict(docs))
    finally:
        release.set()
        thread.join()
    numpy.testing.assert_array_equal(meanwhile, expected)
    assert (inside[0] < 0).any() and not numpy.array_equal(inside[0], expected)


def test_single_target_logits_path(demo_records):
    """The single-softmax model (`LSTMTagger.v1`'s converter) decodes the same labels
    from logits as from probabilities, empty docs included."""
    nlp = fit(make_nlp("tag"), records_to_examples, demo_records)
    tagger = nlp.get_pipe("lstm_tagger")
    docs = [nlp.make_doc(text) for text in texts(demo_records)]
    probs = tagger.model.predict(docs)
    got = tagger.predict(docs)
    for doc_probs, doc_ids in zip(probs, got):
        assert doc_ids.shape == (len(doc_probs), 1)
        numpy.testing.assert_array_equal(doc_ids[:, 0], doc_probs.argmax(axis=1))
    numpy.testing.assert_allclose(numpy.concatenate(probs).sum(axis=1), 1.0, atol=1e-5)
