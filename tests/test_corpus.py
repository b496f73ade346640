"""spacy-lstm-tagger.Corpus.v1: spaCy's corpus reader that reads the file once. Its
examples are spacy.Corpus.v1's, call after call, with new predicted docs each time."""

from pathlib import Path
from typing import List

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import registry

from spacy_lstm_tagger.training.corpus import ReadOnceCorpus

READER = "spacy-lstm-tagger.Corpus.v1"


def described(examples: List[Example]) -> List[tuple]:
    """What an example is: its predicted words and spaces, its reference annotation."""
    return [
        (
            [t.text for t in eg.predicted],
            [t.whitespace_ for t in eg.predicted],
            [(t.text, t.tag_, t.pos_, t.is_sent_start) for t in eg.reference],
        )
        for eg in examples
    ]


@pytest.fixture
def two_sentence_corpus(tmp_path: Path, demo_records) -> Path:
    """A .spacy file whose docs hold two sentences each, so gold_preproc splits them."""
    vocab = spacy.blank("en").vocab
    docs = []
    for first, second in zip(demo_records[0:20:2], demo_records[1:20:2]):
        words = first["words"] + second["words"]
        starts = [True] + [False] * (len(first["words"]) - 1)
        starts += [True] + [False] * (len(second["words"]) - 1)
        docs.append(
            Doc(
                vocab,
                words=words,
                tags=first["tags"] + second["tags"],
                pos=first["pos"] + second["pos"],
                sent_starts=starts,
            )
        )
    path = tmp_path / "two.spacy"
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


@pytest.mark.parametrize("gold_preproc", [True, False])
@pytest.mark.parametrize("limit", [0, 4])
def test_examples_are_spacys(two_sentence_corpus: Path, gold_preproc: bool, limit: int) -> None:
    """Call after call, the reader gives spacy.Corpus.v1's examples, in its order."""
    nlp = spacy.blank("en")
    kwargs = {"gold_preproc": gold_preproc, "limit": limit}
    ours = registry.readers.get(READER)(two_sentence_corpus, **kwargs)
    spacys = registry.readers.get("spacy.Corpus.v1")(two_sentence_corpus, **kwargs)
    assert isinstance(ours, ReadOnceCorpus)
    expected = described(list(spacys(nlp)))
    assert len(expected) == (2 if gold_preproc else 1) * (limit or 10)
    for _ in range(3):
        assert described(list(ours(nlp))) == expected


def test_reads_the_file_once_per_vocab(two_sentence_corpus: Path, monkeypatch) -> None:
    """The file is read on the first call for a vocab only; another vocab reads it again."""
    reads = []
    original = DocBin.from_disk

    def counted(self, path):
        reads.append(path)
        return original(self, path)

    monkeypatch.setattr(DocBin, "from_disk", counted)
    corpus = registry.readers.get(READER)(two_sentence_corpus, gold_preproc=True)
    nlp = spacy.blank("en")
    for _ in range(3):
        list(corpus(nlp))
    assert len(reads) == 1
    other = spacy.blank("en")
    examples = list(corpus(other))
    assert len(reads) == 2
    assert all(eg.predicted.vocab is other.vocab for eg in examples)


def test_every_call_makes_new_predicted_docs(two_sentence_corpus: Path) -> None:
    """What a component writes on one call's predicted docs is not seen on the next."""
    nlp = spacy.blank("en")
    corpus = registry.readers.get(READER)(two_sentence_corpus, gold_preproc=True)
    first = list(corpus(nlp))
    for eg in first:
        for token in eg.predicted:
            token.tag_ = "WRITTEN"
    second = list(corpus(nlp))
    assert all(a.predicted is not b.predicted for a, b in zip(first, second))
    assert not any(t.tag_ == "WRITTEN" for eg in second for t in eg.predicted)
    assert [eg.reference.text for eg in first] == [eg.reference.text for eg in second]


def test_no_path_is_a_clear_error() -> None:
    """A config whose [paths] train is null names the fix, with the package's code."""
    with pytest.raises(ValueError, match=r"\[E161\].*--paths.train"):
        registry.readers.get(READER)(None, gold_preproc=False)
