"""A tiny temporary book and fake recordings for the harness tests."""

import json
import textwrap
from pathlib import Path

import nbformat

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


def chapter_md(name: str, body: str) -> str:
    return HEADER + CHAPTER.format(name=name, body=body)


WRITE_RESULT = (
    "import json, os; from xinpaint.chapter import results_dir; "
    "(results_dir(profile) / '{name}.json').write_text(json.dumps({{'version': {version}, "
    "'profile': profile}}))"
)


def fake_notebook(path: Path, chapter: str, profile: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"(chapter-{chapter})=\n# {chapter}")]
    nb.metadata["xinpaint"] = {
        "chapter": chapter, "profile": profile, "wall_seconds": 75.0, "hardware": "CPU X",
        "date": "2026-01-01 00:00 UTC", "smoke_fallback": False,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def recorded_like(path: Path) -> Path:
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


def check_clean(nb) -> None:
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


def fake_finished_run(folder, key):
    folder.mkdir(parents=True)
    for name in ("config.json", "done.json"):
        (folder / name).write_text(json.dumps({"key": key}))
    (folder / "progress.json").write_text("{}")
    (folder / "final.keras").write_bytes(b"model")
    (folder / "best.keras").write_bytes(b"model")
