"""Features (`token.morph`) in a joint `lstm_tagger`: whole FEATS strings or one head per
feature, the restriction of features by the predicted UPOS, and `overwrite`."""

from pathlib import Path
from typing import Dict, List, Set

import numpy
import pytest
import spacy
from conftest import joint_examples, make_joint_nlp
from spacy.language import Language
from spacy.morphology import Morphology
from spacy.tokens import Doc

from spacy_lstm_tagger.pipeline.targets import output_heads

MORPH_MODES = ["string", "features"]


def initialized_joint(demo_records: List[Dict], morph_mode: str, **config) -> Language:
    """An untrained joint tagger initialized on 8 demo sentences: its random weights
    predict analyses that often contradict the predicted UPOS."""
    spacy.util.fix_random_seed(0)
    nlp = make_joint_nlp(morph_mode, **config)
    nlp.initialize(lambda: joint_examples(nlp, demo_records[:8]))
    return nlp


def violations(nlp: Language, texts: List[str], morph_mode: str) -> List[str]:
    """The tokens whose written analysis (mode "string") or features (mode "features")
    training never showed with their predicted UPOS."""
    table = nlp.get_pipe("lstm_tagger").cfg["morph_by_pos"]
    found = []
    for doc in nlp.pipe(texts):
        for token in doc:
            seen = table[token.pos_]
            names: Set[str] = {f for feats in seen for f in Morphology.feats_to_dict(feats)}
            morph = str(token.morph) or "_"
            if morph_mode == "string":
                allowed = morph in seen
            else:
                allowed = set(token.morph.to_dict()) <= names
            if not allowed:
                found.append(f"{token.text}/{token.pos_}/{morph}")
    return found


@pytest.mark.parametrize("morph_mode", MORPH_MODES)
def test_restriction_never_writes_features_unseen_with_the_upos(
    demo_records, morph_mode: str
) -> None:
    """With restrict_morph_by_pos, no token gets an analysis (or a feature) that training
    never showed with its predicted UPOS; the same weights without it do write some."""
    nlp = initialized_joint(demo_records, morph_mode, restrict_morph_by_pos=True)
    texts = [" ".join(record["words"]) for record in demo_records[:60]]
    assert violations(nlp, texts, morph_mode) == []
    nlp.get_pipe("lstm_tagger").restrict_morph_by_pos = False
    assert len(violations(nlp, texts, morph_mode)) > 10


def test_restriction_is_chosen_at_load_time(demo_records, tmp_path: Path) -> None:
    """The UPOS table is saved with the component; the restriction is a config setting,
    so it can be switched on when a pipeline trained without it is loaded."""
    nlp = initialized_joint(demo_records, "string")
    nlp.to_disk(tmp_path / "pipeline")
    config = {"components": {"lstm_tagger": {"restrict_morph_by_pos": True}}}
    loaded = spacy.load(tmp_path / "pipeline", config=config)
    pipe = loaded.get_pipe("lstm_tagger")
    assert pipe.restrict_morph_by_pos is True
    assert pipe.cfg["morph_by_pos"] == nlp.get_pipe("lstm_tagger").cfg["morph_by_pos"]
    texts = [" ".join(record["words"]) for record in demo_records[:60]]
    assert violations(loaded, texts, "string") == []
    assert violations(spacy.load(tmp_path / "pipeline"), texts, "string")


def test_features_mode_can_write_an_analysis_never_seen(demo_records) -> None:
    """With one head per feature, an analysis that is no training label can be written:
    here Number=Plur with VerbForm=Ger, chosen head by head."""
    nlp = initialized_joint(demo_records, "features")
    pipe = nlp.get_pipe("lstm_tagger")
    heads = output_heads(pipe.targets, pipe.label_data, "features")
    chosen = {"pos": "NOUN", "tag": "NNS", "Number": "Plur", "VerbForm": "Ger"}
    ids = [head.labels.index(chosen.get(head.feature or head.target, "_")) for head in heads]
    doc = nlp.make_doc("runnings")
    pipe.set_annotations([doc], [numpy.asarray([ids])])
    assert (doc[0].pos_, doc[0].tag_, str(doc[0].morph)) == (
        "NOUN",
        "NNS",
        "Number=Plur|VerbForm=Ger",
    )
    assert str(doc[0].morph) not in pipe.labels["morph"]


def test_string_mode_writes_only_training_analyses(demo_records) -> None:
    """With one softmax over whole FEATS strings, every analysis written is a label."""
    nlp = initialized_joint(demo_records, "string")
    labels = set(nlp.get_pipe("lstm_tagger").labels["morph"])
    docs = nlp.pipe(" ".join(record["words"]) for record in demo_records[:60])
    assert {str(token.morph) or "_" for doc in docs for token in doc} <= labels


@pytest.mark.parametrize("overwrite", [False, True])
def test_overwrite_per_attribute(demo_records, overwrite: bool) -> None:
    """Preset UPOS, tag and features are kept unless `overwrite`, each on its own; the
    other tokens get the prediction."""
    nlp = initialized_joint(demo_records, "string", overwrite=overwrite)
    words = demo_records[0]["words"]
    predicted = nlp(Doc(nlp.vocab, words=words))
    doc = Doc(nlp.vocab, words=words)
    doc[0].pos_, doc[1].tag_ = "SYM", "PRESET"
    doc[2].set_morph("Foo=Bar")
    doc = nlp(doc)
    expected = [(t.pos_, t.tag_, str(t.morph)) for t in predicted]
    if not overwrite:
        expected[0] = ("SYM", *expected[0][1:])
        expected[1] = (expected[1][0], "PRESET", expected[1][2])
        expected[2] = (*expected[2][:2], "Foo=Bar")
    assert [(t.pos_, t.tag_, str(t.morph)) for t in doc] == expected


def test_features_mode_without_any_feature_in_the_data(demo_records) -> None:
    """A corpus whose analyses are all empty gives "features" mode one head of FEATS
    strings: it trains, and writes the empty analysis, restricted or not."""
    nlp = make_joint_nlp("features", restrict_morph_by_pos=True)
    examples = joint_examples(nlp, demo_records[:4])
    for example in examples:
        for token in example.reference:
            token.set_morph("_")
    optimizer = nlp.initialize(lambda: examples)
    nlp.update(examples, sgd=optimizer)
    assert nlp.get_pipe("lstm_tagger").labels["morph"] == ("_",)
    doc = nlp("The dog ate the apple .")
    assert all(token.has_morph() and str(token.morph) == "" for token in doc)
