"""`tag --n-process N`: worker processes that tag chunks of the files, in input order."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import List

import pytest
from spacy.language import Language
from test_tag import (  # noqa: F401 (model_dir: a fixture)
    CONLLU,
    assert_resume_finishes,
    cli,
    model_dir,
    start_tagging,
    tag,
    write_inputs,
)

from spacy_lstm_tagger.cli import tag_workers
from spacy_lstm_tagger.cli.tag import TagOptions, parse_n_process, run_tag
from spacy_lstm_tagger.cli.tag_formats import InputReader
from spacy_lstm_tagger.cli.tag_workers import plan_chunks, worker_counts
from spacy_lstm_tagger.errors import TagInputError

WORDS = ["The", "dog", "ate", "a", "cat", "Olga", "ran", "to", "the", "apple", "."]


def big_text(n_lines: int) -> str:
    """n_lines different lines (some blank), so that a misordered chunk shows."""
    lines = [" ".join(WORDS[(i + k) % len(WORDS)] for k in range(i % 7)) for i in range(n_lines)]
    return "\n".join(f"{i} {line}" if i % 13 else "" for i, line in enumerate(lines)) + "\n"


def write_big_inputs(folder: Path) -> Path:
    """Every input format (write_inputs), big files of three of them, and empty files."""
    write_inputs(folder)
    text = big_text(300)
    (folder / "big.txt").write_text(text, encoding="utf8")
    rows = [json.dumps({"text": line, "n": i}) for i, line in enumerate(text.splitlines())]
    (folder / "big_json.jsonl").write_text("\n".join(rows) + "\n", encoding="utf8")
    (folder / "big_conllu.conllu").write_text(CONLLU * 40, encoding="utf8")
    (folder / "empty_text.txt").write_bytes(b"")
    (folder / "empty_conllu.conllu").write_bytes(b"")
    return folder


def workers(fmt: str, chunk_lines: int = 5, **kwargs) -> TagOptions:
    """Options for two workers and small chunks."""
    return TagOptions(
        output_format=fmt, batch_size=7, n_process=2, chunk_lines=chunk_lines, **kwargs
    )


def outputs(folder: Path) -> dict:
    """RETURNS (dict): The bytes of every file under the folder, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("fmt", ["conllu", "jsonl", "spacy"])
def test_workers_write_the_same_bytes(tmp_path: Path, model_dir: Path, fmt: str):  # noqa: F811
    """Every input format, big files cut into many chunks: the same bytes and counts."""
    src = write_big_inputs(tmp_path / "in")
    assert len(plan_chunks(src / "big.txt", 5)) == 60
    one = tag(model_dir, [src], tmp_path / "one", fmt=fmt)
    two = run_tag(str(model_dir), [str(src)], tmp_path / "two", workers(fmt))
    assert outputs(tmp_path / "two") == outputs(tmp_path / "one")
    assert len(outputs(tmp_path / "one")) == 9
    for name in ("records", "docs", "words", "blank", "rejected"):
        assert two.total(name) == one.total(name)
    assert [r.source for r in two.results] == [r.source for r in one.results]


def test_workers_spawned_write_the_same_bytes(tmp_path: Path, model_dir: Path, monkeypatch):  # noqa: F811
    """Where the workers cannot be forked they are spawned: the same bytes either way."""
    src = write_big_inputs(tmp_path / "in")
    one = tag(model_dir, [src], tmp_path / "one", fmt="conllu")
    used: List[str] = []
    monkeypatch.setattr(tag_workers, "start_method", lambda *args: used.append("spawn") or "spawn")
    run_tag(str(model_dir), [str(src)], tmp_path / "spawned", workers("conllu"))
    assert used == ["spawn"]
    assert outputs(tmp_path / "spawned") == outputs(tmp_path / "one")
    assert one.total("words") > 0


def test_start_method_forks_only_where_it_is_safe(monkeypatch):
    """fork on Linux for CPU workers of one torch thread in a process with no other thread;
    spawn for more threads, a GPU, another live thread, or another platform."""
    threading = tag_workers.threading
    monkeypatch.setattr(tag_workers.sys, "platform", "linux")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert tag_workers.start_method(1, -1) == "fork"
    assert tag_workers.start_method(2, -1) == "spawn"
    assert tag_workers.start_method(1, 0) == "spawn"
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # e.g. a tqdm monitor thread
    assert tag_workers.start_method(1, -1) == "spawn"
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    for platform in ("darwin", "win32"):
        monkeypatch.setattr(tag_workers.sys, "platform", platform)
        assert tag_workers.start_method(1, -1) == "spawn"


def test_the_progress_bar_starts_no_thread():
    """tag's progress bar, shown (as on a terminal), starts no monitor thread, so the
    workers can still be forked after it; tqdm's own bar does (the negative control)."""
    import io
    import threading

    import tqdm

    from spacy_lstm_tagger.cli.tag import _Bar

    def stop_monitor() -> None:  # an earlier bar in this process may have started one
        if tqdm.tqdm.monitor is not None:
            tqdm.tqdm.monitor.exit()
            tqdm.tqdm.monitor = None

    stop_monitor()
    before = threading.active_count()
    bar = _Bar(total=100, file=io.StringIO(), disable=False)
    bar.update(50)
    assert threading.active_count() == before
    bar.close()
    plain = tqdm.tqdm(total=100, file=io.StringIO(), disable=False)
    try:
        assert threading.active_count() == before + 1
    finally:
        plain.close()
        stop_monitor()


def test_chunk_order_negative_control(tmp_path: Path, model_dir: Path, monkeypatch):  # noqa: F811
    """The order check above fails when the chunks come back out of order."""
    src = tmp_path / "big.txt"
    src.write_text(big_text(300), encoding="utf8")
    tag(model_dir, [src], tmp_path / "one")
    monkeypatch.setattr(tag_workers, "CHUNK_ORDER_HOOK", lambda chunks: chunks[::-1])
    run_tag(str(model_dir), [str(src)], tmp_path / "two", workers("conllu", chunk_lines=50))
    one, two = (tmp_path / d / "big.conllu" for d in ("one", "two"))
    assert two.read_bytes() != one.read_bytes()  # the comparison sees the misorder
    assert sorted(two.read_text().split("\n\n")) == sorted(one.read_text().split("\n\n"))


def test_n_process_auto_uses_the_usable_cpus():
    assert [parse_n_process(v) for v in ("auto", "AUTO", "0", "3")] == [0, 0, 0, 3]
    for bad in ("-1", "two"):
        with pytest.raises(TagInputError, match=r"\[E302\] Invalid --n-process"):
            parse_n_process(bad)
    n_cpus = len(os.sched_getaffinity(0))
    assert worker_counts(TagOptions(n_process=0)) == (n_cpus, 1)
    assert worker_counts(TagOptions(n_process=0, threads_per_process=2)) == (max(1, n_cpus // 2), 2)
    assert worker_counts(TagOptions(n_process=3, threads_per_process=2)) == (3, 2)


def test_plan_chunks_reads_whole_lines_and_sentences(tmp_path: Path, trained_nlp: Language):
    """Chunks cover the file; CoNLL-U chunks end at sentence ends; reading chunk by chunk
    gives the records of reading the file whole, with the same line numbers."""
    for name, text in (("a.txt", "\ufeff" + big_text(50)), ("b.conllu", CONLLU * 5)):
        path = tmp_path / name
        path.write_text(text, encoding="utf8")
        chunks = plan_chunks(path, 3)
        assert chunks[0][0] == 0 and chunks[-1][1] == path.stat().st_size
        assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:])) and len(chunks) > 2
        whole = [(r.line, r.end_offset, str(r.doc_input)) for r in InputReader(path, trained_nlp)]
        parts = []
        for start, end, first in chunks:
            reader = InputReader(path, trained_nlp, start=start, end=end, first_line=first)
            parts += [(r.line, r.end_offset, str(r.doc_input)) for r in reader]
        assert parts == whole


def test_workers_bad_line_stops(tmp_path: Path, model_dir: Path):  # noqa: F811
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a_good.txt").write_text("The dog ate .\n")
    lines = '{"text": "A dog ."}\n' * 50 + "not json\n" + '{"text": "A cat ."}\n'
    (tmp_path / "in" / "bad.jsonl").write_text(lines)
    out = tmp_path / "out"
    code, output = cli(model_dir, tmp_path / "in", "-o", out, "-n", "2", "--chunk-lines", "10")
    assert code == 1 and "[E310] " in output, output
    assert "bad.jsonl, line 51: [E312] not valid JSON" in output, output
    assert "Traceback" not in output
    assert sorted(p.name for p in out.iterdir()) == ["a_good.conllu"]


def test_workers_skip_bad(tmp_path: Path, model_dir: Path):  # noqa: F811
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "A dog ."}\n' * 50 + "not json\n\n" + '{"text": "A cat ."}\n')
    out = tmp_path / "out"
    summary = run_tag(str(model_dir), [str(source)], out, workers("jsonl", 10, skip_bad=True))
    rejects = [json.loads(x) for x in (out / "bad.jsonl.rejects.jsonl").open()]
    assert [(r["file"], r["line"], r["raw"]) for r in rejects] == [(str(source), 51, "not json")]
    assert len((out / "bad.jsonl").read_text().splitlines()) == 51 == summary.total("docs")
    assert summary.total("records") == 53 and summary.total("blank") == 1
    assert summary.total("rejected") == 1


def test_workers_empty_input(tmp_path: Path, model_dir: Path):  # noqa: F811
    (tmp_path / "in").mkdir()
    for name in ("e.txt", "f.jsonl", "g.conllu"):
        (tmp_path / "in" / name).write_bytes(b"")
    summary = run_tag(str(model_dir), [str(tmp_path / "in")], tmp_path / "out", workers("jsonl"))
    assert len(summary.results) == 3 and summary.total("records") == 0
    assert all(p.read_bytes() == b"" for p in (tmp_path / "out").iterdir())


def start_workers(tmp_path: Path, model_dir: Path) -> subprocess.Popen:  # noqa: F811
    """`tag -n 2` of a small, a big and a small file (`start_tagging`), its workers
    running, once the big file's .partial has its first chunk."""
    args = ["-n", "2", "--chunk-lines", "500", "-b", "100"]
    proc = start_tagging(tmp_path, model_dir, *args, timeout=180, stdout=subprocess.PIPE)
    assert proc.poll() is None
    assert len(children(proc.pid)) >= 2  # the workers (and maybe a resource tracker)
    return proc


def children(pid: int) -> List[int]:
    """RETURNS (List[int]): The live child processes of pid."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """RETURNS (bool): Whether the process runs (exists and is not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until_gone(pids: List[int], seconds: float = 60) -> None:
    """Fail unless every process in pids ends within the time."""
    deadline = time.time() + seconds
    while any(alive(pid) for pid in pids):
        assert time.time() < deadline, [pid for pid in pids if alive(pid)]
        time.sleep(0.05)


def test_workers_killed_then_resume(tmp_path: Path, model_dir: Path):  # noqa: F811
    """SIGKILL of the parent mid-file: no complete-looking file but the first; --resume with
    workers leaves the first untouched and finishes the others."""
    proc = start_workers(tmp_path, model_dir)
    pids = children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wait_until_gone(pids)  # orphaned workers end by themselves
    assert_resume_finishes(tmp_path, model_dir, "-n", "2")


def test_workers_ctrl_c(tmp_path: Path, model_dir: Path):  # noqa: F811
    """SIGINT to the parent: exit 130, no complete-looking or partial file for the file being
    tagged, and no worker left running."""
    proc = start_workers(tmp_path, model_dir)
    pids = children(proc.pid)
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout
    assert b"Interrupted" in stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.conllu"]
    wait_until_gone(pids)


def test_the_cli_chunk_default_is_the_options_default() -> None:
    """app.py writes the default out (it imports tag_core lazily): the two must agree."""
    import inspect

    from spacy_lstm_tagger.cli.app import tag_cli
    from spacy_lstm_tagger.cli.tag_core import DEFAULT_CHUNK_LINES

    option = inspect.signature(tag_cli).parameters["chunk_lines"].default
    assert option.default == DEFAULT_CHUNK_LINES == TagOptions("conllu").chunk_lines
