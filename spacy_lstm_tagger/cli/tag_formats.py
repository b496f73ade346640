"""Readers and writers of the `tag` command: plain text (one doc per line), JSONL, CoNLL-U and
spaCy DocBins in; CoNLL-U, JSONL and DocBins out."""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin

from ..errors import BadLineError, Errors, strip_prefix
from .corpus_io import CONLLU_SUFFIXES, gold_tokenized

OUTPUT_SUFFIXES = {"conllu": ".conllu", "jsonl": ".jsonl", "spacy": ".spacy"}
# Token attributes a pipeline may set, in CoNLL-U column order, with the JSONL key of each.
ANNOTATIONS = (("LEMMA", "lemmas"), ("POS", "pos"), ("TAG", "tags"), ("MORPH", "morphs"))
CONLLU_COLUMNS = {"LEMMA": 2, "POS": 3, "TAG": 4, "MORPH": 5}
PROBE_WORDS = ["The", "old", "dogs", "were", "barking", "at", "her", "yesterday", "."]
_CONLLU_ID = re.compile(r"^(?:[1-9][0-9]*|[1-9][0-9]*-[1-9][0-9]*|[0-9]+\.[1-9][0-9]*)$")
_ONE_LINE = str.maketrans("\t\r\n", "   ")
_MISC_ESCAPES = {"\\": "\\\\", " ": "\\s", "\t": "\\t", "\n": "\\n", "\r": "\\r", "|": "\\p"}


@dataclass
class Record:
    """One doc to tag and what its writer needs besides the tagged doc."""

    doc_input: Union[str, Doc]  # text for the tokenizer, or a doc with the file's own tokens
    line: int  # first input line (1-based); the doc's position for DocBins
    end_offset: int  # bytes of the input read up to the end of this record
    source: Any = None  # the JSON object (JSONL) or a ConlluSentence (CoNLL-U)


@dataclass
class Reject:
    """An input line or CoNLL-U sentence that could not be read."""

    line: int
    reason: str  # the code and text, e.g. "[E312] not valid JSON (...)"
    raw: str

    def to_json(self, path: Path) -> str:
        """RETURNS (str): The reject as one JSON line, naming its file."""
        obj = {"file": str(path), "line": self.line, "error": self.reason, "raw": self.raw}
        return json.dumps(obj, ensure_ascii=False)


@dataclass
class ConlluSentence:
    """A CoNLL-U sentence as read: its raw lines and which of them are words."""

    lines: List[str]
    word_rows: List[int]


def input_kind(path: Path) -> str:
    """RETURNS (str): "conllu", "jsonl", "spacy" or "text" (any other suffix), from the suffix."""
    suffix = path.suffix.lower()
    if suffix in CONLLU_SUFFIXES:
        return "conllu"
    return {".jsonl": "jsonl", ".spacy": "spacy"}.get(suffix, "text")


def annotated_attrs(nlp: Language) -> List[str]:
    """The token attributes the pipeline sets, found by tagging a probe sentence.

    nlp (Language): The pipeline.
    RETURNS (List[str]): A subset of LEMMA, POS, TAG and MORPH, in CoNLL-U column order.
    """
    doc = nlp(Doc(nlp.vocab, words=PROBE_WORDS))
    return [attr for attr, _ in ANNOTATIONS if doc.has_annotation(attr)]


class InputReader:
    """Stream the records of one input file, keeping count of blank and bad lines.

    A bad line raises BadLineError, or with skip_bad is kept in `rejects`. start, end and
    first_line read one chunk of the file: the bytes [start, end), which begin at line
    first_line and at a line (CoNLL-U: sentence) boundary. DocBins are always read whole.
    """

    def __init__(
        self,
        path: Path,
        nlp: Language,
        text_key: str = "text",
        skip_bad: bool = False,
        *,
        start: int = 0,
        end: Optional[int] = None,
        first_line: int = 1,
    ) -> None:
        self.path, self.nlp, self.text_key, self.skip_bad = path, nlp, text_key, skip_bad
        self.kind = input_kind(path)
        self.start, self.first_line = start, first_line
        self.end = path.stat().st_size if end is None else end
        self.rejects: List[Reject] = []
        self.n_blank = 0
        self.n_records = 0  # every record read: tagged, rejected or blank

    def __iter__(self) -> Iterator[Record]:
        read = {"text": self._read_lines, "jsonl": self._read_lines, "conllu": self._read_conllu}
        records = read[self.kind]() if self.kind in read else self._read_docbin()
        for record in records:
            self.n_records += 1
            if record is None:
                continue
            if not _has_text(record.doc_input):
                self.n_blank += 1
                continue
            yield record

    def _reject(self, line: int, reason: str, raw: str) -> None:
        """Raise BadLineError for a bad line, or with skip_bad keep it.

        reason (str): A rendered `Errors` message (E311-E319).
        """
        if not self.skip_bad:
            raise BadLineError(self.path, line, reason)
        self.rejects.append(Reject(line, strip_prefix(reason), raw))

    def _lines(self) -> Iterator[Tuple[int, str, Optional[str], int]]:
        """Yield (line number, text, why it is undecodable or None, end offset)."""
        offset = self.start
        with self.path.open("rb") as file_:
            file_.seek(self.start)
            for number, raw in enumerate(file_, self.first_line):
                if offset >= self.end:
                    break
                offset += len(raw)
                raw = raw.rstrip(b"\n")
                try:
                    text = raw.decode("utf8")
                except UnicodeDecodeError as err:
                    bad = raw[err.start : err.start + 1]
                    reason = Errors.E311.format(byte=bad, position=err.start + 1)
                    yield number, raw.decode("utf8", "backslashreplace"), reason, offset
                    continue
                yield number, (text.lstrip("\ufeff") if number == 1 else text), None, offset

    def _read_lines(self) -> Iterator[Optional[Record]]:
        for number, text, undecodable, offset in self._lines():
            if undecodable:
                self._reject(number, undecodable, text)
                yield None
            elif self.kind == "text":
                yield Record(text.rstrip("\r"), number, offset)
            elif not text.strip():
                yield Record("", number, offset)
            else:
                yield self._jsonl_record(number, text, offset)

    def _jsonl_record(self, number: int, line: str, offset: int) -> Optional[Record]:
        try:
            obj = json.loads(line)
        except ValueError as err:
            self._reject(number, Errors.E312.format(err=err), line)
            return None
        text = obj.get(self.text_key) if isinstance(obj, dict) else None
        if not isinstance(text, str):
            self._reject(number, Errors.E313.format(text_key=self.text_key), line)
            return None
        try:
            text.encode("utf8")
        except UnicodeEncodeError:
            self._reject(number, Errors.E314, line)
            return None
        return Record(text, number, offset, obj)

    def _read_conllu(self) -> Iterator[Optional[Record]]:
        block: List[Tuple[int, str, Optional[str]]] = []
        offset = self.start
        for number, text, undecodable, offset in self._lines():
            if not undecodable and not text.strip():
                if block:
                    yield self._conllu_record(block, offset)
                block = []
            else:
                block.append((number, text, undecodable))
        if block:
            yield self._conllu_record(block, offset)

    def _conllu_record(
        self, block: List[Tuple[int, str, Optional[str]]], offset: int
    ) -> Optional[Record]:
        """A sentence's record; a bad line rejects the whole sentence."""
        try:
            for number, _, undecodable in block:
                if undecodable:
                    raise BadLineError(self.path, number, undecodable)
            sentence, words, spaces = parse_conllu_block(self.path, [b[:2] for b in block])
        except BadLineError as err:
            self._reject(err.line, err.reason, "\n".join(text for _, text, _ in block))
            return None
        doc = Doc(self.nlp.vocab, words=words, spaces=spaces)
        return Record(doc, block[0][0], offset, sentence)

    def _read_docbin(self) -> Iterator[Optional[Record]]:
        size = self.path.stat().st_size
        try:
            docs = list(DocBin().from_disk(self.path).get_docs(self.nlp.vocab))
        except Exception as err:  # a corrupt DocBin fails in zlib, msgpack or numpy
            self._reject(1, Errors.E319.format(err_type=type(err).__name__, err=err), "")
            yield None
            return
        for i, doc in enumerate(docs, 1):
            # Retag from the words alone: a component must not keep the file's old tags.
            yield Record(gold_tokenized(self.nlp, doc), i, size * i // len(docs))


def _has_text(doc_input: Union[str, Doc]) -> bool:
    text = doc_input if isinstance(doc_input, str) else doc_input.text
    return bool(text.strip())


def parse_conllu_block(
    path: Path, lines: List[Tuple[int, str]]
) -> Tuple[ConlluSentence, List[str], List[bool]]:
    """Check one CoNLL-U sentence and find its words and the spaces after them.

    path (Path): The file, for error messages.
    lines (List[Tuple[int, str]]): (line number, text) of each line of the sentence.
    RETURNS (Tuple[ConlluSentence, List[str], List[bool]]): The sentence, words and spaces.
    """
    word_rows: List[int] = []
    words: List[str] = []
    spaces: List[bool] = []
    mwt_end, mwt_space = 0, True
    for row, (number, text) in enumerate(lines):
        if text.startswith("#"):
            continue
        cols = text.split("\t")
        if len(cols) != 10:
            raise BadLineError(path, number, Errors.E315.format(n_columns=len(cols)))
        if not _CONLLU_ID.match(cols[0]) or not cols[1]:
            raise BadLineError(path, number, Errors.E316.format(token_id=cols[0]))
        space = "SpaceAfter=No" not in cols[9].rstrip("\r").split("|")
        if "-" in cols[0]:
            mwt_end, mwt_space = int(cols[0].split("-")[1]), space
        elif "." not in cols[0]:
            if int(cols[0]) != len(words) + 1:
                raise BadLineError(path, number, Errors.E317.format(token_id=cols[0]))
            in_mwt = len(words) + 1 <= mwt_end
            word_rows.append(row)
            words.append(cols[1])
            spaces.append((mwt_space if len(words) == mwt_end else False) if in_mwt else space)
    if not words:
        raise BadLineError(path, lines[0][0], Errors.E318)
    return ConlluSentence([text for _, text in lines], word_rows), words, spaces


class OutputWriter:
    """Write tagged docs to one output file, in the chosen format.

    attrs (List[str]): The attributes the pipeline sets (see annotated_attrs).
    """

    def __init__(self, fmt: str, attrs: List[str], file_: IO[bytes]) -> None:
        self.fmt, self.attrs, self.file_ = fmt, attrs, file_
        self.docbin = DocBin(store_user_data=False) if fmt == "spacy" else None

    def write(self, record: Record, doc: Doc) -> None:
        """Write one tagged doc: a CoNLL-U sentence, a JSON line or a DocBin entry."""
        if self.docbin is not None:
            self.docbin.add(doc)
            return
        if self.fmt == "jsonl":
            text = self._json_line(record, doc)
        elif isinstance(record.source, ConlluSentence):
            text = retag_conllu(record.source, doc, self.attrs)
        else:
            text = doc_to_conllu(doc, self.attrs, sent_id=str(record.line))
        self.file_.write(text.encode("utf8"))

    def close(self) -> None:
        """Finish the file: a DocBin is written whole, at the end."""
        if self.docbin is not None:
            self.file_.write(self.docbin.to_bytes())

    def _json_line(self, record: Record, doc: Doc) -> str:
        obj = dict(record.source) if isinstance(record.source, dict) else {"text": doc.text}
        obj["words"] = [token.text for token in doc]
        obj["spaces"] = [bool(token.whitespace_) for token in doc]
        for attr, key in ANNOTATIONS:
            if attr in self.attrs:
                obj[key] = [_token_value(token, attr) for token in doc]
        return json.dumps(obj, ensure_ascii=False) + "\n"


def _token_value(token, attr: str) -> str:
    value = {"LEMMA": token.lemma_, "POS": token.pos_, "TAG": token.tag_}.get(attr)
    return str(token.morph) if attr == "MORPH" else value


def _conllu_value(token, attr: str) -> str:
    return _token_value(token, attr) or "_"


def retag_conllu(sentence: ConlluSentence, doc: Doc, attrs: List[str]) -> str:
    """The sentence's lines with the columns the pipeline sets replaced; all else as read.

    RETURNS (str): The sentence and the blank line that ends it.
    """
    lines = list(sentence.lines)
    for row, token in zip(sentence.word_rows, doc):
        cols = lines[row].split("\t")
        for attr in attrs:
            cols[CONLLU_COLUMNS[attr]] = _conllu_value(token, attr)
        lines[row] = "\t".join(cols)
    return "\n".join(lines) + "\n\n"


def doc_to_conllu(doc: Doc, attrs: List[str], sent_id: str) -> str:
    """A doc tokenized by the pipeline as one CoNLL-U sentence. Whitespace tokens become
    SpacesBefore / SpacesAfter in MISC (as UD does), so FORM never holds a tab or newline.

    RETURNS (str): The sentence and the blank line that ends it.
    """
    # The text as it is (its spaces match SpacesAfter), except that a comment is one line.
    text = doc.text.translate(_ONE_LINE).strip()
    lines = [f"# sent_id = {sent_id}", f"# text = {text}"]
    words = [token for token in doc if not token.is_space]
    before = doc.text[: words[0].idx] if words else ""
    for i, token in enumerate(words, 1):
        end = words[i].idx if i < len(words) else len(doc.text)
        misc = _misc(before if i == 1 else "", doc.text[token.idx + len(token) : end], i, words)
        cols = [str(i), token.text.replace("\t", " ").replace("\n", " "), "_", "_", "_", "_"]
        for attr in attrs:
            cols[CONLLU_COLUMNS[attr]] = _conllu_value(token, attr)
        lines.append("\t".join(cols + ["_", "_", "_", misc]))
    return "\n".join(lines) + "\n\n"


def _misc(before: str, after: str, i: int, words: list) -> str:
    fields = [f"SpacesBefore={_escape(before)}"] if before else []
    if after == "" and i < len(words):
        fields.append("SpaceAfter=No")
    elif after not in ("", " "):
        fields.append(f"SpacesAfter={_escape(after)}")
    return "|".join(fields) or "_"


def _escape(spaces: str) -> str:
    return "".join(_MISC_ESCAPES.get(char, char) for char in spaces)
