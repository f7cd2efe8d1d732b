"""Staging the executed notebooks into a tree of their own and building the HTML book."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from xinpaint.harness.notebooks import EARLIER_DATA, clean_notebook, format_duration
from xinpaint.harness.toc import ROOT, toc_files

__all__ = ["RECORDED_ORDER", "BookBuildFailed", "build_book", "find_recording", "stage_book",
           "status_markdown"]

#: Recorded profiles, from the largest to the smallest: ``make book`` takes the first found.
RECORDED_ORDER = ("gpu", "cpu", "smoke")


class BookBuildFailed(RuntimeError):
    """``jupyter-book build`` returned an error."""


def find_recording(chapter: str, results: Path) -> Path | None:
    """The executed notebook of ``chapter`` from the largest recorded profile, if any."""
    for profile in RECORDED_ORDER:
        path = Path(results) / profile / f"{chapter}.ipynb"
        if path.exists():
            return path
    return None


def status_markdown(notebooks: dict[str, Path]) -> str:
    """The status page: for each chapter, profile, wall time, hardware, date, notebook link."""
    import nbformat

    lines = [
        "(status)=",
        "# Execution status",
        "",
        "How each page of this book was produced. The table is written by the build from the "
        "metadata that the harness stores in every executed notebook; nothing here is typed by "
        "hand.",
        "",
        "| chapter | profile | data | wall time | hardware | date | notebook |",
        "|---|---|---|---|---|---|---|",
    ]
    total = 0.0
    for chapter, path in notebooks.items():
        meta = nbformat.read(path, as_version=4).metadata.get("xinpaint", {})
        wall = float(meta.get("wall_seconds", 0.0))
        total += wall
        profile = meta.get("profile", "?") + (" (no recording)" if meta.get("smoke_fallback") else "")
        lines.append(
            f"| [{chapter}](chapter-{chapter}) | {profile} | {meta.get('data', EARLIER_DATA)} | "
            f"{format_duration(wall)} | "
            f"{meta.get('hardware', '?')} | {meta.get('date', '?')} | "
            f"{{download}}`{chapter}.ipynb <../notebooks/{chapter}.ipynb>` |"
        )
    lines += ["", f"Total execution time: {format_duration(total)}.", ""]
    return "\n".join(lines)


def stage_book(notebooks: dict[str, Path], stage: Path, *, root: Path = ROOT) -> Path:
    """Build the tree the book is built from: config, TOC, text pages, executed notebooks.

    ``notebooks`` maps each executable chapter to its executed ``.ipynb``. The
    chapters' ``.md`` sources are copied under ``sources/`` (outside the TOC) so
    that each page can offer them for download beside the executed notebook.
    """
    import nbformat

    root, stage = Path(root), Path(stage)
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, stage / name)
    for extra in ("references.bib",):
        if (root / extra).exists():
            shutil.copy2(root / extra, stage / extra)
    (stage / "notebooks").mkdir()
    (stage / "sources").mkdir()
    for entry in toc_files(root):
        src = root / f"{entry}.md"
        dst = stage / f"{entry}.md"
        dst.parent.mkdir(parents=True, exist_ok=True)
        name = Path(entry).name
        if name in notebooks:
            # Recordings made before the current rules are cleaned here too.
            nb = nbformat.read(notebooks[name], as_version=4)
            clean_notebook(nb)
            nbformat.write(nb, dst.with_suffix(".ipynb"))
            nbformat.write(nb, stage / "notebooks" / f"{name}.ipynb")
            shutil.copy2(src, stage / "sources" / f"{name}.md")
        elif name == "status":
            dst.write_text(status_markdown(notebooks), encoding="utf-8")
        elif src.exists():
            shutil.copy2(src, dst)
    for asset_dir in ("book/_static", "book/_ext", "book/figures"):
        if (root / asset_dir).is_dir():
            shutil.copytree(root / asset_dir, stage / asset_dir)
    return stage


def build_book(stage: Path, out: Path, *, strict: bool = True) -> Path:
    """Run ``jupyter-book build`` on ``stage``; the HTML lands in ``<out>/_build/html``.

    With ``strict`` the build uses ``-W --keep-going -n``: any warning, a broken
    internal reference included, fails it.
    """
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(stage),
           "--path-output", str(out), "--all"]
    if strict:
        cmd += ["-W", "--keep-going", "-n"]
    if subprocess.run(cmd, check=False).returncode != 0:
        raise BookBuildFailed(
            "jupyter-book build failed" + (" (warnings are errors here)" if strict else "")
            + "; its messages are above"
        )
    return Path(out) / "_build" / "html"
