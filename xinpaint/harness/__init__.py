"""Execute the book's chapters with papermill, record them, stage and build the book.

The chapters are jupytext MyST markdown files listed in ``_toc.yml``. papermill
cannot read them directly, so each is converted to a notebook in memory, then
executed with the profile injected as the ``profile`` parameter, in a kernel
registered inside the project's virtual environment.

Rules the harness keeps:

* A chapter that raises fails the run; the message names the chapter, the failing
  cell and the exception. The failed notebook is kept under ``_build/failed/``.
* A failed run never overwrites an earlier recording: the executed notebook and the
  results the chapter wrote go to a temporary folder and are moved into place only
  when the whole chapter succeeded.
* Executed notebooks are staged in a tree of their own (``_build/stage``) for the
  book build, because a ``.md`` and an ``.ipynb`` of one name in one tree is a
  Sphinx warning, hence an error under ``-W``.
* Every chapter page gets a banner: profile, date, hardware, wall time. The
  injected-parameters cell is removed from the HTML, and the (folded) parameters
  cell shows what papermill injected, i.e. the profile the page ran with, not the
  chapter's default ``"smoke"``.
* No page shows an absolute path of the machine that recorded it, nor the log lines
  that TensorFlow, absl, XLA and oneDNN write to standard error: both are scrubbed
  when a notebook is recorded and again when it is staged, so that notebooks
  recorded before these rules render the same way.
* A ``cpu`` or ``gpu`` execution first restores the finished runs recorded in
  ``results/<profile>/runs`` (unless ``--retrain``), and a recording saves its finished
  runs there (:mod:`xinpaint.recorded_runs`): a recorded chapter re-executes on another
  machine without its hours of training.

Command line (used by the Makefile)::

    python -m xinpaint.harness execute --profile smoke --out _build/test/notebooks
    python -m xinpaint.harness execute --profile cpu [--retrain] [CHAPTER ...]
    python -m xinpaint.harness runs save|restore --profile cpu
    python -m xinpaint.harness book [--smoke-dir _build/smoke] [--html _build/html]
    python -m xinpaint.harness build --notebooks _build/test/notebooks --out _build/test

Modules: :mod:`~xinpaint.harness.toc` (the table of contents),
:mod:`~xinpaint.harness.execution` (papermill), :mod:`~xinpaint.harness.notebooks` (what a
recorded notebook gets), :mod:`~xinpaint.harness.staging` (the book build) and
:mod:`~xinpaint.harness.cli` (the command line).
"""

from xinpaint.harness.cli import main
from xinpaint.harness.execution import (
    KERNEL_NAME,
    ChapterFailed,
    Execution,
    ensure_kernel,
    execute_all,
    execute_chapter,
)
from xinpaint.harness.notebooks import (
    DATA_DESCRIPTION,
    EARLIER_DATA,
    NATIVE_LOG_LINE,
    banner_markdown,
    clean_notebook,
    format_duration,
    scrub_text,
)
from xinpaint.harness.staging import (
    RECORDED_ORDER,
    BookBuildFailed,
    build_book,
    find_recording,
    stage_book,
    status_markdown,
)
from xinpaint.harness.toc import ROOT, book_chapters, chapter_source, toc_files

__all__ = [
    "DATA_DESCRIPTION",
    "EARLIER_DATA",
    "KERNEL_NAME",
    "NATIVE_LOG_LINE",
    "RECORDED_ORDER",
    "ROOT",
    "BookBuildFailed",
    "ChapterFailed",
    "Execution",
    "banner_markdown",
    "book_chapters",
    "build_book",
    "chapter_source",
    "clean_notebook",
    "ensure_kernel",
    "execute_all",
    "execute_chapter",
    "find_recording",
    "format_duration",
    "main",
    "scrub_text",
    "stage_book",
    "status_markdown",
    "toc_files",
]
