"""The embeddings: character ids per form, batching by form, hash tables without
a mixing layer, training and saving."""

from pathlib import Path

import numpy
import pytest
import spacy
from conftest import SMALL_MODEL, char_tok2vec, make_nlp, records_to_examples, train_nlp
from spacy.tokens import Doc

from spacy_lstm_tagger.layers.char_model import (
    build_char_embed,
    build_char_embed_v2,
    encode_forms,
    form_chars,
)
from spacy_lstm_tagger.layers.embed import build_concat_hash_embed
from spacy_lstm_tagger.layers.shim import get_module

CONCAT_HASH_EMBED = {
    "@architectures": "spacy-lstm-tagger.ConcatHashEmbed.v1",
    "width": 8,
    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
    "rows": [500, 100, 200, 100],
}


def test_form_chars_keeps_prefix_and_suffix() -> None:
    """A long form keeps its first and last characters; code points map to their rows."""
    ids = form_chars("internationalization", rows=512, max_chars=10)
    assert ids.tolist() == [1 + ord(c) for c in "interation"]
    assert form_chars("", rows=512, max_chars=10).tolist() == [1]
    # Code points past the table share rows by their value modulo the other 15 rows,
    # never padding (0) or out of range.
    wide = form_chars("日本語😀", rows=16, max_chars=10)
    assert wide.tolist() == [1 + ord(c) % 15 for c in "日本語😀"]
    assert ((wide >= 1) & (wide < 16)).all()


def test_encode_forms_shares_rows_between_tokens_of_one_form() -> None:
    """Tokens of one form share one row of character ids, longest form first."""
    vocab = spacy.blank("en").vocab
    words = [["the", "dog", "the"], [], ["elephants", "dog"]]
    docs = [Doc(vocab, words=w) for w in words]
    chars, lengths, index, keys = encode_forms(docs, {}, rows=512, max_chars=10)
    # Three distinct forms, longest first (packing needs no sorting).
    assert chars.shape == (3, 9) and lengths.tolist() == [9, 3, 3]
    assert index[0] == index[2] and index[1] == index[4]
    decoded = ["".join(chr(c - 1) for c in chars[i, : lengths[i]]) for i in index]
    assert decoded == ["the", "dog", "the", "elephants", "dog"]
    # Each row's key is its form's ORTH, for the inference cache.
    assert [vocab.strings[int(keys[i])] for i in index] == ["the", "dog", "the", "elephants", "dog"]


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"kind": "transformer"}, r"\[E104\] .*'transformer'"),
        ({"kind": "lstm", "width": 15}, r"\[E106\] .* got 15"),
        ({"max_chars": 1}, r"\[E105\] .*max_chars .* at least 2"),
        ({"rows": True}, r"\[E105\] .*rows .* got True"),
    ],
)
def test_bad_settings_are_refused(settings: dict, message: str) -> None:
    """Bad character encoder settings are refused, naming the setting."""
    with pytest.raises(ValueError, match=message):
        build_char_embed(**settings)


@pytest.mark.parametrize("init_scale", [0, -0.1, "0.1", True, None])
def test_bad_init_scale_is_refused(init_scale) -> None:
    """CharEmbed.v2's init_scale must be a number above 0."""
    with pytest.raises(ValueError, match=r"\[E160\] .*init_scale"):
        build_char_embed_v2(init_scale=init_scale)


def test_v2_draws_the_character_table_at_its_scale() -> None:
    """v2's table has the standard deviation it is given, and a zero padding row; v1's
    keeps torch's N(0, 1)."""
    v1 = get_module(build_char_embed()).embed.weight.detach().numpy()
    for scale in (0.1, 0.5):
        table = get_module(build_char_embed_v2(init_scale=scale)).embed.weight.detach().numpy()
        assert abs(table[1:].std() - scale) < 0.05 * scale
        assert not table[0].any()
    assert abs(v1[1:].std() - 1.0) < 0.05 and not v1[0].any()


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_token_vectors_do_not_depend_on_batch_mates(kind: str) -> None:
    """A doc's character-based token vectors do not depend on its batch-mates."""
    nlp = make_nlp(tok2vec=char_tok2vec(kind))
    docs = [nlp.make_doc("Olga ate unbelievably ripe mangoes ."), nlp.make_doc("")]
    tok2vec = nlp.get_pipe("lstm_tagger").model.get_ref("tok2vec")
    tok2vec.initialize(X=docs)
    alone = tok2vec.predict(docs[:1])[0]
    together = tok2vec.predict([nlp.make_doc("Mangoes are ripe ."), *docs])
    assert alone.shape == (6, 48) and together[2].shape == (0, 48)
    numpy.testing.assert_allclose(together[1], alone, rtol=0, atol=1e-6)


def test_concat_hash_embed_width_and_settings() -> None:
    """ConcatHashEmbed gives one table's width per attribute and refuses bad settings."""
    model = build_concat_hash_embed(8, ["NORM", "SHAPE"], [100, 50])
    docs = [Doc(spacy.blank("en").vocab, words=w) for w in (["Hello", "world"], [])]
    model.initialize(X=docs)
    assert [y.shape for y in model.predict(docs)] == [(2, 16), (0, 16)]
    with pytest.raises(ValueError, match=r"\[E117\]"):
        build_concat_hash_embed(8, ["NORM", "SHAPE"], [100])
    with pytest.raises(ValueError, match=r"\[E118\] .*width"):
        build_concat_hash_embed(0, ["NORM"], [100])


@pytest.mark.parametrize(
    "kind,words", [("cnn", SMALL_MODEL["tok2vec"]), ("lstm", CONCAT_HASH_EMBED)]
)
def test_trains_and_round_trips(kind: str, words: dict, demo_records, tmp_path: Path) -> None:
    """With characters, the tagger's gradient reaches the character embeddings, it fits its
    training sentences, and a saved pipeline predicts the same probabilities."""
    nlp = make_nlp(tok2vec=char_tok2vec(kind, words))
    examples = records_to_examples(nlp, demo_records[:40])
    chars = nlp.get_pipe("lstm_tagger").model.get_ref("tok2vec").layers[1]
    nlp.initialize(lambda: examples)
    before = chars.shims[0]._model.embed.weight.detach().clone()
    train_nlp(nlp, examples, n_iter=30, learn_rate=0.01)
    # The tagger's gradient reaches the character embeddings.
    assert not numpy.allclose(before.numpy(), chars.shims[0]._model.embed.weight.detach().numpy())
    gold = [tag for record in demo_records[:40] for tag in record["tags"]]
    docs = nlp.pipe(Doc(nlp.vocab, words=r["words"]) for r in demo_records[:40])
    predicted = [t.tag_ for doc in docs for t in doc]
    assert numpy.mean([p == g for p, g in zip(predicted, gold)]) > 0.9
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    texts = ["The zebra devoured the mango .", ""]
    want = nlp.get_pipe("lstm_tagger").model.predict([nlp.make_doc(t) for t in texts])
    got = loaded.get_pipe("lstm_tagger").model.predict([loaded.make_doc(t) for t in texts])
    for w, g in zip(want, got):
        numpy.testing.assert_allclose(g, w, rtol=0, atol=1e-6)
