"""The `lstm_tagger` component: factory, prediction, training, labels and scoring."""

import subprocess
import sys
import textwrap
from itertools import cycle, islice
from typing import Callable, Dict, List, Tuple

import numpy
import pytest
import spacy
from conftest import make_nlp, records_to_examples, small_model, train_nlp
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from torch import nn

from spacy_lstm_tagger import build_lstm_tagger
from spacy_lstm_tagger.layers.tagger_model import get_torch_module

# Settings the overfitting test trains with: both targets, both rnn types, one direction.
OVERFIT_SETTINGS: Dict[str, Tuple[str, Dict]] = {
    "tag-lstm": ("tag", {"rnn_type": "lstm"}),
    "pos-gru": ("pos", {"rnn_type": "gru"}),
    "tag-lstm-forward-only": ("tag", {"bidirectional": False}),
}


@pytest.fixture(scope="module")
def overfit_nlp(demo_records) -> Callable[[str], Tuple[Language, List[Example]]]:
    """Get a pipeline trained to overfit 8 demo sentences, and those sentences, by
    the name of an `OVERFIT_SETTINGS` entry; each is trained once per module."""
    cache: Dict[str, Tuple[Language, List[Example]]] = {}

    def get(name: str) -> Tuple[Language, List[Example]]:
        if name not in cache:
            target, overrides = OVERFIT_SETTINGS[name]
            spacy.util.fix_random_seed(0)
            nlp = make_nlp(target, **overrides)
            examples = records_to_examples(nlp, demo_records[:8])
            cache[name] = (train_nlp(nlp, examples, n_iter=30, learn_rate=0.01), examples)
        return cache[name]

    return get


def initialized_nlp(demo_records: List[Dict], **config) -> Tuple[Language, List[Example]]:
    """An untrained `lstm_tagger` initialized on 8 demo sentences, and those sentences."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger", config={"model": small_model(), **config})
    examples = records_to_examples(nlp, demo_records[:8])
    nlp.initialize(lambda: examples)
    return nlp, examples


def test_factory_and_architecture_found_without_import(tmp_path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import spacy
        assert "spacy_lstm_tagger" not in sys.modules
        nlp = spacy.blank("en")
        pipe = nlp.add_pipe("lstm_tagger")
        arch = spacy.registry.architectures.get("spacy-lstm-tagger.LSTMTagger.v1")
        print(type(pipe).__name__, arch.__module__, arch.__name__)
        """
    )
    # cwd outside the repository: the package must come from its entry points.
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "LSTMTagger",
        "spacy_lstm_tagger.layers.tagger_model",
        "build_lstm_tagger",
    ]


def test_architecture_resolves() -> None:
    assert spacy.registry.architectures.get("spacy-lstm-tagger.LSTMTagger.v1") is build_lstm_tagger


def test_use_before_initialize_is_e109() -> None:
    nlp = make_nlp()
    with pytest.raises(ValueError, match="E109"):
        nlp("The dog ate .")
    with pytest.raises(ValueError, match="E109"):
        nlp.get_pipe("lstm_tagger").predict([nlp.make_doc("")])


def test_invalid_target_refused_with_valid_values() -> None:
    with pytest.raises(ValueError, match=r"'xpos'.*Valid values: 'tag', 'pos'"):
        spacy.blank("en").add_pipe("lstm_tagger", config={"target": "xpos"})


def test_invalid_rnn_type_refused_with_valid_values() -> None:
    with pytest.raises(ValueError, match=r"'rnn'.*Choose one of: gru, lstm"):
        make_nlp(rnn_type="rnn")


def test_empty_one_token_and_whitespace_docs(trained_nlp) -> None:
    labels = trained_nlp.get_pipe("lstm_tagger").labels
    assert len(trained_nlp("")) == 0
    one = trained_nlp("dog")
    assert len(one) == 1 and one[0].tag_ in labels
    spaced = trained_nlp("The  dog \n ate .   ")
    assert any(token.is_space for token in spaced)
    assert all(token.tag_ in labels for token in spaced)
    only_space = trained_nlp("   ")
    assert len(only_space) == 1 and only_space[0].tag_ in labels


def test_long_doc(trained_nlp, demo_records) -> None:
    words = list(islice(cycle(w for record in demo_records for w in record["words"]), 5000))
    doc = trained_nlp(Doc(trained_nlp.vocab, words=words))
    labels = trained_nlp.get_pipe("lstm_tagger").labels
    assert len(doc) == 5000 and all(token.tag_ in labels for token in doc)


def test_batch_mixing_empty_and_nonempty_docs(trained_nlp) -> None:
    texts = ["", "The dog ate the apple .", "", "John laughed", ""]
    docs = list(trained_nlp.pipe(texts, batch_size=len(texts)))
    assert [len(doc) for doc in docs] == [len(trained_nlp.make_doc(t)) for t in texts]
    assert [[t.tag_ for t in doc] for doc in docs] == [
        [t.tag_ for t in trained_nlp(text)] for text in texts
    ]
    assert all(token.tag_ for doc in docs for token in doc)
    assert [len(doc) for doc in trained_nlp.pipe(["", ""])] == [0, 0]


def test_update_with_empty_docs_in_batch(demo_records) -> None:
    nlp, examples = initialized_nlp(demo_records)
    empty = Example(Doc(nlp.vocab, words=[]), Doc(nlp.vocab, words=[]))
    losses = nlp.update([empty, *examples[:3], empty])
    assert numpy.isfinite(losses["lstm_tagger"]) and losses["lstm_tagger"] > 0
    assert nlp.update([empty, empty])["lstm_tagger"] == 0.0


def test_unseen_words_get_a_known_label(trained_nlp) -> None:
    doc = trained_nlp("Zorblax quuxed the flimbering wugs beside Xanthippe .")
    labels = trained_nlp.get_pipe("lstm_tagger").labels
    assert all(token.tag_ in labels for token in doc)


def test_missing_gold_tags_are_skipped(demo_records) -> None:
    nlp = make_nlp()
    examples = []
    for record in demo_records[:8]:
        # Every other token has no gold tag.
        tags = [tag if i % 2 else "" for i, tag in enumerate(record["tags"])]
        gold = Doc(nlp.vocab, words=record["words"], tags=tags)
        examples.append(Example(Doc(nlp.vocab, words=record["words"]), gold))
    train_nlp(nlp, examples, n_iter=3)
    pipe = nlp.get_pipe("lstm_tagger")
    scores = pipe.model.predict([eg.predicted for eg in examples])
    loss, d_scores = pipe.get_loss(examples, scores)
    assert numpy.isfinite(loss) and loss > 0
    for d_doc in d_scores:
        assert not d_doc[0::2].any()
        assert numpy.abs(d_doc[1::2]).sum(axis=1).min() > 0


def test_get_loss_returns_float_and_gradient(trained_nlp, demo_records) -> None:
    pipe = trained_nlp.get_pipe("lstm_tagger")
    examples = records_to_examples(trained_nlp, demo_records[:4])
    scores = pipe.model.predict([eg.predicted for eg in examples])
    loss, d_scores = pipe.get_loss(examples, scores)
    assert isinstance(loss, float) and loss > 0
    assert [d.shape for d in d_scores] == [s.shape for s in scores]
    # Unnormalized cross-entropy: the gradient is probabilities minus one-hot truth.
    truth = numpy.zeros_like(scores[0])
    truth[numpy.arange(len(truth)), [pipe.labels.index(t) for t in demo_records[0]["tags"]]] = 1
    numpy.testing.assert_allclose(d_scores[0], scores[0] - truth, atol=1e-6)


def test_predict_has_no_side_effects(trained_nlp) -> None:
    docs = [trained_nlp.make_doc(text) for text in ("The dog ate the apple .", "", "John")]
    before = [doc.to_bytes() for doc in docs]
    label_ids = trained_nlp.get_pipe("lstm_tagger").predict(docs)
    assert [len(ids) for ids in label_ids] == [6, 0, 1]
    assert [doc.to_bytes() for doc in docs] == before
    assert not any(token.tag_ for doc in docs for token in doc)


@pytest.mark.parametrize("name", list(OVERFIT_SETTINGS))
def test_overfits_a_handful_of_sentences(overfit_nlp, name: str) -> None:
    nlp, examples = overfit_nlp(name)
    target, overrides = OVERFIT_SETTINGS[name]
    module = get_torch_module(nlp.get_pipe("lstm_tagger").model)
    assert isinstance(module.encoder.rnn, nn.GRU if "gru" in name else nn.LSTM)
    assert module.encoder.rnn.bidirectional is overrides.get("bidirectional", True)
    attr = f"{target}_"
    docs = nlp.pipe(Doc(nlp.vocab, words=[t.text for t in eg.reference]) for eg in examples)
    for doc, example in zip(docs, examples):
        assert [getattr(t, attr) for t in doc] == [getattr(t, attr) for t in example.reference]


@pytest.mark.parametrize("name,attr,other", [("tag-lstm", "tag", "pos"), ("pos-gru", "pos", "tag")])
def test_target_sets_its_attribute_and_score(overfit_nlp, name: str, attr: str, other: str) -> None:
    nlp, examples = overfit_nlp(name)
    doc = nlp("The dog ate the apple .")
    assert all(getattr(t, f"{attr}_") for t in doc)
    assert not any(getattr(t, f"{other}_") for t in doc)
    scores = nlp.evaluate(examples)
    assert scores[f"{attr}_acc"] == 1.0
    assert scores.get(f"{other}_acc") is None


@pytest.mark.parametrize("overwrite", [False, True])
def test_overwrite(demo_records, overwrite: bool) -> None:
    nlp, _ = initialized_nlp(demo_records, overwrite=overwrite)
    labels = nlp.get_pipe("lstm_tagger").labels
    doc = nlp.make_doc("The dog ate the apple .")
    doc[0].tag_ = "PRESET"
    doc = nlp(doc)
    assert (doc[0].tag_ in labels) is overwrite
    assert (doc[0].tag_ == "PRESET") is not overwrite
    assert all(token.tag_ in labels for token in doc[1:])


def test_labels_sorted_and_fixed_after_initialize(demo_records) -> None:
    nlp = make_nlp()
    pipe = nlp.get_pipe("lstm_tagger")
    assert [pipe.add_label("VBZ"), pipe.add_label("DT"), pipe.add_label("VBZ")] == [1, 1, 0]
    assert pipe.labels == ("DT", "VBZ")
    nlp, _ = initialized_nlp(demo_records)
    pipe = nlp.get_pipe("lstm_tagger")
    gold = {tag for record in demo_records[:8] for tag in record["tags"]}
    assert pipe.labels == tuple(sorted(gold))
    with pytest.raises(ValueError, match="E922"):
        pipe.add_label("NEWTAG")


def test_pos_target_refuses_non_upos_label() -> None:
    with pytest.raises(ValueError, match="not a Universal POS tag"):
        make_nlp("pos").get_pipe("lstm_tagger").add_label("NN")


def test_initialize_with_labels_from_label_data(trained_nlp, demo_records) -> None:
    label_data = trained_nlp.get_pipe("lstm_tagger").label_data
    assert label_data == sorted(label_data) and "DT" in label_data
    nlp = make_nlp()
    # Labels unseen in the examples, reversed: they are kept, sorted.
    labels = [*reversed(label_data), "ZZ-UNSEEN"]
    nlp.config["initialize"]["components"]["lstm_tagger"] = {"labels": labels}
    examples = records_to_examples(nlp, demo_records[:2])
    nlp.initialize(lambda: examples)
    pipe = nlp.get_pipe("lstm_tagger")
    assert pipe.labels == tuple(sorted(labels))
    assert pipe.model.get_dim("nO") == len(labels)
    assert all(token.tag_ in labels for token in nlp("The dog ate the apple ."))
