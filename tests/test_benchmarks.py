"""The benchmarks: every module imports (a broken import is caught here, not after hours
of training), none reaches into sys.path or the tests, and BENCHMARKS.md and README.md's
summary table are what the committed result files give, so they cannot drift from them.
Nothing here needs ../shared (a user's clone has none)."""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import benchmarks
from benchmarks import render

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(info.name for info in pkgutil.iter_modules(benchmarks.__path__))


def test_every_script_is_a_module() -> None:
    scripts = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem != "__init__")
    assert scripts == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str) -> None:
    importlib.import_module(f"benchmarks.{name}")


@pytest.mark.parametrize("name", MODULES)
def test_imports_siblings_as_a_package(name: str) -> None:
    source = (ROOT / "benchmarks" / f"{name}.py").read_text()
    assert "sys.path" not in source
    assert not re.search(r"^\s*(from|import) (tests|test_)", source, re.MULTILINE)


def test_benchmarks_md_is_rendered_from_the_result_files() -> None:
    text = render.benchmarks_md()
    assert text == render.benchmarks_md()  # deterministic
    assert (ROOT / "BENCHMARKS.md").read_text() == text, "run: python -m benchmarks.render"


def test_readme_table_is_rendered_from_the_result_files() -> None:
    readme = ROOT / "README.md"
    assert readme.read_text() == render.readme_md(readme), "run: python -m benchmarks.render"
