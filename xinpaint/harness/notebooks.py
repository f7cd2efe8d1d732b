"""What an executed notebook gets before a reader sees it: the banner, the run's metadata,
the parameters it ran with, and no native log lines nor absolute paths of this machine."""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path

__all__ = ["DATA_DESCRIPTION", "EARLIER_DATA", "NATIVE_LOG_LINE", "banner_markdown",
           "clean_notebook", "format_duration", "scrub_text"]


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
