"""The package's import graph has no cycle: every import between its modules, at the
top of a module or inside a function, points one way."""

import ast
from pathlib import Path
from typing import Dict, List, Set

import spacy_lstm_tagger

PACKAGE = Path(spacy_lstm_tagger.__file__).parent


def module_name(path: Path, root: Path) -> str:
    """RETURNS (str): The dotted name of a module file under the package root."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(name: str, source: str, is_package: bool, known: Set[str]) -> Set[str]:
    """The package modules one module imports, anywhere in its source.

    name (str): The module's dotted name.
    source (str): Its source.
    is_package (bool): Whether it is a package's `__init__`.
    known (Set[str]): The dotted names of the package's modules.
    RETURNS (Set[str]): The names it imports, itself left out.
    """
    parent = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = parent.split(".")[: len(parent.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:  # `from . import x` imports the module x
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {module for module in found if module in known and module != name}


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """RETURNS (List[List[str]]): One path for each cycle found by depth-first search."""
    cycles, done = [], set()

    def visit(node: str, path: List[str]) -> None:
        for target in sorted(graph[node]):
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node, [node])
    return cycles


def import_graph(sources: Dict[str, str], packages: Set[str]) -> Dict[str, Set[str]]:
    """RETURNS (Dict[str, Set[str]]): Each module's imports of the others."""
    known = set(sources)
    return {name: imported(name, src, name in packages, known) for name, src in sources.items()}


def test_the_package_imports_have_no_cycle() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    sources = {module_name(path, PACKAGE): path.read_text() for path in files}
    packages = {module_name(path, PACKAGE) for path in files if path.name == "__init__.py"}
    graph = import_graph(sources, packages)
    assert len(graph) > 30 and graph["spacy_lstm_tagger.cli.tag"]  # the walk found imports
    assert find_cycles(graph) == []


def test_a_cycle_is_found() -> None:
    """The negative control: a cycle through a lazy, relative import is reported."""
    sources = {
        "pkg": "",
        "pkg.cli": "",
        "pkg.cli.tag": "from .tag_ray import run\n",
        "pkg.cli.tag_ray": "def run():\n    from ..cli import tag\n",
        "pkg.errors": "",
    }
    graph = import_graph(sources, {"pkg", "pkg.cli"})
    assert graph["pkg.cli.tag"] == {"pkg.cli.tag_ray"}
    assert graph["pkg.cli.tag_ray"] == {"pkg.cli.tag"}
    assert find_cycles(graph) == [["pkg.cli.tag", "pkg.cli.tag_ray", "pkg.cli.tag"]]
