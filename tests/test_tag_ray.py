"""The `tag` command on Ray Data: the same files as the local engine, on a local Ray with 2 CPUs.

Ray takes seconds to start, so one Ray runtime serves the whole module.
"""

import builtins
from pathlib import Path

import pytest

from spacy_lstm_tagger.cli.tag import TagOptions, run_tag
from spacy_lstm_tagger.errors import TagInputError

ray = pytest.importorskip("ray", reason="the Ray engine needs the ray extra: pip install .[ray]")


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray with 2 CPUs, shared by the tests of this module."""
    import logging

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, trained_nlp) -> Path:
    path = tmp_path_factory.mktemp("model") / "tagger"
    trained_nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def vectors_model_dir(tmp_path_factory, trained_vectors_nlp) -> Path:
    path = tmp_path_factory.mktemp("model") / "vectors_tagger"
    trained_vectors_nlp.to_disk(path)
    return path


def write_corpus(folder: Path) -> Path:
    """Text, JSONL, CoNLL-U (with a multiword token) and a blank line, in a tree."""
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("The dog ate the apple .\n\nA cat  sat .\n" * 20)
    (folder / "sub" / "b.jsonl").write_text('{"text": "Olga ran .", "id": 1}\n' * 30)
    (folder / "c.conllu").write_text(
        "# sent_id = s1\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
        "1\tdo\tdo\tAUX\tVBP\t_\t0\troot\t_\t_\n2\tn't\tnot\tPART\tRB\t_\t1\tadvmod\t_\t_\n\n"
    )
    (folder / "d.txt").write_text("A dog .\n" * 50)
    return folder


@pytest.mark.parametrize(
    "fmt,model", [("conllu", "model_dir"), ("spacy", "model_dir"), ("conllu", "vectors_model_dir")]
)
def test_ray_files_are_byte_identical(
    tmp_path: Path, request, ray_cluster, fmt: str, model: str, monkeypatch
):
    """The Ray engine writes the local engine's files, also for a pipeline with vectors."""
    model_dir = request.getfixturevalue(model)
    src = write_corpus(tmp_path / "in")
    opts = TagOptions(output_format=fmt, batch_size=7)
    local = run_tag(str(model_dir), [str(src)], tmp_path / "local", opts)
    # Relative paths, as users type them: the actors do not share the driver's directory.
    monkeypatch.chdir(tmp_path)
    ray_options = {"workers": 2, "cpus_per_worker": 1}
    remote = run_tag(
        str(model_dir), ["in"], Path("ray"), opts, engine="ray", ray_options=ray_options
    )
    assert remote.results and not any(Path(r.source).is_absolute() for r in remote.results)
    local_files = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*"))
    ray_files = sorted(p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray").rglob("*"))
    assert ray_files == local_files and len(local_files) == 5  # 4 files and sub/
    for relative in local_files:
        if (tmp_path / "local" / relative).is_file():
            want = (tmp_path / "local" / relative).read_bytes()
            assert (tmp_path / "ray" / relative).read_bytes() == want, relative
    for name in ("records", "docs", "words", "blank", "rejected"):
        assert remote.total(name) == local.total(name), name
    assert remote.total("docs") == 40 + 30 + 1 + 50


def test_ray_bad_input_stops_with_a_message(tmp_path: Path, model_dir: Path, ray_cluster):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.jsonl").write_text('{"text": "A dog ."}\nnot json\n')
    opts = TagOptions(output_format="jsonl")
    with pytest.raises(
        TagInputError, match=r"\[E310\] .*bad.jsonl, line 2: \[E312\] not valid JSON"
    ):
        run_tag(str(model_dir), [str(tmp_path / "in")], tmp_path / "out", opts, engine="ray")
    assert not (tmp_path / "out" / "bad.jsonl").exists()
    assert not list((tmp_path / "out").glob("*.partial"))


def test_missing_ray_is_a_clear_message(tmp_path: Path, model_dir: Path, monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    (tmp_path / "a.txt").write_text("A dog .\n")
    with pytest.raises(ImportError, match=r"\[E322\] .*pip install 'spacy-lstm-tagger\[ray\]'"):
        run_tag(
            str(model_dir), [str(tmp_path / "a.txt")], tmp_path / "out", TagOptions(), engine="ray"
        )
