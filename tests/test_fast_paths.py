"""The inference fast paths (flat equal-length groups, the character cache) give the
reference path's output; bfloat16 inference is opt-in and guarded."""

import contextlib
from typing import List

import numpy
import pytest
import spacy
import torch
from conftest import DEFAULT_TRAIN_DROPOUT, records_to_examples
from spacy.tokens import Doc
from thinc.api import Config, set_dropout_rate

from spacy_lstm_tagger import reference_paths, set_inference_precision
from spacy_lstm_tagger.layers.char_module import CharEncoder
from spacy_lstm_tagger.layers.shim import get_module, torch_modules
from spacy_lstm_tagger.layers.tagger_converters import uses_flat_path
from spacy_lstm_tagger.layers.tagger_model import get_torch_module
from spacy_lstm_tagger.layers.torch_module import RecurrentTagger
from spacy_lstm_tagger.pipeline import precision

# Docs of 1 to 5,000 tokens, with repeated lengths (groups of several docs).
LENGTHS = [5000, 1, 2, 3, 3, 17, 17, 17, 1, 64, 2]


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, where grouping by length is used (`equal_length_runs_pay`)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_grouping_by_length_where_it_pays(trained_default_nlp) -> None:
    """Grouping runs at one thread, or in bfloat16; not at two threads in float32,
    nor with the fast paths off."""
    wrapper = trained_default_nlp.get_pipe("lstm_tagger").model.get_ref("output_layer").layers[0]
    module = get_module(wrapper)
    assert uses_flat_path(wrapper)
    torch.set_num_threads(2)
    assert not uses_flat_path(wrapper)
    module.inference_dtype = torch.bfloat16
    try:
        assert uses_flat_path(wrapper)
        with reference_paths():
            assert not uses_flat_path(wrapper)
    finally:
        module.inference_dtype = None


def padded_and_flat(lengths: List[int], width: int, seed: int = 0):
    """The same random token vectors padded (in batch order) and flat (longest first)."""
    generator = torch.Generator().manual_seed(seed)
    docs = [torch.randn(n, width, generator=generator) for n in lengths]
    padded = torch.zeros(len(docs), max(lengths), width)
    for i, doc in enumerate(docs):
        padded[i, : len(doc)] = doc
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    flat = torch.cat([docs[i] for i in order])
    return padded, flat, order


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_flat_path_equals_packed_path(rnn_type: str, depth: int, bidirectional: bool) -> None:
    """The flat path gives each token the packed path's probabilities within 1e-5,
    for docs of 1 to 5,000 tokens."""
    torch.manual_seed(0)
    module = RecurrentTagger(rnn_type, hidden_width=16, depth=depth, bidirectional=bidirectional)
    module.build(n_inputs=8, n_labels=5)
    module.eval()
    padded, flat, order = padded_and_flat(LENGTHS, width=8)
    with torch.no_grad():
        reference = torch.softmax(module(padded, torch.tensor(LENGTHS)), dim=-1)
        sorted_lengths = torch.tensor([LENGTHS[i] for i in order])
        fast = torch.softmax(module(flat, sorted_lengths, flat=True), dim=-1)
    expected = torch.cat([reference[i, : LENGTHS[i]] for i in order])
    assert fast.shape == expected.shape
    assert float((fast - expected).abs().max()) < 1e-5


def test_character_fast_path_equals_packed_path() -> None:
    """Forms grouped by length give the packed BiLSTM's vectors within 1e-6."""
    torch.manual_seed(0)
    encoder = CharEncoder("lstm", rows=64, char_width=8, width=16).eval()
    lengths = torch.tensor([20, 9, 9, 5, 3, 3, 3, 1])
    chars = torch.randint(1, 64, (len(lengths), 20))
    chars[torch.arange(20) >= lengths[:, None]] = 0
    with torch.no_grad():
        fast = encoder.encode(chars, lengths)
        with reference_paths():
            reference = encoder.encode(chars, lengths)
    assert float((fast - reference).abs().max()) < 1e-6


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_flat_path_trains_as_packed_path(rnn_type: str) -> None:
    """In training (dropout off, so both passes are deterministic) the flat path gives
    the packed path's scores and the same gradients, for the inputs and every weight."""
    torch.manual_seed(0)
    module = RecurrentTagger(rnn_type, hidden_width=16, depth=2, dropout=0.0, word_dropout=0.0)
    module.build(n_inputs=8, n_labels=5)
    module.train()
    padded, flat, order = padded_and_flat(LENGTHS, width=8)
    target = torch.randn(sum(LENGTHS), 5)  # a fixed random gradient, in flat order
    padded.requires_grad_()
    scores = module(padded, torch.tensor(LENGTHS))
    packed_scores = torch.cat([scores[i, : LENGTHS[i]] for i in order])
    (packed_scores * target).sum().backward()
    packed_grads = {name: p.grad.clone() for name, p in module.named_parameters()}
    module.zero_grad()
    flat.requires_grad_()
    sorted_lengths = torch.tensor([LENGTHS[i] for i in order])
    flat_scores = module(flat, sorted_lengths, flat=True)
    (flat_scores * target).sum().backward()
    assert float((flat_scores - packed_scores).detach().abs().max()) < 1e-5
    d_padded = torch.cat([padded.grad[i, : LENGTHS[i]] for i in order])
    assert float((flat.grad - d_padded).abs().max()) < 1e-5
    for name, param in module.named_parameters():
        torch.testing.assert_close(param.grad, packed_grads[name], atol=1e-4, rtol=1e-4)


def test_characters_train_packed(monkeypatch) -> None:
    """The character BiLSTM groups forms by length at inference only: in training the
    packed path was faster (a probe at one thread on EWT train)."""
    encoder = CharEncoder("lstm", rows=64, char_width=8, width=16)
    lengths = torch.tensor([5, 3, 3, 1])
    chars = torch.randint(1, 64, (len(lengths), 5))
    chars[torch.arange(5) >= lengths[:, None]] = 0
    grouped = []
    original = CharEncoder._encode_by_length
    monkeypatch.setattr(
        CharEncoder,
        "_encode_by_length",
        lambda self, *args: grouped.append(self.training) or original(self, *args),
    )
    encoder.train()
    encoder.encode(chars, lengths).sum().backward()
    assert grouped == []
    with torch.no_grad():
        encoder.eval().encode(chars, lengths)
    assert grouped == [False]


def test_training_step_fast_paths_equal_reference(trained_default_nlp, demo_records) -> None:
    """A training pass of the shipped default model (a copy, dropout off) on its fast
    paths gives the reference paths' scores, loss and weight gradients, for a batch with
    an empty doc and docs of several lengths."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    nlp.from_bytes(trained_default_nlp.to_bytes())
    pipe = nlp.get_pipe("lstm_tagger")
    set_dropout_rate(pipe.model, 0.0)
    records = [*demo_records[40:60], {"words": [], "tags": [], "pos": []}]
    examples = records_to_examples(nlp, records)
    wrapper = pipe.model.get_ref("output_layer").layers[0]
    assert uses_flat_path(wrapper, is_train=True)
    results = []
    for context in (reference_paths, contextlib.nullcontext):
        with context():
            scores, backprop = pipe.model.begin_update([eg.predicted for eg in examples])
            loss, d_scores = pipe.get_loss(examples, scores)
            backprop(d_scores)
        modules = torch_modules(pipe.model)
        params = [(f"{i}.{n}", p) for i, m in enumerate(modules) for n, p in m.named_parameters()]
        results.append((loss, scores, {n: p.grad.clone() for n, p in params}))
        for _, param in params:
            param.grad = None
    (ref_loss, ref_scores, ref_grads), (loss, scores, grads) = results
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    for ref, got in zip(ref_scores, scores):
        numpy.testing.assert_allclose(got, ref, atol=1e-5)
    assert ref_grads.keys() == grads.keys() and grads
    for name, grad in ref_grads.items():
        torch.testing.assert_close(grads[name], grad, atol=1e-4, rtol=1e-3)


def test_pipeline_fast_paths_equal_reference(trained_default_nlp, demo_records) -> None:
    """The shipped default model (two BiLSTM layers, characters) gives the same tags
    and probabilities within 1e-5 on its fast paths as on the reference paths, for a
    batch with empty docs and docs of very different lengths."""
    nlp = trained_default_nlp
    words = [r["words"] for r in demo_records[40:70]]
    long_doc = [w for ws in words for w in ws] * 5
    docs = [Doc(nlp.vocab, words=w) for w in [*words, [], long_doc, ["Zyzzyva"]]]
    model = nlp.get_pipe("lstm_tagger").model
    with reference_paths():
        reference = model.predict(docs)
    fast = model.predict(docs)
    assert [len(p) for p in fast] == [len(d) for d in docs]
    for ref, got in zip(reference, fast):
        assert got.shape == ref.shape
        numpy.testing.assert_allclose(got, ref, atol=1e-5)
        # An empty doc has no rows: its argmax is an empty list on both paths.
        assert got.argmax(axis=1).tolist() == ref.argmax(axis=1).tolist()


def test_fast_path_keeps_batch_invariance(trained_default_nlp, demo_records) -> None:
    """A doc's probabilities do not depend on its batch-mates on the fast paths."""
    nlp = trained_default_nlp
    docs = [Doc(nlp.vocab, words=r["words"]) for r in demo_records[40:80]]
    model = nlp.get_pipe("lstm_tagger").model
    batched = model.predict(docs)
    for doc, probs in zip(docs[:8], batched):
        get_char_encoder(nlp).cache.clear()
        alone = model.predict([doc])[0]
        numpy.testing.assert_allclose(alone, probs, atol=1e-6)


def get_char_encoder(nlp) -> CharEncoder:
    """The character encoder of the default model."""
    (encoder,) = torch_modules(nlp.get_pipe("lstm_tagger").model, CharEncoder)
    return encoder


def default_nlp_with_examples(demo_records):
    """An initialized default pipeline and its training examples."""
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_tagger")
    examples = records_to_examples(nlp, demo_records[:20])
    optimizer = nlp.initialize(lambda: examples)
    return nlp, examples, optimizer


def test_character_cache_fills_at_inference_only(demo_records) -> None:
    """Inference fills the cache, a training pass never reads it (it empties it),
    and the optimizer's update leaves it empty."""
    nlp, examples, optimizer = default_nlp_with_examples(demo_records)
    chars = get_char_encoder(nlp)
    docs = [eg.predicted for eg in examples]
    nlp.get_pipe("lstm_tagger").model.predict(docs)
    n_forms = len({t.orth for doc in docs for t in doc})
    assert len(chars.cache.rows) == n_forms
    nlp.get_pipe("lstm_tagger").model.begin_update(docs)
    assert len(chars.cache.rows) == 0
    nlp.get_pipe("lstm_tagger").model.predict(docs)
    nlp.update(examples, sgd=optimizer, drop=DEFAULT_TRAIN_DROPOUT)
    assert len(chars.cache.rows) == 0


def test_character_cache_follows_weight_changes(demo_records) -> None:
    """After an update, averaged weights (`use_params`) or weights changed in place,
    predictions equal the reference path's: no stale form vector is used."""
    nlp, examples, optimizer = default_nlp_with_examples(demo_records)
    model = nlp.get_pipe("lstm_tagger").model
    docs = [eg.predicted for eg in examples]

    def check() -> None:
        fast = model.predict(docs)
        with reference_paths():
            reference = model.predict(docs)
        for got, ref in zip(fast, reference):
            numpy.testing.assert_allclose(got, ref, atol=1e-5)

    check()
    nlp.update(examples, sgd=optimizer, drop=0.0)
    check()
    with nlp.use_params(optimizer.averages):
        check()
    check()
    with torch.no_grad():
        get_char_encoder(nlp).embed.weight.mul_(3.0)
    check()


def test_character_cache_is_not_pickled(trained_default_nlp, demo_records) -> None:
    """A pickled pipeline carries no cached vectors, and its copy predicts the same."""
    import pickle

    nlp = trained_default_nlp
    docs = [Doc(nlp.vocab, words=r["words"]) for r in demo_records[40:50]]
    probs = nlp.get_pipe("lstm_tagger").model.predict(docs)
    assert len(get_char_encoder(nlp).cache.rows) > 0
    copy = pickle.loads(pickle.dumps(nlp))
    assert len(get_char_encoder(copy).cache.rows) == 0
    copied = copy.get_pipe("lstm_tagger").model.predict(docs)
    for got, ref in zip(copied, probs):
        numpy.testing.assert_allclose(got, ref, atol=1e-6)


def test_user_encoder_without_fast_path_still_runs_packed() -> None:
    """An encoder with only the documented PackedSequence contract runs packed."""
    from spacy_lstm_tagger.layers.encoders import RNNEncoder

    class PackedOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = RNNEncoder(torch.nn.GRU, 8, 4, 1, True, 0.0)
            self.output_width = self.inner.output_width

        def forward(self, packed):
            return self.inner(packed)

    module = RecurrentTagger("lstm", hidden_width=4)
    module.build(n_inputs=8, n_labels=3)
    module.encoder = PackedOnly()
    module.output = torch.nn.Linear(8, 3)
    module.eval()
    padded, _, _ = padded_and_flat([4, 2], width=8)
    with torch.no_grad():
        scores = module(padded, torch.tensor([4, 2]))
    assert scores.shape == (2, 4, 3)
    assert float(scores[1, 2:].abs().max()) == 0.0  # padding stays zero


BF16_CONFIG = """
[nlp]
lang = "en"
pipeline = ["lstm_tagger"]

[nlp.after_pipeline_creation]
@callbacks = "spacy-lstm-tagger.inference_precision.v1"
precision = "bfloat16"

[components]

[components.lstm_tagger]
factory = "lstm_tagger"
"""


def test_bfloat16_from_config(monkeypatch) -> None:
    """The config callback turns bfloat16 inference on."""
    monkeypatch.setattr(precision, "has_native_bfloat16", lambda: True)
    nlp = spacy.util.load_model_from_config(Config().from_str(BF16_CONFIG), auto_fill=True)
    assert get_torch_module(nlp.get_pipe("lstm_tagger").model).inference_dtype is torch.bfloat16


# Without AVX512-BF16 or AMX, oneDNN has no bfloat16 LSTM primitive: torch raises, and
# the tagger itself refuses bfloat16 there (test_bfloat16_is_refused_where_it_would_be_slow).
@pytest.mark.skipif(not precision.has_native_bfloat16(), reason="no native bfloat16 here")
def test_bfloat16_and_back(trained_default_nlp, demo_records) -> None:
    """bfloat16's probabilities are close to float32's but not identical; float32
    restores the exact output."""
    nlp = trained_default_nlp
    docs = [Doc(nlp.vocab, words=r["words"]) for r in demo_records[40:60]]
    model = nlp.get_pipe("lstm_tagger").model
    exact = model.predict(docs)
    assert set_inference_precision(nlp, "bfloat16") == 1
    try:
        low = model.predict(docs)
    finally:
        set_inference_precision(nlp, "float32")
    diffs = [float(abs(a - b).max()) for a, b in zip(low, exact)]
    assert 0.0 < max(diffs) < 0.05
    assert all(a.dtype == numpy.float32 for a in low)
    for got, ref in zip(model.predict(docs), exact):
        numpy.testing.assert_array_equal(got, ref)


def test_bfloat16_is_refused_where_it_would_be_slow(trained_default_nlp, monkeypatch) -> None:
    """Without native bfloat16 the tagger warns and keeps float32."""
    monkeypatch.setattr(precision, "has_native_bfloat16", lambda: False)
    with pytest.warns(UserWarning, match=r"\[W100\]"):
        set_inference_precision(trained_default_nlp, "bfloat16")
    module = get_torch_module(trained_default_nlp.get_pipe("lstm_tagger").model)
    assert module.inference_dtype is None
    with pytest.raises(ValueError, match=r"\[E112\] .*Choose one of: float32, bfloat16"):
        set_inference_precision(trained_default_nlp, "int4")
