"""A training corpus read once: spaCy's `Corpus` that keeps the reference docs in memory.

`spacy train` calls the training corpus three times while it initializes the pipeline,
and the dev corpus at every evaluation, and `spacy.Corpus.v1` reads the `.spacy` file
again on every call. Reading is dear: every doc's user data is unpacked with
`srsly.msgpack_loads`, which looks up catalogue's entry points on each call, and
`gold_preproc` cuts every doc into sentences again. A read of UD English EWT's training
set (12,544 sentences) takes about 4.7 s on one CPU thread. This reader reads the file
(and cuts it into sentences) on its first call for a vocab only. Every call still makes
new `Example`s with new predicted docs, so nothing a component writes on one call's docs
is seen on the next, and the examples (and so training, seed for seed) are those of
`spacy.Corpus.v1`.
"""

from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus, Example
from spacy.util import registry
from spacy.vocab import Vocab

from ..errors import Errors, LSTMTaggerError


@registry.readers("spacy-lstm-tagger.Corpus.v1")
def create_corpus_reader(
    path: Optional[Path],
    gold_preproc: bool,
    max_length: int = 0,
    limit: int = 0,
    augmenter: Optional[Callable] = None,
) -> Callable[[Language], Iterable[Example]]:
    """Create a reader of a `.spacy` file (or a folder of them) that reads it once, with
    the arguments of `spacy.Corpus.v1`.

    path (Optional[Path]): The file or folder; None: no data (as `spacy.Corpus.v1`).
    gold_preproc (bool): One example per sentence, tokenized as the reference.
    max_length (int): Leave out docs longer than this (0: no limit), as spaCy's reader.
    limit (int): Read at most this many docs (0: all).
    augmenter (Optional[Callable]): A data augmenter, applied on every call.
    RETURNS (Callable[[Language], Iterable[Example]]): The reader.
    """
    if path is None:
        raise LSTMTaggerError(Errors.E161)
    return ReadOnceCorpus(
        path, gold_preproc=gold_preproc, max_length=max_length, limit=limit, augmenter=augmenter
    )


class ReadOnceCorpus(Corpus):
    """spaCy's `Corpus`, with the reference docs read once per vocab and kept. It holds
    the whole corpus in memory, as spaCy's training loop does for each epoch (a corpus
    streamed with `max_epochs = -1` is better read with `spacy.Corpus.v1`)."""

    def __init__(self, path: Union[str, Path], **kwargs) -> None:
        super().__init__(path, **kwargs)
        self._vocab: Optional[Vocab] = None
        self._docs: List[Doc] = []
        # The sentences of each reference doc (gold_preproc), by the doc's id: the docs
        # are kept in self._docs, so an id is not reused while it is in here.
        self._sents: Dict[int, List[Doc]] = {}

    def read_docbin(self, vocab: Vocab, locs: Iterable[Union[str, Path]]) -> Iterator[Doc]:
        """Yield the reference docs, read from `locs` on the first call for this vocab."""
        if vocab is not self._vocab:
            self._docs = list(super().read_docbin(vocab, locs))
            self._sents = {}
            self._vocab = vocab
        return iter(self._docs)

    def make_examples_gold_preproc(
        self, nlp: Language, reference_docs: Iterable[Doc]
    ) -> Iterator[Example]:
        """Yield an example per sentence, as spaCy's `Corpus`, the sentences of each
        reference doc split once."""
        for reference in reference_docs:
            sents = self._sents.get(id(reference))
            if sents is None:
                has_sents = reference.has_annotation("SENT_START")
                sents = [s.as_doc() for s in reference.sents] if has_sents else [reference]
                self._sents[id(reference)] = sents
            for ref_sent in sents:
                example = self._make_example(nlp, ref_sent, True)
                if len(example.x):
                    yield example
