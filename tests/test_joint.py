"""One network, every tag: a joint `lstm_tagger` predicts UPOS, tags and features with one
output head each (`LSTMTagger.v2`), trains each head on the tokens annotated for it, keeps a
label set per target, and round-trips through every kind of serialization."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy
import pytest
import spacy
from conftest import (
    JOINT_TARGETS,
    joint_examples,
    make_joint_nlp,
    make_nlp,
    small_model,
    squared_error_loss,
    train_nlp,
)
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from spacy_lstm_tagger.layers.joint_model import get_heads

MORPH_MODES = ["string", "features"]
TEXTS = ["The dog ate the apple near a river .", "", "Olga was dancing slowly .", "Zorblax"]


def annotations(doc: Doc) -> List[Tuple[str, str, str, bool]]:
    """Each token's UPOS, tag, features and whether its morph is set."""
    return [(t.pos_, t.tag_, str(t.morph), t.has_morph()) for t in doc]


@pytest.fixture(scope="module")
def trained_joint(demo_records) -> Callable[[str], Tuple[Language, List[Example]]]:
    """A joint tagger fit to 8 demo sentences, by morph mode, and those sentences; each is
    trained once per module. Do not modify."""
    cache: Dict[str, Tuple[Language, List[Example]]] = {}

    def get(morph_mode: str) -> Tuple[Language, List[Example]]:
        if morph_mode not in cache:
            spacy.util.fix_random_seed(0)
            nlp = make_joint_nlp(morph_mode)
            examples = joint_examples(nlp, demo_records[:8])
            cache[morph_mode] = (train_nlp(nlp, examples, n_iter=40, learn_rate=0.01), examples)
        return cache[morph_mode]

    return get


@pytest.mark.parametrize("morph_mode", MORPH_MODES)
def test_joint_tagger_fits_and_writes_all_three(trained_joint, morph_mode: str) -> None:
    """Trained on 8 sentences, the joint tagger writes their gold UPOS, tag and features
    (the empty analysis included, as a set morph), and spaCy's scorer gives 1.0 for each."""
    nlp, examples = trained_joint(morph_mode)
    for example in examples:
        doc = nlp(Doc(nlp.vocab, words=[t.text for t in example.reference]))
        assert annotations(doc) == annotations(example.reference)
    assert any(str(t.morph) == "" for eg in examples for t in eg.reference)
    scores = nlp.evaluate(examples)
    assert scores["pos_acc"] == scores["tag_acc"] == scores["morph_acc"] == 1.0
    features = {f for eg in examples for t in eg.reference for f in t.morph.to_dict()}
    assert set(scores["morph_per_feat"]) == features


def test_predict_has_no_side_effects(trained_joint) -> None:
    """`predict` gives one label index per token and head, and leaves the docs unchanged."""
    nlp, _ = trained_joint("features")
    pipe = nlp.get_pipe("lstm_tagger")
    docs = [nlp.make_doc(text) for text in TEXTS]
    before = [doc.to_bytes() for doc in docs]
    ids = pipe.predict(docs)
    n_heads = len(get_heads(pipe.model))
    assert [i.shape for i in ids] == [(len(doc), n_heads) for doc in docs]
    assert n_heads > 3  # pos, tag and one head per feature
    assert [doc.to_bytes() for doc in docs] == before


def assert_same_pipeline(expected: Language, loaded: Language) -> None:
    """The same labels, cfg, heads, probabilities (within 1e-6) and annotations."""
    want_pipe, got_pipe = expected.get_pipe("lstm_tagger"), loaded.get_pipe("lstm_tagger")
    assert got_pipe.labels == want_pipe.labels
    assert got_pipe.cfg == want_pipe.cfg
    assert get_heads(got_pipe.model) == get_heads(want_pipe.model)
    want = want_pipe.model.predict([expected.make_doc(text) for text in TEXTS])
    got = got_pipe.model.predict([loaded.make_doc(text) for text in TEXTS])
    for want_doc, got_doc in zip(want, got):
        numpy.testing.assert_allclose(got_doc, want_doc, rtol=0, atol=1e-6)
    assert [annotations(d) for d in loaded.pipe(TEXTS)] == [
        annotations(d) for d in expected.pipe(TEXTS)
    ]


@pytest.mark.parametrize("morph_mode", MORPH_MODES)
def test_round_trips(trained_joint, morph_mode: str, tmp_path: Path) -> None:
    """to_disk → spacy.load and to_bytes → from_bytes of a fresh pipeline give the same
    labels, heads, UPOS table, probabilities and annotations."""
    nlp, _ = trained_joint(morph_mode)
    assert nlp.get_pipe("lstm_tagger").cfg["morph_by_pos"]["NOUN"] == [
        "Number=Plur",
        "Number=Sing",
    ]
    nlp.to_disk(tmp_path / "pipeline")
    assert_same_pipeline(nlp, spacy.load(tmp_path / "pipeline"))
    assert_same_pipeline(nlp, make_joint_nlp(morph_mode).from_bytes(nlp.to_bytes()))


def test_heads_that_do_not_fit_the_cfg_are_refused(trained_joint, tmp_path: Path) -> None:
    """Weights whose heads differ from what the cfg's labels make are refused on load."""
    nlp, _ = trained_joint("string")
    nlp.to_disk(tmp_path / "pipeline")
    cfg_path = tmp_path / "pipeline" / "lstm_tagger" / "cfg"
    cfg = json.loads(cfg_path.read_text())
    # Same number of outputs, split differently between the heads.
    cfg["labels"]["tag"] = cfg["labels"]["tag"][:-1]
    cfg["labels"]["morph"] = [*cfg["labels"]["morph"], "Number=Dual"]
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"\[E155\]"):
        spacy.load(tmp_path / "pipeline")


def partial_example(nlp: Language, words: List[str], record: Dict) -> Example:
    """Gold UPOS missing on token 1, the tag on token 2, the morph unset on token 3 and
    set to the empty analysis on token 4."""
    pos = list(record["pos"])
    tags = list(record["tags"])
    morphs = ["Number=Sing"] * len(words)
    pos[1], tags[2], morphs[4] = "", "", ""
    gold = Doc(nlp.vocab, words=words, pos=pos, tags=tags, morphs=morphs)
    gold[3].set_morph(None)
    return Example(Doc(nlp.vocab, words=words), gold)


def head_columns(pipe) -> Dict[str, List[slice]]:
    """The output columns of each target's heads (pos and tag first, then morph)."""
    widths = get_heads(pipe.model)
    offsets = numpy.cumsum([0, *widths])
    columns = [slice(a, b) for a, b in zip(offsets[:-1], offsets[1:])]
    return {"pos": columns[:1], "tag": columns[1:2], "morph": columns[2:]}


@pytest.mark.parametrize("morph_mode", MORPH_MODES)
def test_each_head_skips_tokens_missing_its_attribute(demo_records, morph_mode: str) -> None:
    """A token without a gold value for an attribute adds no loss and a zero gradient to
    that attribute's heads only; an empty analysis ("_") is a label, an unset morph is not."""
    nlp = make_joint_nlp(morph_mode)
    nlp.initialize(lambda: joint_examples(nlp, demo_records[:8]))
    pipe = nlp.get_pipe("lstm_tagger")
    record = demo_records[0]
    example = partial_example(nlp, record["words"], record)
    scores = pipe.model.predict([example.predicted])
    loss, d_scores = pipe.get_loss([example], scores)
    missing = {"pos": 1, "tag": 2, "morph": 3}
    for target, columns in head_columns(pipe).items():
        for column in columns:
            grad = d_scores[0][:, column]
            assert not grad[missing[target]].any(), target
            others = [i for i in range(len(grad)) if i != missing[target]]
            assert (numpy.abs(grad[others]).sum(axis=1) > 0).all(), target
    if morph_mode == "string":
        gold = {
            "pos": [t.pos_ for t in example.reference],
            "tag": [t.tag_ for t in example.reference],
            "morph": ["Number=Sing"] * 3 + ["", "_"] + ["Number=Sing"] * (len(record["words"]) - 5),
        }
        columns = head_columns(pipe)
        expected = sum(
            squared_error_loss([scores[0][:, columns[t][0]]], [gold[t]], pipe.labels[t])
            for t in JOINT_TARGETS
        )
        assert loss == pytest.approx(expected, rel=1e-5)


def test_upos_only_docs_train_the_upos_head_only(demo_records) -> None:
    """A doc annotated for UPOS only sends gradient to the UPOS head and nothing to the
    tag and feature heads."""
    nlp = make_joint_nlp("features")
    nlp.initialize(lambda: joint_examples(nlp, demo_records[:8]))
    pipe = nlp.get_pipe("lstm_tagger")
    words, pos = demo_records[0]["words"], demo_records[0]["pos"]
    example = Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, pos=pos))
    _, d_scores = pipe.get_loss([example], pipe.model.predict([example.predicted]))
    columns = head_columns(pipe)
    assert (numpy.abs(d_scores[0][:, columns["pos"][0]]).sum(axis=1) > 0).all()
    for column in columns["tag"] + columns["morph"]:
        assert not d_scores[0][:, column].any()


def test_labels_per_target(demo_records) -> None:
    """Labels are one sorted set per target; `add_label` names its target; morph labels
    are canonical FEATS strings ("_" for none); `initialize(labels=...)` takes label data
    (unseen labels included) and sizes each head."""
    nlp = make_joint_nlp()
    pipe = nlp.get_pipe("lstm_tagger")
    assert pipe.labels == {"pos": (), "tag": (), "morph": ()}
    assert pipe.add_label("VERB", target="pos") == 1
    assert pipe.add_label("Number=Sing|Case=Nom", target="morph") == 1
    assert pipe.add_label("", target="morph") == 1
    assert pipe.add_label("Case=Nom|Number=Sing", target="morph") == 0
    assert pipe.label_data == {"pos": ["VERB"], "tag": [], "morph": ["Case=Nom|Number=Sing", "_"]}
    with pytest.raises(ValueError, match=r"\[E016\] .*add_label\('NN'"):
        pipe.add_label("NN")
    with pytest.raises(ValueError, match=r"\[E012\]"):
        pipe.add_label("NN", target="pos")
    with pytest.raises(ValueError, match=r"\[E013\]"):
        pipe.add_label("Case", target="morph")
    with pytest.raises(ValueError, match=r"\[E017\] .*'lemma'"):
        pipe.add_label("be", target="lemma")
    nlp = make_joint_nlp()
    # Labels unseen in the examples, out of order: kept, sorted, each head sized by them.
    given = {"pos": ["X", "NOUN"], "tag": ["ZZ", "NN", "VB"], "morph": ["Number=Dual", "_"]}
    nlp.config["initialize"]["components"]["lstm_tagger"] = {"labels": given}
    nlp.initialize(lambda: joint_examples(nlp, demo_records[:2]))
    pipe = nlp.get_pipe("lstm_tagger")
    assert pipe.labels == {t: tuple(sorted(given[t])) for t in JOINT_TARGETS}
    assert get_heads(pipe.model) == [2, 3, 2]


@pytest.mark.parametrize(
    "labels",
    [["NN", "VB"], {"pos": ["NOUN"], "tag": ["NN"]}, {"pos": "NOUN", "tag": [], "morph": []}],
    ids=["flat", "missing-target", "not-a-list"],
)
def test_labels_of_the_wrong_shape_are_refused(demo_records, labels) -> None:
    """Label data that is not a list per target is refused, naming the expected shape."""
    nlp = make_joint_nlp()
    examples = joint_examples(nlp, demo_records[:2])
    with pytest.raises(ValueError, match=r"\[E015\] .* a dict with a list of labels for each"):
        nlp.get_pipe("lstm_tagger").initialize(lambda: examples, nlp=nlp, labels=labels)


@pytest.mark.parametrize(
    "config,message",
    [
        ({"target": "lemma"}, r"\[E007\] .*'lemma'.*Valid values: 'tag', 'pos', 'morph'"),
        ({"target": ["pos", "lemma"]}, r"\[E007\] .*'lemma'"),
        ({"target": ["pos", "tag", "pos"]}, r"\[E008\]"),
        ({"target": []}, r"\[E007\] Invalid target \[\]"),
        ({"morph_mode": "bundles"}, r"\[E009\] .*'bundles'"),
        ({"target": ["tag", "morph"], "restrict_morph_by_pos": True}, r"\[E011\]"),
        ({"model": small_model()}, r"\[E010\] .* predicts several heads"),
        (
            {"target": "morph", "morph_mode": "features", "model": small_model()},
            r"\[E010\] .* predicts one head per feature",
        ),
    ],
    ids=["lemma", "lemma-in-list", "duplicate", "empty", "mode", "restrict", "v1", "v1-feats"],
)
def test_bad_settings_are_refused_with_the_fix(config: Dict, message: str) -> None:
    """Bad targets and joint settings are refused when the component is built, naming the fix."""
    with pytest.raises(ValueError, match=message):
        make_joint_nlp(**config)


@pytest.mark.parametrize(
    "target,architecture",
    [("pos", "spacy-lstm-tagger.LSTMTagger.v2"), ("morph", "spacy-lstm-tagger.LSTMTagger.v1")],
)
def test_single_target_with_v2_or_morph(demo_records, target: str, architecture: str) -> None:
    """A single target keeps flat labels and works with the v2 architecture (one head);
    a single "morph" target (v1, whole FEATS strings) writes features. Only the target is
    scored."""
    spacy.util.fix_random_seed(0)
    nlp = make_nlp(target, **{"@architectures": architecture})
    examples = joint_examples(nlp, demo_records[:8])
    train_nlp(nlp, examples, n_iter=40, learn_rate=0.01)
    pipe = nlp.get_pipe("lstm_tagger")
    assert isinstance(pipe.labels, tuple) and pipe.label_data == list(pipe.labels)
    heads = get_heads(pipe.model)
    assert heads == ([len(pipe.labels)] if architecture.endswith("v2") else None)
    scores = nlp.evaluate(examples)
    assert scores[f"{target}_acc"] == 1.0
    accuracies = {key for key in scores if key in ("tag_acc", "pos_acc", "morph_acc")}
    assert accuracies == {f"{target}_acc"}


def test_cfg_saved_before_joint_targets_loads(trained_nlp, tmp_path: Path) -> None:
    """A single-target pipeline saved before joint targets existed (its cfg and config
    without morph_mode, morph_by_pos and restrict_morph_by_pos) loads and tags the same."""
    trained_nlp.to_disk(tmp_path / "pipeline")
    cfg_path = tmp_path / "pipeline" / "lstm_tagger" / "cfg"
    cfg = json.loads(cfg_path.read_text())
    cfg_path.write_text(json.dumps({k: v for k, v in cfg.items() if not k.startswith("morph")}))
    config_path = tmp_path / "pipeline" / "config.cfg"
    lines = config_path.read_text().splitlines()
    new_settings = ("morph_mode", "restrict_morph_by_pos")
    config_path.write_text("\n".join(ln for ln in lines if not ln.startswith(new_settings)))
    loaded = spacy.load(tmp_path / "pipeline")
    docs = [trained_nlp.make_doc(text) for text in TEXTS]
    want = trained_nlp.get_pipe("lstm_tagger").model.predict(docs)
    got = loaded.get_pipe("lstm_tagger").model.predict([loaded.make_doc(t) for t in TEXTS])
    for want_doc, got_doc in zip(want, got):
        numpy.testing.assert_allclose(got_doc, want_doc, rtol=0, atol=1e-6)
    assert [[t.tag_ for t in d] for d in loaded.pipe(TEXTS)] == [
        [t.tag_ for t in d] for d in trained_nlp.pipe(TEXTS)
    ]
    assert loaded.get_pipe("lstm_tagger").labels == trained_nlp.get_pipe("lstm_tagger").labels


def test_joint_architecture_found_without_import(tmp_path: Path) -> None:
    """spaCy finds `LSTMTagger.v2` through the package's entry points, without an import."""
    code = (
        "import sys, spacy\n"
        "arch = spacy.registry.architectures.get('spacy-lstm-tagger.LSTMTagger.v2')\n"
        "print(arch.__module__, arch.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["spacy_lstm_tagger.layers.joint_model", "build_joint_tagger"]


def test_default_model_takes_a_list_of_targets(demo_records) -> None:
    """The factory's default model has a head per target, so a list of targets needs
    no model config; it trains and writes all three attributes."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger", config={"target": JOINT_TARGETS})
    examples = joint_examples(nlp, demo_records[:4])
    train_nlp(nlp, examples, n_iter=2)
    pipe = nlp.get_pipe("lstm_tagger")
    assert get_heads(pipe.model) == [len(pipe.labels[t]) for t in JOINT_TARGETS]
    doc = nlp(Doc(nlp.vocab, words=[t.text for t in examples[0].reference]))
    assert all(t.pos_ and t.tag_ and t.has_morph() for t in doc)


def test_one_head_v2_computes_what_v1_computes(demo_records) -> None:
    """With one target, v2 (the default) and v1 give the same probabilities from the same
    seed, before and after training: the default's change of architecture changes nothing
    for single-target pipelines."""
    probs = {}
    for architecture in ("spacy-lstm-tagger.LSTMTagger.v1", "spacy-lstm-tagger.LSTMTagger.v2"):
        spacy.util.fix_random_seed(0)
        nlp = make_nlp("tag", **{"@architectures": architecture})
        examples = joint_examples(nlp, demo_records[:8])
        train_nlp(nlp, examples, n_iter=5)
        docs = [nlp.make_doc(text) for text in TEXTS]
        probs[architecture] = nlp.get_pipe("lstm_tagger").model.predict(docs)
    for v1_doc, v2_doc in zip(*probs.values()):
        numpy.testing.assert_array_equal(v1_doc, v2_doc)
