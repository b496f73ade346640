"""A joint `lstm_tagger` with spaCy's CLI: `init labels`, the score columns of `spacy train`,
and `spacy package` → pip → `spacy.load`."""

import json
import sys
from pathlib import Path
from typing import List

import numpy
import pytest
import spacy
from conftest import JOINT_TARGETS, demo_morphs, joint_examples, make_joint_nlp, run_command
from spacy.tokens import Doc, DocBin
from thinc.api import Config

CONFIGS = Path(__file__).parent.parent / "configs"
TEXTS = ["The dog ate the apple .", "They bought some red cakes near the river ."]


def joint_docbin(records: List[dict]) -> DocBin:
    """The records as gold docs with UPOS, tags and features."""
    vocab = spacy.blank("en").vocab
    docs = [
        Doc(vocab, words=r["words"], tags=r["tags"], pos=r["pos"], morphs=demo_morphs(r["tags"]))
        for r in records
    ]
    return DocBin(docs=docs, store_user_data=False)


@pytest.fixture
def joint_corpus(tmp_path: Path, demo_records) -> Path:
    """train.spacy (160 sentences) and dev.spacy (40) with UPOS, tags and features."""
    joint_docbin(demo_records[:160]).to_disk(tmp_path / "train.spacy")
    joint_docbin(demo_records[160:200]).to_disk(tmp_path / "dev.spacy")
    return tmp_path


def spacy_cli(*args: str, cwd: Path) -> str:
    """Run `python -m spacy ARGS` as a user would. RETURNS (str): Its standard output."""
    paths = ["--paths.train", "train.spacy", "--paths.dev", "dev.spacy"]
    return run_command([sys.executable, "-m", "spacy", *args, *paths], cwd, timeout=600)


def test_init_labels_writes_a_label_set_per_target(joint_corpus: Path, demo_records) -> None:
    """`spacy init labels` writes one sorted label list per target, and `initialize` takes
    that file as its labels."""
    make_joint_nlp().config.to_disk(joint_corpus / "joint.cfg")
    spacy_cli("init", "labels", "joint.cfg", "labels", cwd=joint_corpus)
    labels = json.loads((joint_corpus / "labels" / "lstm_tagger.json").read_text())
    records = demo_records[:160]
    expected = {
        "pos": sorted({p for r in records for p in r["pos"]}),
        "tag": sorted({t for r in records for t in r["tags"]}),
        "morph": sorted({m or "_" for r in records for m in demo_morphs(r["tags"])}),
    }
    assert labels == expected
    nlp = make_joint_nlp()
    read_labels = {
        "@readers": "spacy.read_labels.v1",
        "path": str(joint_corpus / "labels" / "lstm_tagger.json"),
    }
    nlp.config["initialize"]["components"]["lstm_tagger"] = {"labels": read_labels}
    nlp.initialize(lambda: joint_examples(nlp, demo_records[:2]))
    assert nlp.get_pipe("lstm_tagger").label_data == expected


@pytest.mark.parametrize(
    "config,columns",
    [
        ("ewt_upos.cfg", {"pos_acc"}),
        ("ewt_xpos.cfg", {"tag_acc"}),
        ("ewt_joint.cfg", {"pos_acc", "tag_acc", "morph_acc"}),
        ("ewt_joint_vectors.cfg", {"pos_acc", "tag_acc", "morph_acc"}),
        ("ewt_joint_accuracy.cfg", {"pos_acc", "tag_acc", "morph_acc"}),
        ("ewt_joint_fast.cfg", {"pos_acc", "tag_acc", "morph_acc"}),
        ("gdt_joint.cfg", {"pos_acc", "tag_acc", "morph_acc"}),
    ],
)
def test_shipped_configs_show_only_their_targets_scores(config: str, columns: set) -> None:
    """`spacy train` shows (and weighs) the scores whose weight is not null in the config
    spaCy combines from the factory's defaults and [training.score_weights]: a shipped
    config shows its targets' accuracies and no column that stays 0."""
    nlp = spacy.util.load_model_from_config(Config().from_disk(CONFIGS / config), auto_fill=True)
    weights = nlp.config["training"]["score_weights"]
    assert {key for key, value in weights.items() if value is not None} == columns


@pytest.mark.parametrize("path", sorted(CONFIGS.rglob("*.cfg")), ids=lambda p: p.name)
def test_shipped_optimizer_resolves_alone(path: Path) -> None:
    """`nlp.initialize()` without an optimizer resolves `[training.optimizer]` alone, not
    interpolated: every shipped config's optimizer resolves so, and a schedule that ends
    (warmup_linear) ends where `[training] max_steps` ends the run."""
    from thinc.api import Optimizer

    config = spacy.util.load_config(path, interpolate=False)
    block = config["training"]["optimizer"]
    optimizer = spacy.util.registry.resolve({"o": block})["o"]
    assert isinstance(optimizer, Optimizer)
    rate = block["learn_rate"]
    if isinstance(rate, dict) and "total_steps" in rate:
        assert rate["total_steps"] == config["training"]["max_steps"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "config_name", ["ewt_joint.cfg", "ewt_joint_vectors.cfg", "ewt_joint_fast.cfg"]
)
def test_spacy_train_joint_config(config_name: str, joint_corpus: Path, vectors_dir) -> None:
    """`spacy train configs/ewt_joint.cfg` (no --code) trains all three heads, shows their
    three accuracies, and saves a pipeline that writes all three attributes, each token's
    FEATS one seen with its predicted UPOS in training (the config restricts them). The
    vector presets do the same with `--paths.vectors` and save the vectors with them."""
    overrides = [
        "--training.max_steps", "60", "--training.eval_frequency", "30",
        "--components.lstm_tagger.model.hidden_width", "32",
        "--components.lstm_tagger.model.depth", "1",
        "--paths.vectors", str(vectors_dir),
    ]  # fmt: skip
    config = str(CONFIGS / config_name)
    if isinstance(spacy.util.load_config(config)["training"]["optimizer"]["learn_rate"], dict):
        # A schedule's warm-up (ewt_joint.cfg: 250 steps), shorter for 60 steps.
        overrides += ["--training.optimizer.learn_rate.warmup_steps", "10"]
    stdout = spacy_cli("train", config, "--output", "out", *overrides, cwd=joint_corpus)
    header = next(line for line in stdout.splitlines() if "SCORE" in line).split()
    assert [col for col in header if col.endswith("_ACC")] == ["TAG_ACC", "POS_ACC", "MORPH_ACC"]
    meta = json.loads((joint_corpus / "out" / "model-best" / "meta.json").read_text())
    assert min(meta["performance"][f"{t}_acc"] for t in JOINT_TARGETS) > 0.5
    nlp = spacy.load(joint_corpus / "out" / "model-best")
    assert nlp.vocab.vectors.shape == spacy.load(vectors_dir).vocab.vectors.shape
    doc = nlp("The dog ate the apple .")
    assert all(token.pos_ and token.tag_ and token.has_morph() for token in doc)
    pipe = nlp.get_pipe("lstm_tagger")
    assert pipe.restrict_morph_by_pos is True
    seen = pipe.cfg["morph_by_pos"]
    assert all((str(token.morph) or "_") in seen[token.pos_] for token in doc)


LOAD_SCRIPT = """
import json, sys
import spacy
nlp = spacy.load(sys.argv[1])
texts = json.loads(sys.argv[2])
probs = nlp.get_pipe("lstm_tagger").model.predict([nlp.make_doc(text) for text in texts])
print(json.dumps({
    "annotations": [[[t.pos_, t.tag_, str(t.morph)] for t in doc] for doc in nlp.pipe(texts)],
    "probs": [p.tolist() for p in probs],
}))
"""


@pytest.mark.slow
def test_joint_package_installs_and_loads_in_fresh_env(demo_records, tmp_path: Path) -> None:
    """`spacy package` of a joint tagger (features mode) installs in a fresh environment
    and loads with the same annotations and probabilities."""
    test_package = pytest.importorskip("test_package")
    spacy.util.fix_random_seed(0)
    nlp = make_joint_nlp("features")
    examples = joint_examples(nlp, demo_records[:20])
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(5):
        nlp.update(examples, sgd=optimizer)
    dist = tmp_path / "dist"
    test_package.build_project_wheel(tmp_path, dist)
    test_package.build_pipeline_package(nlp, tmp_path, dist)
    python = test_package.fresh_venv(tmp_path, leave_out=(test_package.PACKAGE,))
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--no-index"]
    run_command([*pip, "--find-links", dist, test_package.PACKAGE], tmp_path)
    out = run_command(
        [python, "-c", LOAD_SCRIPT, test_package.PACKAGE, json.dumps(TEXTS)], tmp_path
    )
    loaded = json.loads(out.strip().splitlines()[-1])
    assert loaded["annotations"] == [
        [[t.pos_, t.tag_, str(t.morph)] for t in doc] for doc in nlp.pipe(TEXTS)
    ]
    expected = nlp.get_pipe("lstm_tagger").model.predict([nlp.make_doc(text) for text in TEXTS])
    for got, want in zip(loaded["probs"], expected):
        numpy.testing.assert_allclose(numpy.asarray(got), want, rtol=0, atol=1e-6)
