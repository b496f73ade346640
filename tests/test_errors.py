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
    EmptyCorpusError,
    Errors,
    EvaluationInputError,
    LSTMTaggerError,
    LSTMTaggerWarning,
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
# The `tag` command's modules still write their own messages (TagInputError and
# BadLineError texts); they get codes in E300-E349 and W300-W349 next. Until then they
# are the only modules let off.
TAG_MODULES = ("tag.py", "tag_jobs.py", "tag_ray.py", "tag_formats.py", "tag_workers.py")
EXCLUDED = {PACKAGE / "cli" / name for name in TAG_MODULES}
RESERVED = range(300, 350)
# A use of one of the package's codes; not spaCy's, which this package imports as SpacyErrors.
USE = re.compile(r"(?<![A-Za-z_])(Errors\.E\d{3}|Warnings\.W\d{3})\b")


def package_sources() -> Dict[Path, str]:
    """RETURNS (Dict[Path, str]): The source of each module, but errors.py and the excluded."""
    paths = sorted(PACKAGE.rglob("*.py"))
    return {p: p.read_text(encoding="utf8") for p in paths if p != ERRORS_PY and p not in EXCLUDED}


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


def test_codes_are_unique_and_outside_the_reserved_range() -> None:
    written = defined_codes()
    assert len(written) == len(set(written)), sorted(c for c in written if written.count(c) > 1)
    assert sorted(written) == sorted(codes(Errors) + codes(Warnings))
    assert not [code for code in written if int(code[1:]) in RESERVED]


def test_every_code_is_used_and_every_used_code_is_defined() -> None:
    used = {match[1] for source in package_sources().values() for match in USE.finditer(source)}
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
    for cls in (LSTMTaggerError, WeightsError, EvaluationInputError, EmptyCorpusError):
        assert issubclass(cls, LSTMTaggerError) and issubclass(cls, ValueError)
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


def test_strip_prefix_keeps_the_code() -> None:
    assert (
        strip_prefix(Errors.E107) == "[E107] equal_length_groups needs the sequences longest first."
    )
    assert strip_prefix("[E930] spaCy's own") == "[E930] spaCy's own"
