"""Odd text never breaks tagging, every token gets a label (whitespace tokens too, as
with spaCy's tagger), long docs tag in bounded memory, and grouping docs by length
changes no output."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import numpy
import pytest
from conftest import make_nlp, records_to_examples
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.language import Language
from spacy.tokens import Doc

import spacy_lstm_tagger.layers.tagger_model as tagger_model
from spacy_lstm_tagger.layers.tagger_model import group_by_length

ODD_PIECES = [
    "😀",
    "👩🏽‍💻",
    "🇩🇪",
    "e\u0301\u0301\u0301",
    "שָׁלוֹם",
    "مرحبا بالعالم",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u202e",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\t",
    "\n\n",
    "\r\n",
    "\u00a0",
    "\u2028",
    "\u3000",
    "   ",
    "日本語のテキスト",
    "x" * 5000,
    "-" * 300,
    "...",
    "http://example.com/?q=1&x=2",
]
odd_texts = st.one_of(
    st.text(),
    st.text(alphabet=" \t\n\r\u00a0\u2009\u3000\u200b"),
    st.lists(st.one_of(st.sampled_from(ODD_PIECES), st.text(max_size=12)), max_size=12).map(
        "".join
    ),
)


@settings(max_examples=200, deadline=None)
@given(text=odd_texts)
def test_any_text_gets_a_label_on_every_token(trained_nlp, text: str) -> None:
    """Any text keeps its text, and every token (whitespace, control characters and
    emoji too) gets a finite probability distribution over the labels and the label
    of highest probability."""
    pipe = trained_nlp.get_pipe("lstm_tagger")
    doc = trained_nlp(text)
    assert doc.text == text
    probs = pipe.model.predict([trained_nlp.make_doc(text)])[0]
    assert probs.shape == (len(doc), len(pipe.labels))
    assert numpy.isfinite(probs).all()
    numpy.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-5)
    assert [token.tag_ for token in doc] == [pipe.labels[i] for i in probs.argmax(axis=1)]


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(odd_texts, max_size=8), batch_size=st.integers(1, 4))
def test_pipe_of_any_texts_gets_a_label_on_every_token(trained_nlp, texts, batch_size) -> None:
    """`nlp.pipe` of any texts, in any batch size, keeps each text and gives each
    token the tag it gets when its text is tagged alone."""
    docs = list(trained_nlp.pipe(texts, batch_size=batch_size))
    assert [doc.text for doc in docs] == texts
    alone = [[token.tag_ for token in trained_nlp(text)] for text in texts]
    assert [[token.tag_ for token in doc] for doc in docs] == alone


@settings(max_examples=200, deadline=None)
@given(lengths=st.lists(st.integers(0, 300), max_size=40), max_padded=st.integers(1, 2000))
def test_length_groups_cover_the_batch_within_the_budget(lengths, max_padded) -> None:
    """Grouping by length puts every doc in exactly one group, and no group of several docs pads
    past the budget."""
    groups = group_by_length(lengths, max_padded)
    assert sorted(i for group in groups for i in group) == list(range(len(lengths)))
    for group in groups:
        longest = max(1, max(lengths[i] for i in group))
        assert len(group) == 1 or len(group) * longest <= max_padded


def varied_docs(nlp: Language, records: List[Dict]) -> List[Doc]:
    """Docs of 0 to 150 tokens, in no order of length."""
    words = [word for record in records for word in record["words"]]
    sizes = [7, 0, 150, 1, 35, 90, 3, 0, 60, 120]
    return [Doc(nlp.vocab, words=words[:size]) for size in sizes]


def test_length_groups_change_no_output_or_gradient(demo_records, monkeypatch) -> None:
    """Splitting a batch into length groups changes neither the probabilities nor the gradients."""
    nlp = make_nlp()
    nlp.initialize(lambda: records_to_examples(nlp, demo_records[:20]))
    model = nlp.get_pipe("lstm_tagger").model
    Xs = model.get_ref("tok2vec").predict(varied_docs(nlp, demo_records))
    layer = model.get_ref("output_layer")
    rng = numpy.random.default_rng(0)
    dYs = [rng.normal(size=(len(X), layer.get_dim("nO"))).astype("f") for X in Xs]
    results = []
    for max_padded in (10**9, 150):
        monkeypatch.setattr(tagger_model, "MAX_PADDED_TOKENS", max_padded)
        Ys, backprop = layer.begin_update(Xs)
        results.append((Ys, backprop(dYs)))
    assert len(group_by_length([len(X) for X in Xs], 150)) > 3
    for whole, grouped in zip(*results):
        for a, b in zip(whole, grouped):
            numpy.testing.assert_allclose(a, b, atol=1e-5)


MEMORY_SCRIPT = """
import json, sys, torch
# One thread: this measures memory, and more threads only contend on a busy machine.
torch.set_num_threads(1)
sys.path.insert(0, {tests!r})
from conftest import make_nlp, records_to_examples
from spacy.language import Language
from spacy.tokens import Doc
from spacy_lstm_tagger.cli.demo import load_demo_records

def peak_increase_mib(run):
    # Reset the peak resident memory to the current one, run, read the new peak.
    status = lambda key: next(int(line.split()[1]) for line in open("/proc/self/status")
                              if line.startswith(key))
    with open("/proc/self/clear_refs", "w") as file_:
        file_.write("5")
    before = status("VmRSS")
    run()
    return (status("VmHWM") - before) / 1024

records = load_demo_records()
nlp = make_nlp()
nlp.initialize(lambda: records_to_examples(nlp, records[:20]))
words = [word for record in records for word in record["words"]]
long_words = lambda n: (words * (n // len(words) + 1))[:n]
short = [Doc(nlp.vocab, words=record["words"]) for record in records[:200]]
mid = Doc(nlp.vocab, words=long_words(20_000))
huge = Doc(nlp.vocab, words=long_words(200_000))
result = {{
    "doc_20k": peak_increase_mib(lambda: nlp(mid)),
    "pipe_20k_and_200_short": peak_increase_mib(lambda: list(nlp.pipe([mid, *short]))),
    "doc_200k": peak_increase_mib(lambda: nlp(huge)),
    "tagged_200k": sum(1 for token in huge if token.tag_),
}}
print(json.dumps(result))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_long_docs_tag_in_bounded_memory(tmp_path: Path) -> None:
    """Memory grows linearly with a long doc, and a long doc in a batch does not pad its short
    batch-mates to its length."""
    script = MEMORY_SCRIPT.format(tests=str(Path(__file__).parent))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    peaks = json.loads(result.stdout.strip().splitlines()[-1])
    assert peaks["tagged_200k"] == 200_000
    # Inference memory grows linearly with the doc: about 2 KiB a token with the
    # small test model. A generous bound, well under what padding would take.
    assert peaks["doc_200k"] < 1024
    # One long doc in a batch of short ones must not pad them all to its length
    # (unbucketed, this took about 16 times the long doc alone).
    assert peaks["pipe_20k_and_200_short"] < 2 * peaks["doc_20k"] + 64
