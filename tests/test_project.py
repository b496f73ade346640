"""The spaCy project (project.yml): `spacy project run all` on a tiny treebank that the
test writes, in a copy of the project, offline: convert, train, evaluate, report and
package; then the wheel installs in a fresh environment and tags, and a second run skips
every command.

The tiny treebank is 60 sentences of the demo corpus as CoNLL-U (UPOS, Penn tags and
`DEMO_FEATS` features) and the config is configs/ewt_joint.cfg with a small model and
a few dozen steps, so the workflow is the real one, only smaller."""

import json
import shutil
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import spacy
from conftest import PROJECT_ROOT, build_project_wheel, demo_morphs, fresh_venv, run_command
from spacy.tokens import Doc

pytest.importorskip("build")

# The workflow's commands, in order; `all` runs them all.
COMMANDS = ["convert", "train", "evaluate", "report", "package"]
# The lstm_tagger's targets in configs/ewt_joint.cfg, in the order of the annotations.
ATTRS = ("pos", "tag", "morph")
NAME = "lstm_project_test"
# spaCy prefixes the language: `--name lstm_project_test` is `en_lstm_project_test`.
PACKAGE = f"en_{NAME}"
VERSION = "0.0.1"
# Sentences of the demo corpus per split.
SPLITS = {"train": (0, 40), "dev": (40, 50), "test": (50, 60)}
# The wheel that the package command builds, in the project.
WHEEL = f"packages/{PACKAGE}-{VERSION}/dist/{PACKAGE}-{VERSION}-py3-none-any.whl"

LOAD_SCRIPT = """
import json, sys
import spacy, spacy_lstm_tagger
from spacy.tokens import Doc
nlp = spacy.load(sys.argv[1])
docs = nlp.pipe(Doc(nlp.vocab, words=words) for words in json.loads(sys.argv[2]))
print(json.dumps({
    "module": spacy_lstm_tagger.__file__,
    "annotations": [[[t.pos_, t.tag_, str(t.morph)] for t in doc] for doc in docs],
}))
"""


def gold_annotations(records: List[Dict]) -> List[List[List[str]]]:
    """The gold [UPOS, tag, FEATS] of each token of each record ("" for no features)."""
    return [
        [list(token) for token in zip(r["pos"], r["tags"], demo_morphs(r["tags"]))] for r in records
    ]


def flat(docs: List[List[List[str]]]) -> List[List[str]]:
    """The tokens of all docs, in order."""
    return [token for doc in docs for token in doc]


def write_conllu(path: Path, records: List[Dict]) -> None:
    """Write the records as CoNLL-U: UPOS, XPOS (the Penn tags), FEATS from
    `demo_morphs`, and a right-branching tree, since the converter reads heads.

    path (Path): The file to write.
    records (List[Dict]): Demo corpus sentences (words, pos, tags).
    """
    lines = []
    for n, record in enumerate(records):
        lines += [f"# sent_id = {path.stem}-{n}", f"# text = {' '.join(record['words'])}"]
        rows = zip(record["words"], record["pos"], record["tags"], demo_morphs(record["tags"]))
        for i, (word, pos, tag, feats) in enumerate(rows, 1):
            deprel = "root" if i == 1 else "dep"
            lines.append(f"{i}\t{word}\t_\t{pos}\t{tag}\t{feats or '_'}\t{i - 1}\t{deprel}\t_\t_")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf8")


def write_tiny_config(path: Path) -> None:
    """configs/ewt_joint.cfg with a small model and a short training, to train in
    seconds on one thread.

    path (Path): Where the config goes.
    """
    config = spacy.util.load_config(PROJECT_ROOT / "configs" / "ewt_joint.cfg", interpolate=False)
    config["training"].update({"max_steps": 40, "eval_frequency": 20, "patience": 0})
    config["training"]["optimizer"]["learn_rate"] = 0.01
    model = config["components"]["lstm_tagger"]["model"]
    model.update({"hidden_width": 32, "depth": 1})
    model["tok2vec"]["words"]["rows"] = [500, 100, 200, 100]
    model["tok2vec"]["chars"].update({"width": 16, "char_width": 8, "rows": 256})
    config.to_disk(path)


def run_all(project: Path, variables: Dict[str, str]) -> str:
    """`spacy project run all` in the project with the vars overridden.

    project (Path): The project directory, with project.yml.
    variables (Dict[str, str]): The vars to override, by name.
    RETURNS (str): Its output.
    """
    overrides = [arg for key, value in variables.items() for arg in (f"--vars.{key}", value)]
    # The overrides go after the project directory: before it, the first would be taken
    # for the directory.
    cmd = [sys.executable, "-m", "spacy", "project", "run", "all", ".", *overrides]
    return run_command(cmd, project, timeout=600)


@pytest.mark.slow
def test_project_workflow_builds_an_installable_pipeline(
    demo_records, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`spacy project run all` converts, trains, scores on gold tokens, reports and
    packages; the wheel installs with pip in a fresh environment and tags as the trained
    model does; a second run skips every command."""
    # One thread: the machine is shared. No index: `spacy package --build wheel` first
    # tries `python -m build`, whose isolated environment would download setuptools;
    # without an index it fails at once and spaCy builds with setup.py, offline.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    project = tmp_path / "workflow"  # not tmp/project, which build_project_wheel uses
    project.mkdir()
    shutil.copy(PROJECT_ROOT / "project.yml", project)
    shutil.copytree(PROJECT_ROOT / "configs", project / "configs")
    write_tiny_config(project / "configs" / "tiny.cfg")
    treebank = tmp_path / "treebank"
    treebank.mkdir()
    splits = {name: demo_records[start:end] for name, (start, end) in SPLITS.items()}
    for split, records in splits.items():
        write_conllu(treebank / f"tiny-ud-{split}.conllu", records)
    variables = {
        "treebank": "tiny",
        # Relative to the project, as the documented ../shared/data/ud-english-ewt.
        "treebank_dir": "../treebank",
        **{f"{split}_name": f"tiny-ud-{split}" for split in SPLITS},
        "config": "configs/tiny.cfg",
        "package_name": NAME,
        "package_version": VERSION,
    }

    out = run_all(project, variables)
    for name in COMMANDS:
        assert f"Skipping '{name}'" not in out
    for split in SPLITS:
        assert (project / "corpus" / "tiny" / f"tiny-ud-{split}.spacy").is_file()
    model_best = project / "training" / NAME / "model-best"
    assert (model_best / "meta.json").is_file()
    assert (project / "training" / NAME / "model-last" / "meta.json").is_file()
    wheel = project / WHEEL
    assert wheel.is_file()

    metrics = json.loads((project / "metrics" / f"{NAME}.json").read_text())
    # Gold tokens: every token of the treebank is a token of the prediction.
    assert metrics["token_acc"] == 1.0
    assert "morph_per_feat" in metrics
    for attr in ATTRS:
        assert 0.7 < metrics[f"{attr}_acc"] <= 1.0, (attr, metrics[f"{attr}_acc"])
    report = json.loads((project / "metrics" / f"{NAME}_report" / "report.json").read_text())
    assert (project / "metrics" / f"{NAME}_report" / "report.md").is_file()
    assert report["docs"] == len(splits["test"])
    assert set(report["reports"]) == set(ATTRS)
    for attr in ATTRS:
        assert report["reports"][attr]["accuracy"] == pytest.approx(metrics[f"{attr}_acc"])

    # Nothing changed: every command is skipped, none runs.
    again = run_all(project, variables)
    for name in COMMANDS:
        assert f"Skipping '{name}': nothing changed" in again
    assert "Running command" not in again

    dist = tmp_path / "dist"
    build_project_wheel(tmp_path, dist)
    python = fresh_venv(tmp_path, leave_out=(PACKAGE,))
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--no-index"]
    run_command([*pip, "--find-links", dist, wheel], tmp_path)
    words = [record["words"] for record in splits["test"]]
    out = run_command([python, "-c", LOAD_SCRIPT, PACKAGE, json.dumps(words)], tmp_path)
    loaded = json.loads(out.strip().splitlines()[-1])
    assert Path(loaded["module"]).is_relative_to(tmp_path / "venv")

    # The installed pipeline tags as the trained model does, with the treebank's labels,
    # and scores on the test sentences what `evaluate` measured.
    nlp = spacy.load(model_best)
    expected = [
        [[t.pos_, t.tag_, str(t.morph)] for t in doc]
        for doc in nlp.pipe(Doc(nlp.vocab, words=w) for w in words)
    ]
    assert loaded["annotations"] == expected
    train_labels = [set(column) for column in zip(*flat(gold_annotations(splits["train"])))]
    predicted = flat(loaded["annotations"])
    gold = flat(gold_annotations(splits["test"]))
    for column, attr in enumerate(ATTRS):
        assert {token[column] for token in predicted} <= train_labels[column], attr
        right = sum(p[column] == g[column] for p, g in zip(predicted, gold))
        assert right / len(gold) == pytest.approx(metrics[f"{attr}_acc"]), attr
