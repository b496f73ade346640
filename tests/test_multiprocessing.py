"""`nlp.pipe(n_process=2)` gives the tags of `n_process=1` and does not hang after the
parent has used torch's thread pool (spaCy issues 4667, 6662)."""

import json
import os
import signal
import subprocess
import sys
from subprocess import PIPE

import pytest

from spacy_lstm_tagger.cli.demo import load_demo_records

# Run in a fresh interpreter, so a hang is a timeout rather than a stuck test run.
SCRIPT = """
import json, sys
import spacy, torch
# The trap needs torch's intra-op thread pool in use in the parent, even on one core.
torch.set_num_threads(2)
nlp = spacy.load(sys.argv[1])
texts = json.loads(open(sys.argv[2]).read())
def tags(docs):
    return [[token.tag_ for token in doc] for doc in docs]
single = tags(nlp.pipe(texts, batch_size=50))
multi = tags(nlp.pipe(texts, batch_size=50, n_process=2))
print(json.dumps({"single": single, "multi": multi}))
"""


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
@pytest.mark.parametrize("pipeline", ["trained_nlp", "trained_char_nlp"])
def test_pipe_n_process_2_matches_and_does_not_hang(pipeline, request, tmp_path):
    trained_nlp = request.getfixturevalue(pipeline)
    # Enough text for torch to split its ops over threads.
    texts = [" ".join(record["words"]) for record in load_demo_records()[:200]] * 5
    trained_nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    cmd = [sys.executable, "-c", SCRIPT, str(tmp_path / "pipeline"), str(tmp_path / "texts.json")]
    # A new session: on a hang, the forked workers are killed along with their parent.
    proc = subprocess.Popen(
        cmd, env=env, stdout=PIPE, stderr=PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("nlp.pipe(n_process=2) hung: the forked workers are stuck in torch")
    assert proc.returncode == 0, stderr
    out = json.loads(stdout.strip().splitlines()[-1])
    assert out["multi"] == out["single"]
    assert out["single"] == [[token.tag_ for token in doc] for doc in trained_nlp.pipe(texts)]
