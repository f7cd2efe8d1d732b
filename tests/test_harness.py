"""The papermill harness on a tiny temporary book: execution, failures, recordings, staging."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from xinpaint import harness

HEADER = textwrap.dedent(
    """\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---
    """
)


CHAPTER = textwrap.dedent(
    """
    (chapter-{name})=
    # Chapter {name}

    Intro of {name}.

    ```{{code-cell}} ipython3
    :tags: [parameters]
    profile = "smoke"
    ```

    ```{{code-cell}} ipython3
    {body}
    ```
    """
)


def _chapter(name: str, body: str) -> str:
    return HEADER + CHAPTER.format(name=name, body=body)


WRITE_RESULT = (
    "import json, os; from xinpaint.chapter import results_dir; "
    "(results_dir(profile) / '{name}.json').write_text(json.dumps({{'version': {version}, "
    "'profile': profile}}))"
)


@pytest.fixture
def tiny_book(tmp_path):
    root = tmp_path / "book-root"
    (root / "book").mkdir(parents=True)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: Chapters\n    chapters:\n"
        "      - file: book/good\n      - file: book/bad\n      - file: book/status\n"
    )
    (root / "_config.yml").write_text(
        "title: tiny\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: 'off'\n"
        "exclude_patterns: ['sources/*', 'notebooks/*']\n"
    )
    (root / "book" / "intro.md").write_text("# Tiny book\n\nA page with no code.\n\n```bash\nls\n```\n")
    (root / "book" / "status.md").write_text("# Status\n\nGenerated.\n")
    (root / "book" / "good.md").write_text(
        _chapter("good", WRITE_RESULT.format(name="good", version=1))
    )
    (root / "book" / "bad.md").write_text(
        _chapter("bad", WRITE_RESULT.format(name="bad", version=1))
    )
    return root


def test_book_chapters_are_the_notebooks_in_toc_order(tiny_book):
    assert harness.book_chapters(tiny_book) == ["good", "bad"]
    assert harness.toc_files(tiny_book) == ["book/intro", "book/good", "book/bad", "book/status"]


def test_unknown_chapter_names_the_value(tiny_book):
    with pytest.raises(ValueError, match=r"Received chapter='nope'"):
        harness.chapter_source("nope", tiny_book)


@pytest.mark.slow
def test_failing_chapter_is_named_and_keeps_the_earlier_recording(tiny_book):
    record = tiny_book / "results" / "smoke"
    # An earlier, successful recording of both chapters.
    for chapter in ("good", "bad"):
        run = harness.execute_chapter(chapter, "smoke", record, root=tiny_book)
        assert run.notebook == record / f"{chapter}.ipynb"
    before_nb = (record / "bad.ipynb").read_bytes()
    before_json = (record / "bad.json").read_text()
    assert json.loads(before_json) == {"version": 1, "profile": "smoke"}

    # The chapter now writes a new result, then raises.
    (tiny_book / "book" / "bad.md").write_text(
        _chapter("bad", WRITE_RESULT.format(name="bad", version=2) + "\nraise RuntimeError('boom in bad')")
    )
    with pytest.raises(harness.ChapterFailed, match=r"chapter 'bad' failed: cell \d+ .*RuntimeError: boom in bad"):
        harness.execute_chapter("bad", "smoke", record, root=tiny_book)
    assert (record / "bad.ipynb").read_bytes() == before_nb
    assert (record / "bad.json").read_text() == before_json
    assert (tiny_book / "_build" / "failed" / "bad.ipynb").exists()

    # Through the command line: exit code 1, the chapter named on stderr, good still recorded.
    out = subprocess.run(
        [sys.executable, "-m", "xinpaint.harness", "--root", str(tiny_book), "execute",
         "--profile", "smoke", "--keep-going"],
        capture_output=True, text=True,
    )
    assert out.returncode == 1
    assert "chapter 'bad' failed" in out.stderr and "boom in bad" in out.stderr
    assert "good" in out.stdout
    assert (record / "bad.json").read_text() == before_json


@pytest.mark.slow
def test_executed_chapter_has_banner_hidden_parameters_and_metadata(tiny_book, tmp_path):
    out = tmp_path / "out"
    run = harness.execute_chapter("good", "smoke", out, root=tiny_book)
    nb = nbformat.read(run.notebook, as_version=4)
    meta = nb.metadata["xinpaint"]
    assert meta["profile"] == "smoke" and meta["chapter"] == "good"
    assert meta["wall_seconds"] > 0 and meta["hardware"] and meta["date"]
    assert nb.cells[0].source.endswith("# Chapter good")
    banner = nb.cells[1]
    assert "run-banner" in banner.metadata["tags"]
    assert "**smoke** profile" in banner.source and meta["hardware"] in banner.source
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata["tags"]
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert params.source.splitlines()[-1] == 'profile = "smoke"'  # the injected value
    assert "injected by the harness" in params.source
    assert json.loads((out / "good.json").read_text())["profile"] == "smoke"
    assert not (tiny_book / "results").exists()  # results went where they were asked to


def _fake_notebook(path: Path, chapter: str, profile: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"(chapter-{chapter})=\n# {chapter}")]
    nb.metadata["xinpaint"] = {
        "chapter": chapter, "profile": profile, "wall_seconds": 75.0, "hardware": "CPU X",
        "date": "2026-01-01 00:00 UTC", "smoke_fallback": False,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_find_recording_prefers_the_largest_profile(tmp_path):
    results = tmp_path / "results"
    assert harness.find_recording("good", results) is None
    _fake_notebook(results / "smoke" / "good.ipynb", "good", "smoke")
    assert harness.find_recording("good", results).parent.name == "smoke"
    _fake_notebook(results / "cpu" / "good.ipynb", "good", "cpu")
    assert harness.find_recording("good", results).parent.name == "cpu"


def test_stage_has_no_md_and_ipynb_of_one_name(tiny_book, tmp_path):
    notebooks = {
        "good": _fake_notebook(tmp_path / "nb" / "good.ipynb", "good", "cpu"),
        "bad": _fake_notebook(tmp_path / "nb" / "bad.ipynb", "bad", "smoke"),
    }
    stage = harness.stage_book(notebooks, tmp_path / "stage", root=tiny_book)
    pages = sorted(p.name for p in (stage / "book").iterdir())
    assert pages == ["bad.ipynb", "good.ipynb", "intro.md", "status.md"]
    assert (stage / "sources" / "good.md").exists() and (stage / "notebooks" / "bad.ipynb").exists()
    status = (stage / "book" / "status.md").read_text()
    assert f"| [good](chapter-good) | cpu | {harness.EARLIER_DATA} | 1 min 15 s | CPU X |" in status
    assert "| [bad](chapter-bad) | smoke |" in status


@pytest.mark.parametrize(
    ("seconds", "text"), [(9.4, "9 s"), (75, "1 min 15 s"), (3723.2, "1 h 02 min")]
)
def test_format_duration(seconds, text):
    assert harness.format_duration(seconds) == text


@pytest.mark.slow
def test_tiny_book_builds_strictly(tiny_book, tmp_path):
    out = tmp_path / "out"
    harness.execute_all(["good", "bad"], "smoke", out / "nb", root=tiny_book)
    notebooks = {c: out / "nb" / f"{c}.ipynb" for c in ("good", "bad")}
    stage = harness.stage_book(notebooks, out / "stage", root=tiny_book)
    html = harness.build_book(stage, out)
    page = (html / "book" / "good.html").read_text()
    assert "profile: smoke" in page
    assert "injected-parameters" not in page
    assert (html / "index.html").exists()


def _recorded_like(path: Path) -> Path:
    """A notebook as the harness recorded them before the cleaning rules (issue #21)."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "smoke"')
    params.metadata["tags"] = ["parameters", "hide-cell"]
    injected = nbformat.v4.new_code_cell('# Parameters\nprofile = "cpu"\n')
    injected.metadata["tags"] = ["injected-parameters", "remove-cell"]
    work = nbformat.v4.new_code_cell("print(folder)")
    work.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=(
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1795622965.080150   10801 cudart_stub.cc:31] Could not find cuda drivers "
            "on your machine, GPU will not be used.\n")),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: a real warning\n"),
        nbformat.v4.new_output("stream", name="stdout",
                               text="profile cpu: results read from /work/dev/results/cpu\n"),
        nbformat.v4.new_output("execute_result", data={
            "text/plain": "PosixPath('/root/.cache/xinpaint/runs/unet-cpu')"}, execution_count=1),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("(chapter-good)=\n# good"), params, injected, work]
    nb.metadata["papermill"] = {"input_path": "/work/dev/_build/tmp/good-cpu-1/good.input.ipynb",
                                "output_path": "/work/dev/_build/tmp/good-cpu-1/good.ipynb",
                                "parameters": {"profile": "cpu"}}
    nb.metadata["xinpaint"] = {"chapter": "good", "profile": "cpu", "wall_seconds": 1.0,
                               "hardware": "CPU X", "date": "2026-01-01 00:00 UTC"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _check_clean(nb) -> None:
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert params.source.splitlines()[-1] == 'profile = "cpu"'
    assert "the chapter's own: profile = \"smoke\"" in params.source
    assert "hide-cell" in params.metadata["tags"]
    text = json.dumps(nb)
    for root in ("/work", "/root", "/home"):
        assert root not in text
    assert "InitializeLog" not in text and "cudart_stub" not in text
    outputs = nb.cells[-1].outputs
    assert [o.get("text") for o in outputs[:2]] == [
        "UserWarning: a real warning\n", "profile cpu: results read from results/cpu\n"]
    assert outputs[2]["data"]["text/plain"] == "PosixPath('~/.cache/xinpaint/runs/unet-cpu')"
    assert nb.metadata["papermill"]["input_path"] == "good.input.ipynb"


def test_clean_notebook_shows_the_profile_run_and_scrubs_paths_and_logs(tmp_path):
    nb = nbformat.read(_recorded_like(tmp_path / "good.ipynb"), as_version=4)
    harness.clean_notebook(nb)
    _check_clean(nb)
    again = nbformat.from_dict(json.loads(json.dumps(nb)))
    harness.clean_notebook(again)  # idempotent
    assert json.dumps(again) == json.dumps(nb)


def test_stage_cleans_notebooks_recorded_before_the_rules(tiny_book, tmp_path):
    notebooks = {"good": _recorded_like(tmp_path / "nb" / "good.ipynb"),
                 "bad": _fake_notebook(tmp_path / "nb" / "bad.ipynb", "bad", "smoke")}
    stage = harness.stage_book(notebooks, tmp_path / "stage", root=tiny_book)
    for path in (stage / "book" / "good.ipynb", stage / "notebooks" / "good.ipynb"):
        _check_clean(nbformat.read(path, as_version=4))


def test_recorded_book_pages_are_clean_once_staged():
    """The recorded notebooks, as staged: the profile they ran with, no paths, no TF noise."""
    recorded = sorted((harness.ROOT / "results").glob("*/*.ipynb"))
    if not recorded:
        pytest.skip("no recorded notebook in results/")
    for path in recorded:
        nb = nbformat.read(path, as_version=4)
        harness.clean_notebook(nb)
        text = json.dumps(nb)
        for root in ("/work/", "/root/", "/home/"):
            assert root not in text, (path.name, root)
        assert "InitializeLog" not in text and "cudart_stub" not in text, path.name
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert params.source.splitlines()[-1] == f'profile = "{path.parent.name}"', path.name


def test_scrub_text_keeps_urls_and_system_paths():
    assert harness.scrub_text("https://doi.org/10.1007/978-3-030-01252-6_6") == (
        "https://doi.org/10.1007/978-3-030-01252-6_6")
    assert harness.scrub_text("to /dev/null") == "to /dev/null"
    assert harness.scrub_text("/work/main/xinpaint/io.py:12") == "xinpaint/io.py:12"
    assert harness.scrub_text("/tmp/pytest-of-root/pytest-3/x/out.npy") == "…/x/out.npy"


def test_status_page_says_which_data_each_recording_used(tmp_path):
    old = _fake_notebook(tmp_path / "old.ipynb", "old", "cpu")  # recorded before the field existed
    new = _fake_notebook(tmp_path / "new.ipynb", "new", "cpu")
    nb = nbformat.read(new, as_version=4)
    nb.metadata["xinpaint"]["data"] = harness.DATA_DESCRIPTION
    nbformat.write(nb, new)
    page = harness.status_markdown({"old": old, "new": new})
    old_row = next(line for line in page.splitlines() if line.startswith("| [old]"))
    new_row = next(line for line in page.splitlines() if line.startswith("| [new]"))
    assert harness.EARLIER_DATA in old_row and harness.DATA_DESCRIPTION in new_row
    assert "| data |" in page


def _fake_finished_run(folder, key):
    folder.mkdir(parents=True)
    for name in ("config.json", "done.json"):
        (folder / name).write_text(json.dumps({"key": key}))
    (folder / "progress.json").write_text("{}")
    (folder / "final.keras").write_bytes(b"model")
    (folder / "best.keras").write_bytes(b"model")


def test_cpu_execution_restores_the_recorded_runs_and_saves_the_new_ones(tiny_book, tmp_path,
                                                                          monkeypatch):
    runs = tmp_path / "machine-runs"
    monkeypatch.setenv("XINPAINT_RUNS", str(runs))
    recorded = tiny_book / "results" / "cpu" / "runs"
    _fake_finished_run(recorded / "old-lr0.001-cpu", "k1")
    # The chapter finds the recorded run where training looks, and finishes a new one.
    body = ("import json, os, pathlib; r = pathlib.Path(os.environ['XINPAINT_RUNS']); "
            "assert (r / 'old-lr0.001-cpu' / 'final.keras').read_bytes() == b'model'; "
            "n = r / 'new-lr0.001-cpu'; n.mkdir(); "
            "[(n / f).write_text(json.dumps({'key': 'k2'})) for f in ('config.json', 'done.json', "
            "'progress.json')]; (n / 'final.keras').write_bytes(b'new')")
    (tiny_book / "book" / "good.md").write_text(_chapter("good", body))
    assert harness.main(["--root", str(tiny_book), "execute", "--profile", "cpu", "good"]) == 0
    assert (recorded / "new-lr0.001-cpu" / "final.keras").read_bytes() == b"new"
    assert not (recorded / "new-lr0.001-cpu" / "best.keras").exists()
    # --retrain: nothing restored, so the chapter does not find the recorded run.
    for folder in runs.iterdir():
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    assert harness.main(["--root", str(tiny_book), "execute", "--profile", "cpu", "--retrain",
                         "good"]) == 1
    # The runs command alone.
    assert harness.main(["--root", str(tiny_book), "runs", "restore", "--profile", "cpu"]) == 0
    assert sorted(p.name for p in runs.iterdir()) == ["new-lr0.001-cpu", "old-lr0.001-cpu"]
