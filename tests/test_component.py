"""The `lstm_tagger` component: factory, prediction, training, labels and scoring."""

import importlib
import inspect
import subprocess
import sys
import textwrap
from itertools import cycle, islice
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy
import pytest
import spacy
import tomllib
from conftest import (
    make_nlp,
    predicted_labels,
    records_to_examples,
    small_model,
    squared_error_loss,
    train_nlp,
)
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from torch import nn

from spacy_lstm_tagger.layers.tagger_model import get_torch_module
from spacy_lstm_tagger.pipeline.tagger import DEFAULT_MODEL

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
    """spaCy finds the factory and the architecture through the entry points, without an import
    of the package."""
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


@pytest.mark.parametrize(
    "group,registry_name",
    [
        ("spacy_factories", "factories"),
        ("spacy_architectures", "architectures"),
        ("spacy_callbacks", "callbacks"),
        ("spacy_scorers", "scorers"),
    ],
)
def test_every_registered_name_has_its_entry_point(group: str, registry_name: str) -> None:
    """Each name the package registers has an entry point in pyproject.toml that names
    the very function registered, so `spacy train` and `spacy package` find it without
    `--code`; a decorator without its entry point fails here."""
    pyproject = Path(__file__).parent.parent / "pyproject.toml"
    points = tomllib.loads(pyproject.read_text())["project"]["entry-points"][group]
    table = getattr(registry, registry_name)
    own = {name for name in table.get_all() if name.startswith(("spacy-lstm-tagger.", "lstm_"))}
    assert own and own == set(points)
    for name, target in points.items():
        module, attr = target.split(":")
        assert table.get(name) is getattr(importlib.import_module(module), attr)


def test_use_before_initialize_is_e109() -> None:
    """Tagging before `initialize` raises spaCy's E109, not an error from inside torch."""
    nlp = make_nlp()
    with pytest.raises(ValueError, match="E109"):
        nlp("The dog ate .")
    with pytest.raises(ValueError, match="E109"):
        nlp.get_pipe("lstm_tagger").predict([nlp.make_doc("")])


def test_invalid_target_refused_with_valid_values() -> None:
    """An unknown target is refused, naming the valid ones."""
    with pytest.raises(ValueError, match=r"\[E007\] .*'xpos'.*Valid values: 'tag', 'pos'"):
        spacy.blank("en").add_pipe("lstm_tagger", config={"target": "xpos"})


def test_invalid_rnn_type_refused_with_valid_values() -> None:
    """An unknown rnn_type is refused, naming the registered encoders."""
    with pytest.raises(ValueError, match=r"\[E113\] .*'rnn'.*Choose one of: gru, lstm"):
        make_nlp(rnn_type="rnn")


def test_fits_its_training_sentences(trained_nlp, demo_records) -> None:
    """The shared small tagger tags its 40 training sentences exactly as the gold:
    the known tag sequences other tests expect come from here."""
    docs = trained_nlp.pipe(Doc(trained_nlp.vocab, words=r["words"]) for r in demo_records[:40])
    assert [[t.tag_ for t in doc] for doc in docs] == [r["tags"] for r in demo_records[:40]]


def test_empty_one_token_and_whitespace_docs(trained_nlp) -> None:
    """An empty doc gets no tokens; a known word alone gets its tag; whitespace tokens
    get the label of highest probability, like any token, and leave the words around
    them their tags."""
    assert len(trained_nlp("")) == 0
    assert [t.tag_ for t in trained_nlp("dog")] == ["NN"]
    spaced = trained_nlp("The  dog \n ate .   ")
    assert [t.is_space for t in spaced] == [False, True, False, True, False, False, True]
    assert [t.tag_ for t in spaced if not t.is_space] == ["DT", "NN", "VBD", "."]
    assert [t.tag_ for t in spaced] == predicted_labels(trained_nlp, [spaced.text])[0]
    only_space = trained_nlp("   ")
    assert len(only_space) == 1
    assert [t.tag_ for t in only_space] == predicted_labels(trained_nlp, [only_space])[0]


def test_long_doc(trained_nlp, demo_records) -> None:
    """A 5000-token doc (the demo sentences run together) is tagged as well as short
    ones: at least 85% of its tokens get their gold tag (most sentences are unseen)."""
    words = list(islice(cycle(w for record in demo_records for w in record["words"]), 5000))
    gold = list(islice(cycle(t for record in demo_records for t in record["tags"]), 5000))
    doc = trained_nlp(Doc(trained_nlp.vocab, words=words))
    assert len(doc) == 5000
    assert numpy.mean([token.tag_ == tag for token, tag in zip(doc, gold)]) >= 0.85


def test_batch_mixing_empty_and_nonempty_docs(trained_nlp, demo_records) -> None:
    """Empty docs in a batch change nothing: the other docs get the tags they get
    alone, which on training sentences are the gold tags."""
    first, second = (" ".join(r["words"]) for r in demo_records[:2])
    texts = ["", first, "", second, ""]
    docs = list(trained_nlp.pipe(texts, batch_size=len(texts)))
    assert [len(doc) for doc in docs] == [len(trained_nlp.make_doc(t)) for t in texts]
    assert [[t.tag_ for t in doc] for doc in docs] == [
        [t.tag_ for t in trained_nlp(text)] for text in texts
    ]
    assert [[t.tag_ for t in doc] for doc in docs] == [
        [],
        demo_records[0]["tags"],
        [],
        demo_records[1]["tags"],
        [],
    ]
    assert [len(doc) for doc in trained_nlp.pipe(["", ""])] == [0, 0]


def test_update_with_empty_docs_in_batch(demo_records) -> None:
    """Empty docs add nothing to the loss: a batch with them has the loss of its
    other docs, computed by hand; a batch of empty docs has loss 0."""
    nlp, examples = initialized_nlp(demo_records)
    pipe = nlp.get_pipe("lstm_tagger")
    # The small model has no dropout: the training pass gives predict's probabilities.
    probs = pipe.model.predict([eg.predicted for eg in examples[:3]])
    gold = [[t.tag_ for t in eg.reference] for eg in examples[:3]]
    expected = squared_error_loss(probs, gold, pipe.labels)
    empty = Example(Doc(nlp.vocab, words=[]), Doc(nlp.vocab, words=[]))
    losses = nlp.update([empty, *examples[:3], empty])
    assert losses["lstm_tagger"] == pytest.approx(expected, rel=1e-5)
    assert nlp.update([empty, empty])["lstm_tagger"] == 0.0


def test_unseen_words_get_a_known_label(trained_nlp) -> None:
    """Unseen words get the label of highest probability and probabilities of their
    own (hashed features: no closed vocabulary with one unknown-word row), and the
    seen words around them keep their tags."""
    doc = trained_nlp("Zorblax quuxed the flimbering wugs beside Xanthippe .")
    assert [t.tag_ for t in doc] == predicted_labels(trained_nlp, [doc.text])[0]
    assert (doc[2].tag_, doc[7].tag_) == ("DT", ".")
    model = trained_nlp.get_pipe("lstm_tagger").model
    one, other = model.predict([trained_nlp.make_doc(f"The {w} ate .") for w in ("zorb", "quux")])
    assert float(numpy.abs(one[1] - other[1]).max()) > 1e-3


def test_missing_gold_tags_are_skipped(demo_records) -> None:
    """Tokens without a gold tag add nothing to the loss (computed by hand over the
    annotated tokens) and get a zero gradient; annotated tokens get a gradient."""
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
    gold = [[t.tag_ for t in eg.reference] for eg in examples]
    assert loss == pytest.approx(squared_error_loss(scores, gold, pipe.labels), rel=1e-5)
    for d_doc in d_scores:
        assert not d_doc[0::2].any()
        assert numpy.abs(d_doc[1::2]).sum(axis=1).min() > 0


def test_get_loss_returns_float_and_gradient(trained_nlp, demo_records) -> None:
    """`get_loss` returns a Python float, spaCy's loss (computed by hand), and the
    gradient of the cross-entropy."""
    pipe = trained_nlp.get_pipe("lstm_tagger")
    examples = records_to_examples(trained_nlp, demo_records[:4])
    scores = pipe.model.predict([eg.predicted for eg in examples])
    loss, d_scores = pipe.get_loss(examples, scores)
    assert isinstance(loss, float)
    gold = [record["tags"] for record in demo_records[:4]]
    assert loss == pytest.approx(squared_error_loss(scores, gold, pipe.labels), rel=1e-5)
    assert [d.shape for d in d_scores] == [s.shape for s in scores]
    # Unnormalized cross-entropy: the gradient is probabilities minus one-hot truth.
    truth = numpy.zeros_like(scores[0])
    truth[numpy.arange(len(truth)), [pipe.labels.index(t) for t in demo_records[0]["tags"]]] = 1
    numpy.testing.assert_allclose(d_scores[0], scores[0] - truth, atol=1e-6)


def test_predict_has_no_side_effects(trained_nlp) -> None:
    """`predict` returns one label id per token and leaves the docs unchanged."""
    docs = [trained_nlp.make_doc(text) for text in ("The dog ate the apple .", "", "John")]
    before = [doc.to_bytes() for doc in docs]
    label_ids = trained_nlp.get_pipe("lstm_tagger").predict(docs)
    assert [len(ids) for ids in label_ids] == [6, 0, 1]
    assert [doc.to_bytes() for doc in docs] == before
    assert not any(token.tag_ for doc in docs for token in doc)


@pytest.mark.parametrize("name", list(OVERFIT_SETTINGS))
def test_overfits_a_handful_of_sentences(overfit_nlp, name: str) -> None:
    """Each target, rnn type and direction reaches the torch module and fits 8 sentences exactly."""
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
    """The target attribute gets the gold values of a sentence the model has fit, the
    other attribute stays unset, and only the target is scored."""
    nlp, examples = overfit_nlp(name)
    reference = examples[0].reference
    doc = nlp(Doc(nlp.vocab, words=[t.text for t in reference]))
    assert [getattr(t, f"{attr}_") for t in doc] == [getattr(t, f"{attr}_") for t in reference]
    assert [getattr(t, f"{other}_") for t in doc] == [""] * len(doc)
    scores = nlp.evaluate(examples)
    assert scores[f"{attr}_acc"] == 1.0
    assert scores.get(f"{other}_acc") is None


@pytest.mark.parametrize("overwrite", [False, True])
def test_overwrite(demo_records, overwrite: bool) -> None:
    """A preset tag is kept unless `overwrite`; every other token (and the preset one
    with `overwrite`) gets the label of highest probability."""
    nlp, _ = initialized_nlp(demo_records, overwrite=overwrite)
    predicted = predicted_labels(nlp, ["The dog ate the apple ."])[0]
    doc = nlp.make_doc("The dog ate the apple .")
    doc[0].tag_ = "PRESET"
    doc = nlp(doc)
    assert doc[0].tag_ == (predicted[0] if overwrite else "PRESET")
    assert [token.tag_ for token in doc[1:]] == predicted[1:]


def test_labels_sorted_and_fixed_after_initialize(demo_records) -> None:
    """Labels are kept sorted, `add_label` reports whether it added one, and the label set is
    fixed once the model is built."""
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
    """The pos target refuses a label that is not a Universal POS tag."""
    with pytest.raises(ValueError, match=r"\[E012\]"):
        make_nlp("pos").get_pipe("lstm_tagger").add_label("NN")


def test_initialize_with_labels_from_label_data(trained_nlp, demo_records) -> None:
    """`initialize` takes labels given in [initialize] (unseen in the examples, out of order):
    they are kept, sorted, and size the output layer."""
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
    # Output column i is label i of the sorted labels, the unseen ones included.
    doc = nlp("The dog ate the apple .")
    assert [token.tag_ for token in doc] == predicted_labels(nlp, [doc.text])[0]


@pytest.mark.parametrize(
    "name", ["spacy-lstm-tagger.LSTMTagger.v1", "spacy-lstm-tagger.LSTMTagger.v2"]
)
def test_builder_defaults_equal_the_factory_default(name: str) -> None:
    """A config that leaves out an argument of either builder gets what the factory's
    default model sets."""
    defaults = {
        key: param.default
        for key, param in inspect.signature(registry.architectures.get(name)).parameters.items()
        if param.default is not inspect.Parameter.empty
    }
    expected = {k: v for k, v in DEFAULT_MODEL.items() if k in defaults and k != "tok2vec"}
    assert expected and {k: defaults[k] for k in expected} == expected
