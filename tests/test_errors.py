"""The package's one error system: coded messages in `spacy_lstm_tagger.errors`,
raised with the package's exception classes, and no message written inline."""

import ast
import re
import warnings
from pathlib import Path
from typing import Dict, List

import pytest

import spacy_lstm_tagger
from spacy_lstm_tagger.errors import (
    PREFIX,
    BadLineError,
    EmptyCorpusError,
    Errors,
    EvaluationInputError,
    LSTMTaggerError,
    LSTMTaggerWarning,
    TagInputError,
    Warnings,
    WeightsError,
    strip_prefix,
    warn,
)
from spacy_lstm_tagger.pipeline.targets import validate_targets


def codes(cls: type) -> List[str]:
    """The codes a class of messages defines, in order.

    cls (type): `Errors` or `Warnings`.
    RETURNS (List[str]): The attribute names, e.g. ["E001", "E002"].
    """
    return [name for name in vars(cls) if not name.startswith("_")]


PACKAGE = Path(spacy_lstm_tagger.__file__).parent
ERRORS_PY = PACKAGE / "errors.py"
# A use of one of the package's codes; not spaCy's, which this package imports as SpacyErrors.
USE = re.compile(r"(?<![A-Za-z_])(Errors\.E\d{3}|Warnings\.W\d{3})\b")


def package_sources() -> Dict[Path, str]:
    """RETURNS (Dict[Path, str]): The source of each module but errors.py."""
    paths = sorted(PACKAGE.rglob("*.py"))
    return {p: p.read_text(encoding="utf8") for p in paths if p != ERRORS_PY}


def is_literal_message(node: ast.expr) -> bool:
    """Whether an expression writes a message out: a string literal, an f-string, a
    concatenation with one, or a `.format()` of a literal.

    node (ast.expr): The first argument of an exception or warning.
    RETURNS (bool): Whether it is an inline message.
    """
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return is_literal_message(node.left) or is_literal_message(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return is_literal_message(node.func.value)
    return False


def inline_messages(source: str, filename: str = "<source>") -> List[str]:
    """The places where a raise, a warning or a CLI failure writes its message inline.

    source (str): A module's source.
    filename (str): Its name, for the places.
    RETURNS (List[str]): "file:line" of each inline message.
    """
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        call = None
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            call = node.exc
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            call = node if name in ("warn", "fail") else None
        if call is not None and call.args and is_literal_message(call.args[0]):
            found.append(f"{filename}:{node.lineno}")
    return found


def defined_codes() -> List[str]:
    """Every code assignment in errors.py, repeats kept (a class dict would hide them).

    RETURNS (List[str]): The codes in the order they are written.
    """
    tree = ast.parse(ERRORS_PY.read_text(encoding="utf8"))
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in ("Errors", "Warnings"):
            for item in node.body:
                if isinstance(item, ast.Assign):
                    found.extend(t.id for t in item.targets if isinstance(t, ast.Name))
    return found


@pytest.mark.parametrize("cls,letter", [(Errors, "E"), (Warnings, "W")])
def test_every_message_renders_with_its_code_and_the_prefix(cls, letter: str) -> None:
    assert codes(cls)
    for code in codes(cls):
        assert re.fullmatch(rf"{letter}\d{{3}}", code), code
        message = getattr(cls, code)
        assert message.startswith(f"(spacy-lstm-tagger) [{code}] "), message
        # The text after the code is a sentence, not empty.
        assert len(strip_prefix(message)) > len(f"[{code}] ") + 10


def test_codes_are_unique() -> None:
    written = defined_codes()
    assert len(written) == len(set(written)), sorted(c for c in written if written.count(c) > 1)
    assert sorted(written) == sorted(codes(Errors) + codes(Warnings))


def test_every_code_is_used_and_every_used_code_is_defined() -> None:
    # errors.py itself uses E310, in BadLineError.
    sources = [*package_sources().values(), ERRORS_PY.read_text(encoding="utf8")]
    used = {match[1] for source in sources for match in USE.finditer(source)}
    used = {name.split(".")[1] for name in used}
    defined = set(codes(Errors)) | set(codes(Warnings))
    assert not defined - used, f"dead codes: {sorted(defined - used)}"
    assert not used - defined, f"undefined codes: {sorted(used - defined)}"


def test_no_raise_in_the_package_writes_its_message_inline() -> None:
    found = []
    for path, source in package_sources().items():
        found.extend(inline_messages(source, str(path.relative_to(PACKAGE))))
    assert not found, f"inline messages (add them to errors.py): {found}"


@pytest.mark.parametrize(
    "line,inline",
    [
        ('raise ValueError("bad")', True),
        ('raise ValueError(f"bad {x}")', True),
        ('raise ValueError("bad {x}".format(x=x))', True),
        ('raise ValueError("bad " + x)', True),
        ('warnings.warn("slow", stacklevel=2)', True),
        ('msg.fail("Interrupted.", exits=1)', True),
        ("raise LSTMTaggerError(Errors.E001.format(name=name))", False),
        ("raise WeightsError(message) from err", False),
        ("raise KeyError(label, n_labels)", False),
        ("warn(Warnings.W100)", False),
        ("raise", False),
    ],
)
def test_the_inline_message_check_itself(line: str, inline: bool) -> None:
    assert bool(inline_messages(line)) is inline


def test_the_exceptions_keep_the_builtin_types_callers_catch() -> None:
    """Code that caught the ValueError (or, for an empty corpus, TypeError) raised
    before still catches the package's exceptions."""
    classes = (LSTMTaggerError, WeightsError, EvaluationInputError, EmptyCorpusError)
    for cls in classes + (TagInputError, BadLineError):
        assert issubclass(cls, LSTMTaggerError) and issubclass(cls, ValueError)
    # The CLI shows every bad input to `tag` (a bad line too) without a traceback.
    assert issubclass(BadLineError, TagInputError)
    assert issubclass(TagInputError, EvaluationInputError)
    assert issubclass(EmptyCorpusError, TypeError)
    with pytest.raises(ValueError, match=r"^\(spacy-lstm-tagger\) \[E007\] Invalid target 'x'"):
        validate_targets("x", "string", "lstm_tagger")


def test_warnings_have_the_package_class_and_point_at_the_caller() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn(Warnings.W100, stacklevel=2)
    assert caught[0].category is LSTMTaggerWarning and issubclass(LSTMTaggerWarning, UserWarning)
    assert str(caught[0].message).startswith(f"{PREFIX}[W100] ")
    assert caught[0].filename == __file__


def test_a_bad_line_names_its_file_and_line_and_nests_the_reason_with_its_code() -> None:
    reason = Errors.E312.format(err="Expecting value")
    err = BadLineError(Path("in/a.jsonl"), 3, reason)
    assert str(err).startswith(
        f"{PREFIX}[E310] in/a.jsonl, line 3: [E312] not valid JSON (Expecting value). "
        "Nothing was written for this file."
    )
    assert (err.path, err.line, err.reason) == (Path("in/a.jsonl"), 3, reason)


def test_strip_prefix_keeps_the_code() -> None:
    assert (
        strip_prefix(Errors.E107) == "[E107] equal_length_groups needs the sequences longest first."
    )
    assert strip_prefix("[E930] spaCy's own") == "[E930] spaCy's own"
