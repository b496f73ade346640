"""`nlp.pipe(n_process=2)` gives the tags of `n_process=1` with every start method: fork
(where it must not hang after the parent has used torch's thread pool, spaCy issues 4667
and 6662), spawn and forkserver (where the pipeline is pickled), for every shipped config."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from subprocess import PIPE
from typing import Dict, List

import pytest
import spacy
from conftest import SHIPPED_CONFIGS, load_shipped_config, training_examples
from spacy.language import Language

from spacy_lstm_tagger.cli.demo import load_demo_records

CONFIGS = SHIPPED_CONFIGS

# Run in a fresh interpreter, so a hang is a timeout rather than a stuck test run.
SCRIPT = """
import json, multiprocessing, sys
import spacy, torch
start_method, texts_path, mode, *pipelines = sys.argv[1:]
multiprocessing.set_start_method(start_method, force=True)
# The fork trap needs torch's intra-op thread pool in use in the parent, even on one core.
torch.set_num_threads(2)
texts = json.loads(open(texts_path).read())
def tags(docs):
    return [[(token.tag_, token.pos_, str(token.morph)) for token in doc] for doc in docs]
def predict_in_training_mode(self, inputs):
    # The negative control: the workers run the torch modules with dropout on.
    self._model.train()
    with torch.no_grad():
        return self._model(*inputs.args, **inputs.kwargs)
if __name__ == "__main__":
    out = {}
    for path in pipelines:
        nlp = spacy.load(path)
        single = tags(nlp.pipe(texts, batch_size=50))
        if mode == "training-mode-workers":
            from spacy_lstm_tagger import reference_paths
            from spacy_lstm_tagger.layers.shim import AveragingPyTorchShim
            AveragingPyTorchShim.predict = predict_in_training_mode
            # The inference-only flat layout refuses training mode: take the packed one.
            reference = reference_paths()
            reference.__enter__()
        multi = tags(nlp.pipe(texts, batch_size=50, n_process=2))
        out[path] = {"single": single, "multi": multi}
    print(json.dumps(out))
"""


def run_texts() -> List[str]:
    """RETURNS (List[str]): The texts every run of SCRIPT tags."""
    return [" ".join(record["words"]) for record in load_demo_records()[:200]] * 3


def run_script(tmp_path: Path, start_method: str, pipelines: List[Path], mode: str = "") -> Dict:
    """Run SCRIPT in a new process session; fail the test if it hangs."""
    (tmp_path / "texts.json").write_text(json.dumps(run_texts()))
    script = tmp_path / "pipe_script.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    cmd = [sys.executable, str(script), start_method, str(tmp_path / "texts.json"), mode or "-"]
    cmd += [str(path) for path in pipelines]
    # A new session: on a hang, the workers are killed along with their parent.
    proc = subprocess.Popen(
        cmd, env=env, stdout=PIPE, stderr=PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"nlp.pipe(n_process=2) hung with start method {start_method!r}")
    assert proc.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def shipped_pipeline(config_path: Path, records: List[Dict], out: Path, vectors: Path) -> Path:
    """Build a shipped config, train its tagger briefly with dropout on, save it."""
    config = load_shipped_config(config_path, vectors)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = training_examples(nlp, records)
    optimizer = nlp.initialize(lambda: examples)
    # The parser is initialized, not trained: the toy trees are not parses.
    for i in range(4):
        nlp.update(examples[i * 5 : i * 5 + 5], sgd=optimizer, drop=0.33, exclude=["parser"])
    path = out / f"{config_path.parent.name}_{config_path.stem}"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def shipped_pipelines(tmp_path_factory, vectors_dir) -> Dict[str, Path]:
    """Every shipped config, trained briefly and saved: pipeline directories by config name
    (those with vectors read a small test table)."""
    out = tmp_path_factory.mktemp("shipped")
    records = load_demo_records()
    return {path.name: shipped_pipeline(path, records, out, vectors_dir) for path in CONFIGS}


@pytest.fixture(scope="module")
def default_pipeline(tmp_path_factory, trained_default_nlp) -> Path:
    """The factory's default model (characters, dropout, word dropout), trained and saved."""
    path = tmp_path_factory.mktemp("default") / "pipeline"
    trained_default_nlp.to_disk(path)
    return path


def assert_same_tags(out: Dict, pipelines: List[Path]) -> None:
    """Each pipeline was run, annotated every token of every text in one process, and
    n_process=2 gave the same annotations."""
    assert set(out) == {str(path) for path in pipelines}
    n_texts = len(run_texts())
    for path, result in out.items():
        assert len(result["single"]) == n_texts and all(result["single"]), path
        assert all(any(token) for doc in result["single"] for token in doc), path
        assert result["multi"] == result["single"], path


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
@pytest.mark.parametrize("fixture", ["trained_nlp", "trained_char_nlp"])
def test_fork_n_process_2_matches_and_does_not_hang(
    fixture, request, default_pipeline, tmp_path
) -> None:
    """Forked workers tag as one process does, and do not hang in torch's pool."""
    trained: Language = request.getfixturevalue(fixture)
    trained.to_disk(tmp_path / "small")
    pipelines = [tmp_path / "small", default_pipeline]
    out = run_script(tmp_path, "fork", pipelines)
    assert_same_tags(out, pipelines)
    texts = json.loads((tmp_path / "texts.json").read_text())
    expected = [[(t.tag_, t.pos_, str(t.morph)) for t in doc] for doc in trained.pipe(texts)]
    assert [[tuple(tags) for tags in doc] for doc in out[str(tmp_path / "small")]["single"]] == (
        expected
    )


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
@pytest.mark.parametrize("config", [path.name for path in CONFIGS])
def test_spawn_n_process_2_with_every_shipped_config(shipped_pipelines, config, tmp_path) -> None:
    """Under spawn (macOS's and Windows' default) the pipeline is pickled to the workers:
    every shipped config pickles and its workers tag as one process does (each config in
    its own run, so that each gets the whole time limit)."""
    pipelines = [shipped_pipelines[config]]
    assert_same_tags(run_script(tmp_path, "spawn", pipelines), pipelines)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
def test_forkserver_n_process_2_with_the_default_model(default_pipeline, tmp_path) -> None:
    """Under forkserver (Python 3.14's default on Linux) too."""
    assert_same_tags(run_script(tmp_path, "forkserver", [default_pipeline]), [default_pipeline])


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
def test_negative_control_training_mode_workers_are_caught(default_pipeline, tmp_path) -> None:
    """The comparison above would catch workers that tag in training mode (dropout on):
    forked workers patched to do so give other tags than one process."""
    out = run_script(tmp_path, "fork", [default_pipeline], mode="training-mode-workers")
    result = out[str(default_pipeline)]
    assert result["multi"] != result["single"]


THREADS_SCRIPT = """
import multiprocessing, sys
import spacy, torch
torch.set_num_threads(2)
nlp = spacy.load(sys.argv[1])
nlp("The parent uses the thread pool .")
def report(queue, tag):
    if tag:
        nlp("A worker that tags .")
    queue.put(torch.get_num_threads())
if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    for tag in (False, True):
        queue = context.Queue()
        child = context.Process(target=report, args=(queue, tag))
        child.start()
        print(queue.get(timeout=120))
        child.join()
"""


def test_only_forks_that_tag_get_one_torch_thread(default_pipeline, tmp_path) -> None:
    """A fork that never runs the tagger keeps the parent's torch threads; a fork that
    tags is set to one thread, so it cannot hang in the parent's pool."""
    script = tmp_path / "threads_script.py"
    script.write_text(THREADS_SCRIPT)
    cmd = [sys.executable, str(script), str(default_pipeline)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "1"]
