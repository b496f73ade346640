"""Static vectors in the word embedding: read from the vocab, fixed, zeros for a word
without a vector, saved with the pipeline, and refused when missing or of another width."""

import pickle
from pathlib import Path

import numpy
import pytest
import spacy
from conftest import (
    NO_VECTOR_WORDS,
    VECTORS_WIDTH,
    add_vectors,
    make_nlp,
    predicted_labels,
    records_to_examples,
    train_nlp,
    vectors_tok2vec,
)
from spacy.tokens import Doc
from spacy.vectors import Vectors

from spacy_lstm_tagger import build_static_vectors
from spacy_lstm_tagger.layers.shim import clear_caches, torch_modules
from spacy_lstm_tagger.layers.static_vectors import NAME

TEXTS = ["The dog ate the apple .", "Sarah saw a banana near the river ."]


def probs(nlp, texts=TEXTS):
    """The component's probabilities for the texts."""
    return nlp.get_pipe("lstm_tagger").model.predict([nlp.make_doc(text) for text in texts])


def assert_same_probs(a, b) -> None:
    for x, y in zip(a, b):
        numpy.testing.assert_array_equal(numpy.asarray(x), numpy.asarray(y))


def vectors_layer(nlp):
    """The component's static vectors layer."""
    model = nlp.get_pipe("lstm_tagger").model
    return next(node for node in model.walk() if node.name == NAME)


def test_vectors_widen_the_tok2vec(trained_vectors_nlp) -> None:
    """The vectors sit beside the hash tables (4 x 8) and the characters (16), as they are."""
    tok2vec = trained_vectors_nlp.get_pipe("lstm_tagger").model.get_ref("tok2vec")
    assert tok2vec.get_dim("nO") == 4 * 8 + VECTORS_WIDTH + 16
    layer = vectors_layer(trained_vectors_nlp)
    assert layer.get_dim("nV") == VECTORS_WIDTH and layer.param_names == ()


def test_lookup_reads_the_table_and_gives_zeros_without_a_vector() -> None:
    """Each token gets its row of the table by the chosen attribute; a token whose key
    has no row gets zeros, with or without a projection."""
    nlp = spacy.blank("en")
    nlp.vocab.set_vector("dog", numpy.arange(4, dtype="f") + 1)
    nlp.vocab.set_vector("Dog", numpy.full(4, 9.0, dtype="f"))
    doc = Doc(nlp.vocab, words=["Dog", "dog", "zebra"])
    for key_attr, first in (("ORTH", [9.0] * 4), ("LOWER", [1.0, 2.0, 3.0, 4.0])):
        layer = build_static_vectors(key_attr=key_attr)
        layer.initialize(X=[doc])
        (out,) = layer.predict([doc])
        assert out.tolist() == [first, [1.0, 2.0, 3.0, 4.0], [0.0] * 4]
    projected = build_static_vectors(width=3)
    projected.initialize(X=[doc])
    (out,) = projected.predict([doc])
    assert out.shape == (3, 3) and numpy.abs(out[:2]).sum() > 0
    assert out[2].tolist() == [0.0, 0.0, 0.0]


def test_changing_one_vector_changes_that_words_output(trained_vectors_nlp) -> None:
    """The vectors are really read: a new vector for "dog" changes the tagger's output for
    a sentence with "dog" and not for one without it; the old vector restores it."""
    nlp = trained_vectors_nlp
    texts = ["The dog ate the apple .", "John was laughing quietly ."]
    before = probs(nlp, texts)
    old = nlp.vocab.get_vector("dog").copy()
    try:
        nlp.vocab.set_vector("dog", old + 5.0)
        after = probs(nlp, texts)
    finally:
        nlp.vocab.set_vector("dog", old)
    assert numpy.abs(numpy.asarray(after[0]) - numpy.asarray(before[0])).max() > 1e-3
    numpy.testing.assert_array_equal(after[1], before[1])
    assert_same_probs(probs(nlp, texts), before)


def test_training_leaves_the_vectors_unchanged(demo_records) -> None:
    """The table is the same, value for value, after training; the projection is trained."""
    nlp = make_nlp("tag", tok2vec=vectors_tok2vec(vectors_width=4, vectors_dropout=0.2))
    add_vectors(nlp.vocab, [w for r in demo_records[:20] for w in r["words"]])
    table = nlp.vocab.vectors.data.copy()
    examples = records_to_examples(nlp, demo_records[:20])
    nlp.initialize(lambda: examples)
    W = vectors_layer(nlp).get_param("W").copy()
    train_nlp(nlp, examples, n_iter=5, drop=0.3)
    numpy.testing.assert_array_equal(nlp.vocab.vectors.data, table)
    assert numpy.abs(vectors_layer(nlp).get_param("W") - W).max() > 0


def test_round_trips_keep_vectors_and_probabilities(trained_vectors_nlp, tmp_path: Path) -> None:
    """to_disk/spacy.load, to_bytes/from_bytes and pickle give the same probabilities,
    and the loaded pipeline carries the vectors table."""
    nlp = trained_vectors_nlp
    # The loaded copies start with empty form caches. A form vector cached by an earlier
    # test's batch can differ from this batch's in the last bit (batched float sums),
    # so the original starts empty too: the same computation, then exact equality.
    for module in torch_modules(nlp.get_pipe("lstm_tagger").model):
        clear_caches(module)
    expected = probs(nlp)
    nlp.to_disk(tmp_path / "pipeline")
    from_disk = spacy.load(tmp_path / "pipeline")
    blank = spacy.util.load_model_from_config(nlp.config, auto_fill=True)
    from_bytes = blank.from_bytes(nlp.to_bytes())
    copy = pickle.loads(pickle.dumps(nlp))
    for loaded in (from_disk, from_bytes, copy):
        numpy.testing.assert_array_equal(loaded.vocab.vectors.data, nlp.vocab.vectors.data)
        assert_same_probs(probs(loaded), expected)


def test_tags_come_from_context_for_words_without_vectors(trained_vectors_nlp) -> None:
    """Words left out of the table (zero vectors) are still tagged from the rest."""
    nlp = trained_vectors_nlp
    assert not any(nlp.vocab.has_vector(word) for word in NO_VECTOR_WORDS)
    assert predicted_labels(nlp, ["Sarah ate this young singer ."]) == [
        ["NNP", "VBD", "DT", "JJ", "NN", "."]
    ]


def test_an_empty_table_stops_initialize(demo_records) -> None:
    """include_static_vectors with no vectors loaded names [initialize] vectors."""
    nlp = make_nlp("tag", tok2vec=vectors_tok2vec())
    examples = records_to_examples(nlp, demo_records[:5])
    with pytest.raises(ValueError, match=r"\[E121\]"):
        nlp.initialize(lambda: examples)


def test_a_table_of_another_width_is_refused(trained_vectors_nlp, tmp_path: Path) -> None:
    """Loading the component beside a vectors table of another width, or swapping the
    table after loading, is refused with a message that gives both widths."""
    trained_vectors_nlp.to_disk(tmp_path / "pipeline")
    other = spacy.blank("en")
    add_vectors(other.vocab, ["the", "dog"], width=VECTORS_WIDTH + 2)
    settings = trained_vectors_nlp.config["components"]["lstm_tagger"]
    pipe = other.add_pipe(
        "lstm_tagger", config={k: v for k, v in settings.items() if k != "factory"}
    )
    message = rf"\[E156\] .* {VECTORS_WIDTH} wide.*table is {VECTORS_WIDTH + 2} wide"
    with pytest.raises(ValueError, match=message):
        pipe.from_disk(tmp_path / "pipeline" / "lstm_tagger", exclude=["vocab"])
    loaded = spacy.load(tmp_path / "pipeline")
    loaded.vocab.vectors = Vectors(shape=(3, VECTORS_WIDTH + 2))
    with pytest.raises(ValueError, match=message):
        loaded("The dog ate .")


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"width": 0}, r"\[E119\] .*width = 0"),
        ({"dropout": 1.0}, r"\[E119\] .*dropout = 1.0"),
        ({"key_attr": "SHAPE"}, r"\[E120\] .*key_attr = 'SHAPE'"),
    ],
)
def test_bad_vectors_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_static_vectors(**settings)
