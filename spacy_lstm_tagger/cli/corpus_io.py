"""Read gold corpora (spaCy DocBins and CoNLL-U files) and prepare them for scoring."""

from pathlib import Path
from typing import List, Optional, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.training.converters import conllu_to_docs
from spacy.vocab import Vocab

# EvaluationInputError is defined in ..errors; the cli modules import it from here.
from ..errors import Errors, EvaluationInputError
from ..pipeline.tagger import LSTMTagger
from .scores import ATTRS

CONLLU_SUFFIXES = (".conllu", ".conll")


def read_corpus(path: Union[str, Path], vocab: Vocab) -> List[Doc]:
    """Read the gold docs of a `.spacy` DocBin or a CoNLL-U file.

    path (Union[str, Path]): The corpus file.
    vocab (Vocab): The vocab the docs are created in.
    RETURNS (List[Doc]): The docs; one doc per sentence for CoNLL-U.
    """
    path = Path(path)
    if not path.is_file():
        raise EvaluationInputError(Errors.E200.format(path=path))
    suffix = path.suffix.lower()
    if suffix == ".spacy":
        docs = list(DocBin().from_disk(path).get_docs(vocab))
    elif suffix in CONLLU_SUFFIXES:
        docs = _read_conllu(path, vocab)
    else:
        raise EvaluationInputError(Errors.E201.format(path=path))
    if not docs:
        raise EvaluationInputError(Errors.E202.format(path=path))
    return docs


def _read_conllu(path: Path, vocab: Vocab) -> List[Doc]:
    text = path.read_text(encoding="utf8")
    try:
        # One doc per sentence, so that folds and examples split by sentence.
        sentences = DocBin(docs=conllu_to_docs(text, n_sents=1, no_print=True))
    except (ValueError, IndexError) as err:
        raise EvaluationInputError(Errors.E203.format(path=path, err=err)) from err
    # The converter makes docs in a vocab of its own: move them into ours.
    return list(sentences.get_docs(vocab))


def gold_tokenized(nlp: Language, gold: Doc) -> Doc:
    """An unannotated doc with the gold doc's words and spaces, for the pipeline to tag.

    nlp (Language): The pipeline whose vocab the doc uses.
    gold (Doc): The gold doc.
    RETURNS (Doc): The new doc.
    """
    return Doc(
        nlp.vocab,
        words=[token.text for token in gold],
        spaces=[bool(token.whitespace_) for token in gold],
    )


def gold_examples(nlp: Language, golds: List[Doc]) -> List[Example]:
    """Examples on the gold tokenization, so scores do not depend on the tokenizer.

    nlp (Language): The pipeline.
    golds (List[Doc]): The gold docs.
    RETURNS (List[Example]): One example per gold doc.
    """
    return [Example(gold_tokenized(nlp, gold), gold) for gold in golds]


def chosen_attrs(attrs: Optional[Union[str, Sequence[str]]]) -> Optional[List[str]]:
    """Check the attributes given with --attr.

    attrs (Optional[Union[str, Sequence[str]]]): An attribute, several, or None.
    RETURNS (Optional[List[str]]): The attributes in the order given, each once; None
        when none was given.
    """
    if isinstance(attrs, str):
        attrs = [attrs]
    if not attrs:
        return None
    valid = ", ".join(repr(name) for name in ATTRS)
    for attr in attrs:
        if attr not in ATTRS:
            raise EvaluationInputError(Errors.E204.format(attr=attr, valid=valid))
    return list(dict.fromkeys(attrs))


def tagger_targets(nlp: Language, attrs: Optional[Union[str, Sequence[str]]] = None) -> List[str]:
    """The token attributes to score: `attrs` if given, else every target of the
    pipeline's `lstm_tagger` component(s), in the order the components list them.

    nlp (Language): The trained pipeline.
    attrs (Optional[Union[str, Sequence[str]]]): "tag", "pos", "morph" or several of
        them to choose; None (or empty) to read them from the components.
    RETURNS (List[str]): The attributes, each once.
    """
    chosen = chosen_attrs(attrs)
    if chosen is not None:
        return chosen
    # A dict keeps the first component's order when several components share a target.
    targets = {
        target: None
        for _, pipe in nlp.pipeline
        if isinstance(pipe, LSTMTagger)
        for target in pipe.targets
        if target in ATTRS
    }
    if not targets:
        valid = ", ".join(repr(name) for name in ATTRS)
        raise EvaluationInputError(Errors.E205.format(valid=valid))
    return list(targets)
