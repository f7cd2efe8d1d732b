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
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from xinpaint.recorded_runs import recorded_runs_dir, restore_runs, save_runs

__all__ = [
    "BookBuildFailed",
    "ChapterFailed",
    "book_chapters",
    "build_book",
    "clean_notebook",
    "execute_chapter",
    "find_recording",
    "scrub_text",
    "stage_book",
]

KERNEL_NAME = "xinpaint"
ROOT = Path(__file__).resolve().parent.parent
#: Recorded profiles, from the largest to the smallest: ``make book`` takes the first found.
RECORDED_ORDER = ("gpu", "cpu", "smoke")


class BookBuildFailed(RuntimeError):
    """``jupyter-book build`` returned an error."""


class ChapterFailed(RuntimeError):
    """A chapter raised during execution."""

    def __init__(self, chapter: str, message: str, failed_notebook: Path | None = None):
        self.chapter = chapter
        self.failed_notebook = failed_notebook
        super().__init__(f"chapter {chapter!r} failed: {message}")


# --------------------------------------------------------------------------- TOC


def _read_yaml(path: Path) -> dict:
    import yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def toc_files(root: Path = ROOT) -> list[str]:
    """Every file of ``_toc.yml`` (root first), as written there (no extension)."""
    toc = _read_yaml(Path(root) / "_toc.yml")
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def _is_notebook(md_path: Path) -> bool:
    """True for a jupytext MyST notebook: front matter with a ``kernelspec``.

    A plain markdown page (the intro, the status page) is copied, not executed.
    """
    import yaml

    text = Path(md_path).read_text(encoding="utf-8")
    if not text.startswith("---"):
        return False
    front = text.split("---", 2)[1]
    meta = yaml.safe_load(front) or {}
    return "kernelspec" in meta


def book_chapters(root: Path = ROOT) -> list[str]:
    """Names of the executable chapters of the book, in table-of-contents order."""
    names = []
    for entry in toc_files(root):
        path = Path(root) / f"{entry}.md"
        if path.exists() and _is_notebook(path):
            names.append(Path(entry).name)
    return names


def chapter_source(chapter: str, root: Path = ROOT) -> Path:
    """The ``.md`` source of ``chapter`` (its name without folder or extension)."""
    for entry in toc_files(root):
        if Path(entry).name == chapter:
            path = Path(root) / f"{entry}.md"
            if path.exists():
                return path
    known = ", ".join(book_chapters(root))
    raise ValueError(f"Unknown chapter: expected one of {known}. Received chapter={chapter!r}.")


# --------------------------------------------------------------------- execution


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


def _run_metadata(chapter: str, profile: str, wall_seconds: float, smoke_fallback: bool) -> dict:
    from xinpaint.profiles import get_profile
    from xinpaint.system import hardware_description, package_versions

    try:
        hardware = hardware_description()
    except Exception:
        hardware = hardware_description(gpus=[])
    versions = package_versions(("xinpaint", "tensorflow", "keras", "numpy", "itk-rtk"))
    return {
        "chapter": chapter,
        "profile": profile,
        "profile_description": get_profile(profile).description,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "hardware": hardware,
        "wall_seconds": round(wall_seconds, 1),
        "versions": versions,
        "smoke_fallback": smoke_fallback,
        "data": DATA_DESCRIPTION,
    }


#: The data every chapter executed now runs on (stored in each recording's metadata).
DATA_DESCRIPTION = "realistic short scans (polychromatic, noisy, clinical metal)"
#: What a recording without that field was made from.
EARLIER_DATA = "ideal 64° arcs (noise-free, needles and coins)"


def format_duration(seconds: float) -> str:
    """``3723.2`` → ``'1 h 02 min'``; ``75`` → ``'1 min 15 s'``; ``9.4`` → ``'9 s'``."""
    seconds = round(float(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def banner_markdown(meta: dict) -> str:
    """The admonition shown at the top of every executed chapter."""
    profile = meta["profile"]
    text = (
        f"Executed with the **{profile}** profile ({meta['profile_description']}) "
        f"on {meta['date']}, on {meta['hardware']}, in {format_duration(meta['wall_seconds'])}."
    )
    if meta.get("smoke_fallback"):
        cls, title = "warning", f"profile: {profile} (no recorded run)"
        text += (
            " No recorded run of this chapter exists yet, so the book build executed it with "
            "the small `smoke` profile: its numbers show that the code runs, not the study's "
            "results. `make reproduce PROFILE=cpu` records the real run."
        )
    else:
        cls, title = "note", f"profile: {profile}"
    chapter = meta.get("chapter")
    if chapter:
        text += (
            f" Run it yourself: the {{download}}`executed notebook <../notebooks/{chapter}.ipynb>`"
            f" or its {{download}}`source <../sources/{chapter}.md>` (jupytext MyST markdown)."
        )
    return f"```{{admonition}} {title}\n:class: {cls} run-banner\n{text}\n```"


def _decorate(nb, meta: dict) -> None:
    """Add the banner, hide papermill's parameter cells, store the run metadata."""
    import nbformat

    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        elif "parameters" in tags and "hide-cell" not in tags:
            tags.append("hide-cell")
    banner = nbformat.v4.new_markdown_cell(banner_markdown(meta))
    banner.metadata["tags"] = ["run-banner"]
    # Put the banner right under the page title: split the cell holding the title.
    for index, cell in enumerate(nb.cells):
        lines = cell.source.splitlines(keepends=True) if cell.cell_type == "markdown" else []
        title = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
        if title is None:
            continue
        head, rest = "".join(lines[: title + 1]), "".join(lines[title + 1 :]).strip("\n")
        cell.source = head.rstrip("\n")
        nb.cells.insert(index + 1, banner)
        if rest:
            nb.cells.insert(index + 2, nbformat.v4.new_markdown_cell(rest))
        break
    else:
        nb.cells.insert(0, banner)
    nb.metadata["xinpaint"] = meta


#: Lines that TensorFlow, absl, XLA and oneDNN print on standard error (native code, past
#: Python's warnings filters): kept out of the pages.
NATIVE_LOG_LINE = re.compile(
    r"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\] .*"  # absl: I0000 00:00:17.9 1 f.cc:31] ...
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w./-]+:\d+\] .*"  # older TensorFlow
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
    r"|.*oneDNN custom operations are on.*)$"
)

#: An absolute POSIX path of two parts or more (not the tail of a URL or of a relative path).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+-]+/)+[\w.@+-]*")

#: Folders of the repository: a path through one of them is shown from there on.
_REPO_FOLDERS = ("results", "_build", "book", "benchmarks", "tests", "xinpaint")


def _relative_path(match: re.Match) -> str:
    path = match.group(0)
    parts = path.strip("/").split("/")
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages"):])
    for i, part in enumerate(parts):
        if part.startswith("."):  # ~/.cache/xinpaint/...: not the repository
            break
        if part in _REPO_FOLDERS and i > 0:
            return "/".join(parts[i:])
    if parts[0] == "root" and len(parts) > 1:
        return "~/" + "/".join(parts[1:])
    if parts[0] == "home" and len(parts) > 2:
        return "~/" + "/".join(parts[2:])
    if parts[0] in ("tmp", "work", "var", "mnt", "scratch") and len(parts) > 2:
        return "…/" + "/".join(parts[-2:])
    return path


def scrub_text(text: str) -> str:
    """``text`` without absolute paths of this machine (made relative, see below).

    A path through a folder of the repository (``results``, ``_build``, ``book``,
    ...) is shown from that folder; one into ``site-packages`` from there; one in a
    home folder from ``~``; one in ``/tmp``, ``/work`` and the like by its last two
    parts. System paths (``/dev/null``, ``/usr/...``) are left as they are.

    Examples
    --------
    >>> scrub_text("results read from /work/dev/results/cpu")
    'results read from results/cpu'
    >>> scrub_text("see https://doi.org/10.1007/978-3-030 and ~/.cache/x")
    'see https://doi.org/10.1007/978-3-030 and ~/.cache/x'
    """
    return _ABSOLUTE_PATH.sub(_relative_path, text)


def _scrub_value(value):
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [_scrub_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items()}
    return value


def _drop_native_logs(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True)
                   if not NATIVE_LOG_LINE.match(line.rstrip("\n")))


def _show_parameters_run(nb) -> None:
    """Make the ``parameters`` cell show what papermill injected (the profile the page ran with).

    The chapter's own line (``profile = "smoke"``) is kept in a comment and in the
    cell's metadata; the injected-parameters cell stays removed from the HTML.
    Idempotent.
    """
    injected = next((c for c in nb.cells
                     if "injected-parameters" in c.metadata.get("tags", [])), None)
    if injected is not None:
        lines = [line for line in injected.source.splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    else:
        parameters = nb.metadata.get("papermill", {}).get("parameters") or {}
        lines = [f"{name} = {json.dumps(value)}" for name, value in parameters.items()]
    if not lines:
        return
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" not in cell.metadata.get("tags", []):
            continue
        store = cell.metadata.setdefault("xinpaint", {})
        if "chapter_source" in store:
            return
        original = cell.source.strip()
        store["chapter_source"] = original
        own = "; ".join(line.strip() for line in original.splitlines() if line.strip())
        cell.source = ("# The parameters this page ran with (injected by the harness; the "
                       f"chapter's own: {own})\n" + "\n".join(lines))
        return


def clean_notebook(nb) -> None:
    """What every recorded or staged notebook gets before a reader sees it.

    The parameters cell shows the injected profile (:func:`_show_parameters_run`);
    TensorFlow's, absl's and oneDNN's lines are dropped from standard-error outputs
    (:data:`NATIVE_LOG_LINE`); absolute paths are made relative (:func:`scrub_text`)
    in every output and in papermill's metadata. Works in place, idempotent.
    """
    _show_parameters_run(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["text"] = _drop_native_logs(output.get("text", ""))
                if not output["text"]:
                    continue
            for key in ("text", "data", "traceback", "evalue"):
                if key in output:
                    output[key] = _scrub_value(output[key])
            outputs.append(output)
        cell["outputs"] = outputs
    papermill = nb.metadata.get("papermill")
    if papermill:
        for key in ("input_path", "output_path"):
            if papermill.get(key):
                papermill[key] = Path(papermill[key]).name


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


# ----------------------------------------------------------------------- staging


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


# --------------------------------------------------------------------------- CLI


def _cmd_execute(args) -> int:
    root = Path(args.root)
    chapters = args.chapters or book_chapters(root)
    out = Path(args.out) if args.out else root / "results" / args.profile
    # The finished runs behind a recording travel with it (xinpaint.recorded_runs); smoke runs
    # train in seconds and nbval's re-execution must train them again.
    recorded = args.profile != "smoke"
    if recorded and not args.retrain:
        restored = restore_runs(args.profile, source=recorded_runs_dir(args.profile, results=root / "results"))
        print(f"[xinpaint] {len(restored)} recorded {args.profile} runs restored")
    done, failures = execute_all(chapters, args.profile, out, root=root,
                                 keep_going=args.keep_going)
    _print_durations(done)
    if recorded and not args.out:
        saved = save_runs(args.profile, dest=recorded_runs_dir(args.profile, results=root / "results"))
        print(f"[xinpaint] {len(saved)} finished {args.profile} runs saved with the recording")
    if failures:
        for err in failures:
            print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _cmd_runs(args) -> int:
    recorded = recorded_runs_dir(args.profile, results=Path(args.root) / "results")
    if args.action == "save":
        paths = save_runs(args.profile, dest=recorded)
    else:
        paths = restore_runs(args.profile, source=recorded)
    print(f"[xinpaint] {args.action}d {len(paths)} {args.profile} runs")
    for path in paths:
        print(f"  {path}")
    return 0


def _print_durations(done) -> None:
    if not done:
        return
    print("[xinpaint] chapter durations (slowest first):")
    for run in sorted(done, key=lambda r: -r.wall_seconds):
        print(f"  {format_duration(run.wall_seconds):>12}  {run.chapter} ({run.profile})")


def _cmd_book(args) -> int:
    """Stage the recorded runs (smoke runs where none is recorded) and build the HTML."""
    root = Path(args.root)
    smoke_dir = Path(args.smoke_dir)
    notebooks, done = {}, []
    for chapter in book_chapters(root):
        recorded = find_recording(chapter, root / "results")
        if recorded is not None:
            print(f"[xinpaint] {chapter}: recorded run {recorded.relative_to(root)}")
            notebooks[chapter] = recorded
            continue
        cached = smoke_dir / f"{chapter}.ipynb"
        source = chapter_source(chapter, root)
        if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
            print(f"[xinpaint] {chapter}: no recording, executing with the smoke profile ...")
            try:
                run = execute_chapter(chapter, "smoke", smoke_dir, root=root, smoke_fallback=True)
            except ChapterFailed as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
            done.append(run)
        notebooks[chapter] = cached
    _print_durations(done)
    stage = stage_book(notebooks, Path(args.stage), root=root)
    html = build_book(stage, Path(args.out), strict=not args.lenient)
    print(f"[xinpaint] book built: {html / 'index.html'}")
    return 0


def _cmd_build(args) -> int:
    """Stage notebooks already executed into ``--notebooks`` and build the book strictly."""
    root = Path(args.root)
    folder = Path(args.notebooks)
    notebooks = {}
    for chapter in book_chapters(root):
        path = folder / f"{chapter}.ipynb"
        if not path.exists():
            print(f"error: no executed notebook for chapter {chapter!r} in {folder}",
                  file=sys.stderr)
            return 1
        notebooks[chapter] = path
    stage = stage_book(notebooks, Path(args.out) / "stage", root=root)
    html = build_book(stage, Path(args.out), strict=True)
    print(f"[xinpaint] book built: {html / 'index.html'}")
    return 0


def _cmd_list(args) -> int:
    print(json.dumps(book_chapters(Path(args.root))))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xinpaint.harness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(ROOT), help="folder with _toc.yml (default: repo)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("execute", help="execute chapters with a profile into a folder")
    p.add_argument("--profile", required=True, choices=("smoke", "cpu", "gpu"))
    p.add_argument("--out", help="output folder (default: results/<profile>, i.e. record)")
    p.add_argument("--keep-going", action="store_true", help="run every chapter even if one fails")
    p.add_argument("--retrain", action="store_true",
                   help="do not restore the recorded runs of results/<profile>/runs first")
    p.add_argument("chapters", nargs="*", help="chapter names (default: all, in TOC order)")
    p.set_defaults(func=_cmd_execute)

    p = sub.add_parser("runs", help="save this machine's finished runs with the recording, or "
                       "restore the recorded ones")
    p.add_argument("action", choices=("save", "restore"))
    p.add_argument("--profile", required=True, choices=("cpu", "gpu"))
    p.set_defaults(func=_cmd_runs)

    p = sub.add_parser("book", help="build the HTML book from the recorded runs")
    p.add_argument("--smoke-dir", default=str(ROOT / "_build" / "smoke"))
    p.add_argument("--stage", default=str(ROOT / "_build" / "stage"))
    p.add_argument("--out", default=str(ROOT), help="the HTML goes to <out>/_build/html")
    p.add_argument("--lenient", action="store_true", help="do not turn warnings into errors")
    p.set_defaults(func=_cmd_book)

    p = sub.add_parser("build", help="build the book strictly from executed notebooks")
    p.add_argument("--notebooks", required=True)
    p.add_argument("--out", required=True, help="the HTML goes to <out>/_build/html")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("kernel", help="register the xinpaint Jupyter kernel in this environment")
    p.set_defaults(func=lambda args: print(f"kernel: {ensure_kernel()}") or 0)

    p = sub.add_parser("list", help="print the executable chapters as JSON")
    p.set_defaults(func=_cmd_list)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BookBuildFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
