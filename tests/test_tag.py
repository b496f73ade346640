"""The `tag` command with the local engine: formats, bad input, resume, big and empty files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Tuple

import pytest
from conftest import make_nlp, records_to_examples, train_nlp
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_lstm_tagger.cli.app import app
from spacy_lstm_tagger.cli.tag import TagOptions, run_tag
from spacy_lstm_tagger.cli.tag_jobs import find_jobs
from spacy_lstm_tagger.errors import TagInputError

# A CoNLL-U sentence with a comment, a multiword token, an empty node and every column set.
CONLLU = (
    "# newdoc id = d1\n"
    "# sent_id = s1\n"
    "# text = I don't know.\n"
    "1\tI\tI\tPRON\tPRP\tCase=Nom\t3\tnsubj\t3:nsubj\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\tMood=Ind\t4\taux\t4:aux\t_\n"
    "3\tn't\tnot\tPART\tRB\tPolarity=Neg\t4\tadvmod\t4:advmod\t_\n"
    "4\tknow\tknow\tVERB\tVB\tVerbForm=Inf\t0\troot\t0:root\tSpaceAfter=No\n"
    "4.1\tit\t_\t_\t_\t_\t_\t_\t4:obj\t_\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_\n"
    "\n"
    "# sent_id = s2\n"
    "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t2:det\t_\n"
    "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t0:root\tSpaceAfter=No|Foo=Bar\n"
    "3\t.\t.\tPUNCT\t.\t_\t2\tpunct\t2:punct\t_\n"
    "\n"
)
CONLLU_WORDS = [["I", "do", "n't", "know", "."], ["The", "dog", "."]]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, trained_nlp: Language) -> Path:
    """trained_nlp (target "tag") on disk, as the command loads it."""
    path = tmp_path_factory.mktemp("model") / "tagger"
    trained_nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def pos_model_dir(tmp_path_factory, demo_records) -> Path:
    """A small tagger with target "pos" (sets UPOS only), on disk."""
    nlp = make_nlp("pos")
    train_nlp(nlp, records_to_examples(nlp, demo_records[:40]), n_iter=20)
    path = tmp_path_factory.mktemp("model") / "pos_tagger"
    nlp.to_disk(path)
    return path


def tag(model: Path, inputs: List, output: Path, fmt: str = "conllu", **kwargs):
    """run_tag with the test defaults."""
    opts = TagOptions(output_format=fmt, skip_bad=kwargs.pop("skip_bad", False))
    return run_tag(str(model), [str(i) for i in inputs], output, opts, **kwargs)


def cli(*args) -> Tuple[int, str]:
    """Run `python -m spacy_lstm_tagger tag ...` in this process.

    RETURNS (Tuple[int, str]): The exit code and the output, its lines unwrapped.
    """
    result = CliRunner().invoke(app, ["tag", *map(str, args)])
    return result.exit_code, " ".join(result.output.split())


def tags_of(nlp: Language, words: List[str]) -> List[str]:
    """The pipeline's tags for the words, tagged on their own."""
    return [t.tag_ for t in nlp(Doc(nlp.vocab, words=words))]


def write_inputs(folder: Path) -> Path:
    """One small file of each input format, the JSONL one in a subdirectory."""
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("The dog ate the apple .\n\nA cat sat .\n", encoding="utf8")
    records = [{"text": "The zebra ate .", "id": 7}, {"text": "Olga ran .", "id": 8}]
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (folder / "sub" / "b.jsonl").write_text(lines, encoding="utf8")
    (folder / "c.conllu").write_text(CONLLU, encoding="utf8")
    vocab = Vocab()
    docbin = DocBin(attrs=["ORTH", "TAG", "POS"])
    docbin.add(Doc(vocab, words=["The", "cat", "ran", "."], tags=["X", "X", "X", "X"]))
    docbin.to_disk(folder / "d.spacy")
    return folder


def read_conllu_words(path: Path) -> List[List[str]]:
    """The FORM of each word line, per sentence."""
    sentences = path.read_text(encoding="utf8").split("\n\n")
    return [
        [line.split("\t")[1] for line in s.splitlines() if line[:1].isdigit() and "\t" in line]
        for s in sentences
        if s.strip()
    ]


def test_find_jobs_keeps_relative_paths(tmp_path: Path):
    src = write_inputs(tmp_path / "in")
    (src / ".hidden.txt").write_text("x\n")
    out = tmp_path / "out"
    jobs = find_jobs([str(src), str(src / "a.txt"), str(src / "sub" / "*.jsonl")], out, "jsonl")
    targets = sorted(str(job.target.relative_to(out)) for job in jobs)
    assert targets == ["a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl", "sub/b.jsonl"]
    (src / "a.conllu").write_text(CONLLU)
    with pytest.raises(TagInputError, match=r"\[E307\] .* would both be written"):
        find_jobs([str(src)], out, "jsonl")
    with pytest.raises(TagInputError, match=r"\[E306\] No input file matches"):
        find_jobs([str(src / "*.nothing")], out, "jsonl")


def test_text_to_conllu_exact(tmp_path: Path, model_dir: Path, trained_nlp: Language):
    source = tmp_path / "t.txt"
    source.write_text("The dog  ate.\n \nA cat\n", encoding="utf8")
    summary = tag(model_dir, [source], tmp_path / "out")
    t1 = tags_of(trained_nlp, ["The", "dog", " ", "ate", "."])
    t2 = tags_of(trained_nlp, ["A", "cat"])
    expected = (
        "# sent_id = 1\n# text = The dog  ate.\n"
        f"1\tThe\t_\t_\t{t1[0]}\t_\t_\t_\t_\t_\n"
        f"2\tdog\t_\t_\t{t1[1]}\t_\t_\t_\t_\tSpacesAfter=\\s\\s\n"
        f"3\tate\t_\t_\t{t1[3]}\t_\t_\t_\t_\tSpaceAfter=No\n"
        f"4\t.\t_\t_\t{t1[4]}\t_\t_\t_\t_\t_\n\n"
        "# sent_id = 3\n# text = A cat\n"
        f"1\tA\t_\t_\t{t2[0]}\t_\t_\t_\t_\t_\n"
        f"2\tcat\t_\t_\t{t2[1]}\t_\t_\t_\t_\t_\n\n"
    )
    assert (tmp_path / "out" / "t.conllu").read_text(encoding="utf8") == expected
    assert (summary.total("records"), summary.total("docs"), summary.total("blank")) == (3, 2, 1)
    assert summary.total("words") == 7  # the whitespace token counts, as in spaCy


def test_conllu_round_trip_keeps_tokens_and_columns(
    tmp_path: Path, model_dir: Path, pos_model_dir: Path, trained_nlp: Language
):
    source = tmp_path / "c.conllu"
    source.write_text(CONLLU, encoding="utf8")
    tag(model_dir, [source], tmp_path / "xpos")
    tag(pos_model_dir, [source], tmp_path / "upos")
    for folder, column in (("xpos", 4), ("upos", 3)):
        got = (tmp_path / folder / "c.conllu").read_text(encoding="utf8").splitlines()
        want = CONLLU.splitlines()
        assert len(got) == len(want)
        for got_line, want_line in zip(got, want):
            got_cols, want_cols = got_line.split("\t"), want_line.split("\t")
            if not want_line[:1].isdigit() or "-" in want_cols[0] or "." in want_cols[0]:
                assert got_line == want_line  # comments, blank lines, MWT and empty nodes
                continue
            kept = [i for i in range(10) if i != column]
            assert [got_cols[i] for i in kept] == [want_cols[i] for i in kept]
    xpos = [line.split("\t")[4] for line in got_xpos_lines(tmp_path / "xpos" / "c.conllu")]
    assert xpos == tags_of(trained_nlp, CONLLU_WORDS[0]) + tags_of(trained_nlp, CONLLU_WORDS[1])


def got_xpos_lines(path: Path) -> List[str]:
    """The word lines of a CoNLL-U file (integer IDs)."""
    lines = path.read_text(encoding="utf8").splitlines()
    return [line for line in lines if line.split("\t")[0].isdigit()]


def test_conllu_spaces_reach_the_doc(tmp_path: Path, model_dir: Path):
    source = tmp_path / "c.conllu"
    source.write_text(CONLLU, encoding="utf8")
    tag(model_dir, [source], tmp_path / "out", fmt="jsonl")
    rows = [json.loads(line) for line in (tmp_path / "out" / "c.jsonl").open()]
    assert [row["text"] for row in rows] == ["I don't know. ", "The dog. "]
    assert [row["words"] for row in rows] == CONLLU_WORDS


@pytest.mark.parametrize("fmt", ["conllu", "jsonl", "spacy"])
def test_every_input_format(tmp_path: Path, model_dir: Path, trained_nlp: Language, fmt: str):
    src = write_inputs(tmp_path / "in")
    out = tmp_path / "out"
    summary = tag(model_dir, [src], out, fmt=fmt)
    words = {
        "a": [["The", "dog", "ate", "the", "apple", "."], ["A", "cat", "sat", "."]],
        "sub/b": [["The", "zebra", "ate", "."], ["Olga", "ran", "."]],
        "c": CONLLU_WORDS,
        "d": [["The", "cat", "ran", "."]],
    }
    for name, want in words.items():
        got = read_output(out / f"{name}.{fmt}", fmt, trained_nlp)
        assert [w for w, _ in got] == want, name
        # Retagged by the pipeline, never the file's old tags ("X" in d.spacy).
        assert [t for _, t in got] == [tags_of(trained_nlp, w) for w in want], name
    assert summary.total("docs") == 7 and summary.total("blank") == 1
    assert not list(out.rglob("*.partial")) and not list(out.rglob("*.rejects.jsonl"))
    if fmt == "jsonl":
        first = json.loads((out / "sub" / "b.jsonl").read_text().splitlines()[0])
        assert first["id"] == 7 and first["text"] == "The zebra ate ."  # input keys kept


def read_output(path: Path, fmt: str, nlp: Language) -> List:
    """(words, tags) of each doc of an output file."""
    if fmt == "spacy":
        docs = DocBin().from_disk(path).get_docs(nlp.vocab)
        return [([t.text for t in d], [t.tag_ for t in d]) for d in docs]
    if fmt == "jsonl":
        rows = [json.loads(line) for line in path.open(encoding="utf8")]
        return [(row["words"], row["tags"]) for row in rows]
    sentences = path.read_text(encoding="utf8").strip("\n").split("\n\n")
    result = []
    for sentence in sentences:
        cols = [line.split("\t") for line in sentence.splitlines() if line.split("\t")[0].isdigit()]
        result.append(([c[1] for c in cols], [c[4] for c in cols]))
    return result


# name: (content, the bad line, the start of the reason: its code and text)
BAD_INPUTS = {
    "bad.jsonl": (
        b'{"text": "A dog ."}\n{"text": "A cat"\n{"text": "Fine ."}\n',
        2,
        "[E312] not valid JSON",
    ),
    "bad.txt": (b"A dog .\nA caf\xe9 .\nFine .\n", 2, "[E311] not valid UTF-8"),
    "bad.conllu": (
        CONLLU.replace("1\tThe\tthe", "1\tThe").encode("utf8"),
        13,
        "[E315] a token line needs 10 tab",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_stops_before_writing(tmp_path: Path, model_dir: Path, name: str):
    content, line, reason = BAD_INPUTS[name]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a_good.txt").write_text("The dog ate .\n")
    (tmp_path / "in" / name).write_bytes(content)
    out = tmp_path / "out"
    code, output = cli(model_dir, tmp_path / "in", "-o", out)
    assert code == 1, output
    assert "[E310] " in output and f"{name}, line {line}: {reason}" in output
    assert "Traceback" not in output
    # The good file before it is complete; nothing at all for the bad one.
    assert sorted(p.name for p in out.iterdir()) == ["a_good.conllu"]


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_skip_bad_writes_rejects(tmp_path: Path, model_dir: Path, name: str):
    content, line, reason = BAD_INPUTS[name]
    source = tmp_path / name
    source.write_bytes(content)
    out = tmp_path / "out"
    summary = tag(model_dir, [source], out, fmt="jsonl", skip_bad=True)
    stem = Path(name).stem
    rejects = [json.loads(x) for x in (out / f"{stem}.jsonl.rejects.jsonl").open()]
    assert [(r["file"], r["line"]) for r in rejects] == [(str(source), line)]
    assert rejects[0]["error"].startswith(reason)
    n_docs = len((out / f"{stem}.jsonl").read_text().splitlines())
    n_records = 2 if name.endswith(".conllu") else 3  # CoNLL-U records are sentences
    assert summary.total("records") == n_records == n_docs + summary.total("rejected")
    assert summary.total("docs") == n_docs and summary.total("rejected") == 1


def test_skip_bad_keeps_the_bad_line_text(tmp_path: Path, model_dir: Path):
    source = tmp_path / "bad.txt"
    source.write_bytes(BAD_INPUTS["bad.txt"][0])
    tag(model_dir, [source], tmp_path / "out", skip_bad=True)
    reject = json.loads((tmp_path / "out" / "bad.conllu.rejects.jsonl").read_text())
    assert reject["raw"] == "A caf\\xe9 ."


def test_corrupt_docbin(tmp_path: Path, model_dir: Path):
    (tmp_path / "x.spacy").write_bytes(b"not a docbin")
    code, output = cli(model_dir, tmp_path / "x.spacy", "-o", tmp_path / "out")
    assert code == 1 and "x.spacy, line 1: [E319] not a readable spaCy DocBin" in output


@pytest.mark.parametrize("fmt", ["conllu", "jsonl", "spacy"])
def test_empty_input(tmp_path: Path, model_dir: Path, trained_nlp: Language, fmt: str):
    (tmp_path / "in").mkdir()
    for name in ("e.txt", "f.jsonl", "g.conllu", "h.spacy"):
        (tmp_path / "in" / name).write_bytes(b"" if name != "h.spacy" else DocBin().to_bytes())
    summary = tag(model_dir, [tmp_path / "in"], tmp_path / "out", fmt=fmt)
    assert len(summary.results) == 4 and summary.total("records") == 0
    for name in "efgh":
        path = tmp_path / "out" / f"{name}.{fmt}"
        if fmt == "spacy":
            assert read_output(path, fmt, trained_nlp) == []
        else:
            assert path.read_bytes() == b""


def test_missing_pipeline_is_a_clear_message(tmp_path: Path):
    (tmp_path / "a.txt").write_text("A dog .\n")
    code, output = cli(tmp_path / "no_model", tmp_path / "a.txt", "-o", tmp_path / "out")
    assert code == 1 and "[E305] Cannot find the pipeline" in output
    assert "Traceback" not in output
    assert not (tmp_path / "out").exists()


def test_empty_directory_warns(tmp_path: Path, model_dir: Path):
    (tmp_path / "in").mkdir()
    code, output = cli(model_dir, tmp_path / "in", "-o", tmp_path / "out")
    assert code == 0 and "[W300] No input files found" in output


def test_100k_line_file(tmp_path: Path, model_dir: Path):
    source = tmp_path / "big.txt"
    lines = [f"w{i % 97} ran" if i % 1000 else "" for i in range(100_000)]
    source.write_text("\n".join(lines) + "\n", encoding="utf8")
    summary = tag(model_dir, [source], tmp_path / "out", fmt="jsonl")
    rows = (tmp_path / "out" / "big.jsonl").read_text(encoding="utf8").splitlines()
    assert len(rows) == summary.total("docs") == 99_900 and summary.total("blank") == 100
    assert summary.total("records") == 100_000 and summary.total("words") == 2 * 99_900
    assert json.loads(rows[-1])["text"] == lines[-1] == f"w{99_999 % 97} ran"


def test_existing_outputs_need_resume_or_overwrite(tmp_path: Path, model_dir: Path):
    source = tmp_path / "a.txt"
    source.write_text("The dog ate .\n")
    assert cli(model_dir, source, "-o", tmp_path / "out")[0] == 0
    code, output = cli(model_dir, source, "-o", tmp_path / "out")
    assert code == 1 and "[E308] 1 output file(s) exist already" in output
    assert "--resume" in output
    assert cli(model_dir, source, "-o", tmp_path / "out", "--overwrite")[0] == 0


def test_failure_mid_file_then_resume(tmp_path: Path, model_dir: Path, monkeypatch):
    (tmp_path / "in").mkdir()
    for name in ("a", "b", "c"):
        text = "".join(f"The {name} dog ate {i} .\n" for i in range(30))
        (tmp_path / "in" / f"{name}.txt").write_text(text)
    out = tmp_path / "out"
    reference = tag(model_dir, [tmp_path / "in"], tmp_path / "ref")
    from spacy_lstm_tagger.cli import tag_formats

    write = tag_formats.OutputWriter.write
    calls = []

    def crash_in_file_b(self, record, doc):
        calls.append(record)
        if len(calls) == 40:  # the 10th doc of b.txt
            raise KeyboardInterrupt
        write(self, record, doc)

    monkeypatch.setattr(tag_formats.OutputWriter, "write", crash_in_file_b)
    with pytest.raises(KeyboardInterrupt):
        tag(model_dir, [tmp_path / "in"], out)
    assert sorted(p.name for p in out.iterdir()) == ["a.conllu"]  # no half b, no .partial
    before = (out / "a.conllu").stat()
    monkeypatch.setattr(tag_formats.OutputWriter, "write", write)
    summary = tag(model_dir, [tmp_path / "in"], out, resume=True)
    assert summary.skipped == [str(tmp_path / "in" / "a.txt")] and len(summary.results) == 2
    after = (out / "a.conllu").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    for name in ("a.conllu", "b.conllu", "c.conllu"):
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
    assert len(reference.results) == 3


def default_sigint() -> None:
    """Restore SIGINT's default handling in a child process before it starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_tagging(
    tmp_path: Path, model_dir: Path, *args: str, timeout: float = 120, stdout=subprocess.DEVNULL
) -> subprocess.Popen:
    """Start `tag` (plus `args`) on a small, a big and a small file in a child process
    (one torch thread); RETURNS it once the big file's .partial has output."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("The dog ate .\n")
    (tmp_path / "in" / "b.txt").write_text("The cat ran to the dog .\n" * 20_000)
    (tmp_path / "in" / "c.txt").write_text("A cat .\n")
    cmd = [sys.executable, "-m", "spacy_lstm_tagger", "tag", str(model_dir), str(tmp_path / "in")]
    cmd += ["-o", str(tmp_path / "out"), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # SIGINT as at a terminal: a shell without job control starts background commands
    # (`make test &`) with SIGINT ignored, and a child inherits that.
    proc = subprocess.Popen(
        cmd, env=env, stdout=stdout, stderr=subprocess.DEVNULL, preexec_fn=default_sigint
    )
    partial = tmp_path / "out" / "b.conllu.partial"
    deadline = time.time() + timeout
    while not (partial.exists() and partial.stat().st_size > 0) and proc.poll() is None:
        assert time.time() < deadline
        time.sleep(0.005)
    return proc


def assert_resume_finishes(tmp_path: Path, model_dir: Path, *args: str) -> None:
    """After `start_tagging`'s run was killed: only the first file is complete, and
    `--resume` (plus `args`) leaves it untouched and finishes the others."""
    out = tmp_path / "out"
    assert (out / "a.conllu").exists()
    assert not (out / "b.conllu").exists() and not (out / "c.conllu").exists()
    before = (out / "a.conllu").stat()
    code, output = cli(model_dir, tmp_path / "in", "-o", out, "--resume", *args)
    assert code == 0, output
    after = (out / "a.conllu").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in out.iterdir()) == ["a.conllu", "b.conllu", "c.conllu"]
    assert (out / "b.conllu").read_text().count("# sent_id = ") == 20_000


def test_killed_process_then_resume(tmp_path: Path, model_dir: Path):
    """SIGKILL in the middle of the second file: no complete-looking file for it or the
    third; --resume leaves the first file untouched and finishes the others."""
    proc = start_tagging(tmp_path, model_dir, "--batch-size", "100")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert_resume_finishes(tmp_path, model_dir, "--format", "conllu")


def test_summary_is_printed(tmp_path: Path, model_dir: Path):
    source = tmp_path / "a.jsonl"
    source.write_text('{"text": "The dog ."}\n\n{"oops": 1}\n')  # a doc, a blank, a reject
    result = CliRunner().invoke(
        app,
        [
            "tag",
            str(model_dir),
            str(source),
            "-o",
            str(tmp_path / "out"),
            "--skip-bad",
            "-f",
            "jsonl",
        ],
    )
    assert result.exit_code == 0, result.output
    for label, value in (("records read", 3), ("docs tagged", 1), ("rejected", 1), ("blank", 1)):
        line = next(x for x in result.output.splitlines() if label in x)
        assert line.split()[-1] == str(value), line


def test_vectors_pipeline_tags_alike_in_every_local_engine(
    tmp_path: Path, trained_vectors_nlp: Language
):
    """A pipeline with static vectors, loaded from disk by the command, writes the tags
    the pipeline gives in this process, in one process and in two."""
    model = tmp_path / "vectors_tagger"
    trained_vectors_nlp.to_disk(model)
    src = write_inputs(tmp_path / "in")
    tag(model, [src], tmp_path / "one")
    opts = TagOptions(output_format="conllu", batch_size=2, n_process=2)
    run_tag(str(model), [str(src)], tmp_path / "two", opts)
    one = tmp_path / "one" / "a.conllu"
    assert (tmp_path / "two" / "a.conllu").read_bytes() == one.read_bytes()
    tags = [line.split("\t")[4] for line in one.read_text().splitlines() if "\t" in line]
    words = [["The", "dog", "ate", "the", "apple", "."], ["A", "cat", "sat", "."]]
    assert tags == [t for w in words for t in tags_of(trained_vectors_nlp, w)]
