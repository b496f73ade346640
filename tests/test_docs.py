"""The examples of README.md and docs/*.md run, so the documentation cannot rot.

How examples are marked (docs/development.md, "How the examples are tested"):

- A fenced ```python block runs by default. The python blocks of one file run in order,
  in one namespace, in a temporary directory of that file's own.
- A ```bash (or ```sh, ```shell, ```console) block runs only when the line before its
  fence is `<!-- doc-test: run -->`; it runs with `bash -euo pipefail` in the same
  directory as the file's python blocks, with this interpreter's directory first on PATH.
- `<!-- doc-test: skip (reason) -->` on the line before a fence skips a block that would
  otherwise run (it needs a GPU, the network, a treebank, a long training, ...).
- Other fences (```ini, ```json, ``` or ```text output) are never run.

Each block is a test of its own, named by file and block number. A block runs after the
blocks before it in its file (run first if needed), and fails when one of them failed.
"""

import linecache
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import pytest

ROOT = Path(__file__).parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

PYTHON_LANGS = {"python", "py"}
SHELL_LANGS = {"bash", "sh", "shell", "console"}
MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*(?P<kind>\w+)\s*(?P<reason>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
SHELL_TIMEOUT = 300


@dataclass
class Block:
    path: Path
    index: int  # among the file's python and shell blocks
    line: int  # of the opening fence, from 1
    lang: str
    code: str
    marker: Optional[str]  # "run", "skip" or None
    reason: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.index}"

    @property
    def runs(self) -> bool:
        if self.marker == "skip":
            return False
        return self.lang in PYTHON_LANGS or self.marker == "run"


def parse_blocks(path: Path) -> List[Block]:
    """The python and shell blocks of a Markdown file, with their markers."""
    lines = path.read_text(encoding="utf8").splitlines()
    blocks: List[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, lang, start = match["indent"], match["lang"].lower(), i
        i += 1
        body = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if lang not in PYTHON_LANGS | SHELL_LANGS:
            continue
        marker, reason = None, ""
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        found = MARKER.match(lines[before]) if before >= 0 else None
        if found:
            marker, reason = found["kind"], found["reason"].strip("() ")
        code = textwrap.dedent("\n".join(body)) if indent else "\n".join(body)
        blocks.append(Block(path, len(blocks), start + 1, lang, code + "\n", marker, reason))
    return blocks


ALL_BLOCKS = [block for path in DOC_FILES for block in parse_blocks(path)]


@dataclass
class FileState:
    """What the blocks of one file share: a directory, a namespace, how far they ran."""

    directory: Path
    namespace: Dict = field(default_factory=lambda: {"__name__": "__doc_example__"})
    done: int = 0  # blocks of the file run (or skipped) so far
    failed: Optional[str] = None


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> Dict[Path, FileState]:
    return {
        path: FileState(tmp_path_factory.mktemp(path.stem.lower() + "_doc")) for path in DOC_FILES
    }


def shell_env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["OMP_NUM_THREADS"] = "1"  # the test machine is shared; tagging results do not change
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def execute(block: Block, state: FileState) -> None:
    """Run one block in its file's directory; raise with its output when it fails."""
    if block.lang in PYTHON_LANGS:
        filename = f"<{block.name} (line {block.line})>"
        # So that a traceback shows the example's own lines.
        lines = block.code.splitlines(keepends=True)
        linecache.cache[filename] = (len(block.code), None, lines, filename)
        code = compile(block.code, filename, "exec")
        cwd = os.getcwd()
        os.chdir(state.directory)
        try:
            exec(code, state.namespace)
        finally:
            os.chdir(cwd)
    else:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.code],
            cwd=state.directory,
            env=shell_env(),
            capture_output=True,
            text=True,
            timeout=SHELL_TIMEOUT,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{block.name} (line {block.line}) exited with {result.returncode}:\n"
                f"{block.code}\n--- stdout ---\n{result.stdout[-4000:]}\n"
                f"--- stderr ---\n{result.stderr[-4000:]}"
            )


def run_through(block: Block, state: FileState) -> None:
    """Run the file's blocks before `block` that have not run yet, then `block`."""
    blocks = [b for b in ALL_BLOCKS if b.path == block.path]
    while state.done <= block.index:
        current = blocks[state.done]
        state.done += 1
        if state.failed is not None:
            pytest.fail(f"{current.name}: an earlier example of the file failed ({state.failed})")
        if not current.runs:
            continue
        try:
            execute(current, state)
        except BaseException:
            state.failed = current.name
            raise


@pytest.fixture
def one_torch_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.name for b in ALL_BLOCKS])
def test_doc_example(block: Block, states, one_torch_thread) -> None:
    """Each python block, and each shell block marked `doc-test: run`, runs without error."""
    if block.marker == "skip":
        assert block.reason, f"{block.name}: a skip marker needs a reason"
        pytest.skip(f"{block.name} (line {block.line}): {block.reason}")
    if not block.runs:
        pytest.skip(
            f"{block.name} (line {block.line}): {block.lang} block not marked `doc-test: run`"
        )
    run_through(block, states[block.path])


def test_markers_are_known() -> None:
    """Every doc-test comment is `run` or `skip (reason)`, directly above a fence."""
    problems = []
    for path in DOC_FILES:
        lines = path.read_text(encoding="utf8").splitlines()
        for number, line in enumerate(lines, 1):
            if "doc-test" not in line or not line.strip().startswith("<!--"):
                continue
            match = MARKER.match(line)
            following = next((x for x in lines[number:] if x.strip()), "")
            if not match or match["kind"] not in {"run", "skip"}:
                problems.append(f"{path.name}:{number}: unknown marker {line.strip()}")
            elif match["kind"] == "skip" and not match["reason"].strip("() "):
                problems.append(f"{path.name}:{number}: skip without a reason")
            elif not FENCE.match(following):
                problems.append(f"{path.name}:{number}: marker not directly above a fence")
    assert not problems, "\n".join(problems)


LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def test_relative_links_resolve() -> None:
    """Every relative link in the docs names a file or directory of the repository."""
    broken = []
    for path in DOC_FILES:
        text = path.read_text(encoding="utf8")
        for match in LINK.finditer(text):
            target = match["target"].split("#")[0]
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)}: {match['target']}")
    assert not broken, "broken links:\n" + "\n".join(broken)
