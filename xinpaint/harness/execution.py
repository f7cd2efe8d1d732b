"""Executing one chapter with papermill, in the project's kernel, with a profile."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from xinpaint.harness.notebooks import _decorate, _run_metadata, clean_notebook, format_duration
from xinpaint.harness.toc import ROOT, chapter_source

__all__ = ["KERNEL_NAME", "ChapterFailed", "Execution", "ensure_kernel", "execute_all",
           "execute_chapter"]

KERNEL_NAME = "xinpaint"


class ChapterFailed(RuntimeError):
    """A chapter raised during execution."""

    def __init__(self, chapter: str, message: str, failed_notebook: Path | None = None):
        self.chapter = chapter
        self.failed_notebook = failed_notebook
        super().__init__(f"chapter {chapter!r} failed: {message}")



@dataclass
class Execution:
    """What one successful chapter run produced."""

    chapter: str
    profile: str
    notebook: Path
    results: list[Path]
    wall_seconds: float


def ensure_kernel() -> str:
    """Register the ``xinpaint`` kernel inside this Python's prefix if it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return KERNEL_NAME
    except NoSuchKernel:
        pass
    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
         "--display-name", "Python (xinpaint)"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return KERNEL_NAME


def execute_chapter(
    chapter: str,
    profile: str,
    out_dir: Path,
    *,
    root: Path = ROOT,
    failed_dir: Path | None = None,
    smoke_fallback: bool = False,
    timeout: int | None = None,
) -> Execution:
    """Execute one chapter with ``profile`` and move its outputs into ``out_dir`` on success.

    Parameters
    ----------
    chapter : str
        Chapter name, e.g. ``"data"``.
    profile : str
        Profile injected as the ``profile`` parameter.
    out_dir : path
        Receives ``<chapter>.ipynb`` and every file the chapter wrote into its
        results folder (``XINPAINT_RESULTS_DIR``), only if the chapter succeeded.
    root : path, optional
        Folder holding ``_toc.yml`` and ``book/``.
    failed_dir : path, optional
        Where the notebook of a failed run is kept (default ``<root>/_build/failed``).
    smoke_fallback : bool, optional
        Mark the banner as a smoke run standing in for a missing recording.
    timeout : int, optional
        Seconds allowed per cell.

    Raises
    ------
    ChapterFailed
        If a cell raised; the message names the chapter, the cell and the exception.
    """
    import jupytext
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from xinpaint.profiles import get_profile

    profile = get_profile(profile).name
    root, out_dir = Path(root), Path(out_dir)
    source = chapter_source(chapter, root)
    failed_dir = Path(failed_dir) if failed_dir else root / "_build" / "failed"
    work = root / "_build" / "tmp" / f"{chapter}-{profile}-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    results_tmp = work / "results"
    results_tmp.mkdir(parents=True)
    notebook_in = work / f"{chapter}.input.ipynb"
    notebook_out = work / f"{chapter}.ipynb"
    nbformat.write(jupytext.read(source), notebook_in)

    env_overrides = {
        "XINPAINT_RESULTS_DIR": str(results_tmp),
        # Results of the chapters already run (read by the results chapter).
        "XINPAINT_RECORDED_DIR": str(out_dir.resolve()),
        "XINPAINT_PROFILE": profile,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    saved_env = {key: os.environ.get(key) for key in env_overrides}
    os.environ.update(env_overrides)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook_in),
            str(notebook_out),
            parameters={"profile": profile},
            kernel_name=ensure_kernel(),
            cwd=str(source.parent),
            progress_bar=False,
            request_save_on_cell_execute=False,
            execution_timeout=timeout,
        )
    except PapermillExecutionError as err:
        failed_dir.mkdir(parents=True, exist_ok=True)
        kept = failed_dir / f"{chapter}.ipynb"
        if notebook_out.exists():
            shutil.copy2(notebook_out, kept)
        first_line = (err.source or "").strip().splitlines()
        where = f"cell {err.exec_count}" + (f" ({first_line[0][:60]!r})" if first_line else "")
        raise ChapterFailed(
            chapter, f"{where} raised {err.ename}: {err.evalue} (notebook kept at {kept})", kept
        ) from None
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    wall = time.perf_counter() - start

    nb = nbformat.read(notebook_out, as_version=4)
    _decorate(nb, _run_metadata(chapter, profile, wall, smoke_fallback))
    clean_notebook(nb)
    nbformat.write(nb, notebook_out)

    out_dir.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in sorted(results_tmp.iterdir()):
        target = out_dir / path.name
        if target.is_dir():
            shutil.rmtree(target)
        shutil.move(str(path), target)
        moved.append(target)
    final = out_dir / f"{chapter}.ipynb"
    os.replace(notebook_out, final)
    shutil.rmtree(work, ignore_errors=True)
    return Execution(chapter, profile, final, moved, wall)


def execute_all(chapters, profile, out_dir, *, root=ROOT, keep_going=False, log=print):
    """Execute ``chapters`` in order; return the executions and the failures."""
    done, failures = [], []
    for chapter in chapters:
        log(f"[xinpaint] executing {chapter} with profile {profile} ...")
        try:
            run = execute_chapter(chapter, profile, out_dir, root=root)
        except ChapterFailed as err:
            log(f"[xinpaint] FAILED: {err}")
            failures.append(err)
            if not keep_going:
                break
            continue
        log(f"[xinpaint] {chapter}: {format_duration(run.wall_seconds)}")
        done.append(run)
    return done, failures
