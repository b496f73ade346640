"""`spacy package` → pip → `spacy.load`, in a fresh environment where this project is a
regular (non-editable) install that pip pulls in from the package's requirements.

No network: both wheels are built with `--no-isolation`, pip runs with `--no-index`,
and the fresh environment sees the other dependencies (spaCy, torch, ...) through a
`.pth` file pointing at a view of this environment's site-packages that leaves out
this project."""

import json
import sys
from pathlib import Path

import numpy
import pytest
from conftest import build_project_wheel, fresh_venv, run_command

from spacy_lstm_tagger import __version__

pytest.importorskip("build")

# spaCy prefixes the language: `--name lstm_test` of an English pipeline is `en_lstm_test`.
PACKAGE = "en_lstm_test"
TEXTS = ["The dog ate the apple .", "They bought some red cakes near the river ."]

LOAD_SCRIPT = """
import importlib.metadata as md, json, sys
import spacy, spacy_lstm_tagger
nlp = spacy.load(sys.argv[1])
docs = [nlp.make_doc(text) for text in json.loads(sys.argv[2])]
probs = nlp.get_pipe("lstm_tagger").model.predict(docs)
print(json.dumps({
    "module": spacy_lstm_tagger.__file__,
    "requires": md.requires(sys.argv[1]),
    "tags": [[token.tag_ for token in doc] for doc in nlp.pipe(json.loads(sys.argv[2]))],
    "probs": [p.tolist() for p in probs],
}))
"""


def build_pipeline_package(nlp, tmp: Path, dist: Path) -> Path:
    """`spacy package` the pipeline, then build its wheel offline.

    RETURNS (Path): The package directory, with its meta.json.
    """
    nlp.to_disk(tmp / "pipeline")
    (tmp / "packages").mkdir()
    cmd = ["-m", "spacy", "package", tmp / "pipeline", tmp / "packages", "--build", "none"]
    run_command([sys.executable, *cmd, "--name", "lstm_test", "--version", "0.0.1"], tmp)
    package_dir = tmp / "packages" / f"{PACKAGE}-0.0.1"
    run_command(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", dist, package_dir], tmp
    )
    return package_dir


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["trained_char_nlp", "trained_vectors_nlp"])
def test_package_installs_and_loads_in_fresh_env(fixture, request, tmp_path):
    # The character model: its three architectures must resolve in the fresh env too;
    # the vectors model: its vectors must travel in the package.
    """`spacy package` of the character model, and of the one with static vectors, installs
    with pip in a fresh environment, pulls this package in through its requirements, and
    loads with the same tags and probabilities."""
    trained_nlp = request.getfixturevalue(fixture)
    dist = tmp_path / "dist"
    build_project_wheel(tmp_path, dist)
    package_dir = build_pipeline_package(trained_nlp, tmp_path, dist)
    meta = json.loads((package_dir / "meta.json").read_text())
    assert any(req.startswith("spacy-lstm-tagger") for req in meta["requirements"])

    python = fresh_venv(tmp_path, leave_out=(PACKAGE,))
    # Only the pipeline package is named: pip must find spacy-lstm-tagger through
    # the package's requirements.
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--no-index"]
    installed = run_command([*pip, "--find-links", dist, PACKAGE], tmp_path)
    assert f"spacy-lstm-tagger-{__version__}" in installed

    out = run_command([python, "-c", LOAD_SCRIPT, PACKAGE, json.dumps(TEXTS)], tmp_path)
    loaded = json.loads(out.strip().splitlines()[-1])
    assert Path(loaded["module"]).is_relative_to(tmp_path / "venv")
    assert any(req.startswith("spacy-lstm-tagger") for req in loaded["requires"])
    assert loaded["tags"] == [[token.tag_ for token in doc] for doc in trained_nlp.pipe(TEXTS)]
    expected = trained_nlp.get_pipe("lstm_tagger").model.predict(
        [trained_nlp.make_doc(text) for text in TEXTS]
    )
    for got, want in zip(loaded["probs"], expected):
        numpy.testing.assert_allclose(numpy.asarray(got), want, rtol=1e-5, atol=1e-6)
