"""The finished training runs behind a recorded profile, kept beside its chapters.

A chapter executed with ``cpu`` or ``gpu`` trains its models for hours, in run folders under
``$XINPAINT_RUNS`` (:func:`xinpaint.chapter.run_dir`), and reloads a run that finished with
the same configuration instead of training it again (:func:`xinpaint.training.train`). Those
folders live on one machine. :func:`save_runs` copies every *finished* run of a profile
into ``results/<profile>/runs/`` (the files a reload reads: the model kept on val, its
history, its progress and times, its configuration key; never the resumable ``backup/``
checkpoints nor the duplicate ``best.keras``), so that the recorded chapters, their learning
curves and training times, can be re-executed on another machine in minutes:
:func:`restore_runs` puts them back where :func:`~xinpaint.training.train` looks. A restored
run whose configuration no longer matches the code is trained again by ``train``, as any
stale run is: restoring never makes a chapter use a model of another configuration.

``python -m xinpaint.harness execute --profile cpu`` restores before it executes and saves
after (``--retrain`` trains every run again); ``python -m xinpaint.harness runs save|restore``
does either alone.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from xinpaint.profiles import get_profile

#: The files of a finished run that :func:`xinpaint.training.train` reads to reload it.
RUN_FILES = ("config.json", "done.json", "final.keras", "history.csv", "progress.json",
             "initial.json")
#: Files a finished run needs (the others are optional: ``initial.json`` is written only
#: with ``keep_best``).
_REQUIRED = ("config.json", "done.json", "final.keras", "progress.json")


def runs_root() -> Path:
    """Where the run folders are: ``$XINPAINT_RUNS``, else ``~/.cache/xinpaint/runs``."""
    return Path(os.environ.get("XINPAINT_RUNS", Path.home() / ".cache" / "xinpaint" / "runs"))


def recorded_runs_dir(profile, *, results=None) -> Path:
    """``<results>/<profile>/runs`` (``results`` defaults to the repository's ``results/``)."""
    name = get_profile(profile).name
    base = Path(results) if results is not None else Path(__file__).resolve().parent.parent / "results"
    return base / name / "runs"


def _training_key(folder: Path) -> str | None:
    """The configuration key of whatever run ``folder`` holds (finished or not), or None."""
    try:
        return json.loads((folder / "config.json").read_text()).get("key")
    except (OSError, ValueError):
        return None


def _finished_key(folder: Path) -> str | None:
    """The configuration key of a finished run in ``folder``, or None."""
    if not all((folder / f).is_file() for f in _REQUIRED):
        return None
    key = _training_key(folder)
    try:
        done = json.loads((folder / "done.json").read_text())
    except (OSError, ValueError):
        return None
    return key if key is not None and done.get("key") == key else None


def _copy_run(src: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in RUN_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, tmp / name)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def _check_folder(value, name):
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"Expected {name} to be a folder path. Received {name}={value!r}.")
    return Path(value)


def save_runs(profile, *, source=None, dest=None) -> list[Path]:
    """Copy every finished run of ``profile`` from ``source`` into ``dest``.

    Parameters
    ----------
    profile : str or Profile
        Its runs are the folders ``*-<profile>`` of ``source``.
    source : path, optional
        The run folders (default :func:`runs_root`).
    dest : path, optional
        Default :func:`recorded_runs_dir` of ``profile``. A run already there with the same
        configuration key is left as it is; one with another key is replaced.

    Returns
    -------
    list of Path
        The run folders written to ``dest``. Unfinished runs (still training, or killed) are
        not copied.

    Examples
    --------
    >>> import tempfile
    >>> save_runs("cpu", source=tempfile.mkdtemp(), dest=tempfile.mkdtemp())
    []
    """
    prof = get_profile(profile)
    source = runs_root() if source is None else _check_folder(source, "source")
    dest = recorded_runs_dir(prof) if dest is None else _check_folder(dest, "dest")
    if not source.is_dir():
        raise FileNotFoundError(f"Expected source to be a folder of training runs. Received "
                                f"source={str(source)!r}, which is not a folder.")
    written = []
    for folder in sorted(source.glob(f"*-{prof.name}")):
        key = _finished_key(folder)
        if key is None or _finished_key(dest / folder.name) == key:
            continue
        dest.mkdir(parents=True, exist_ok=True)
        _copy_run(folder, dest / folder.name)
        written.append(dest / folder.name)
    return written


def restore_runs(profile, *, source=None, dest=None) -> list[Path]:
    """Put the recorded runs of ``profile`` back where training looks for them.

    Parameters
    ----------
    profile : str or Profile
        Which recorded runs (``results/<profile>/runs``).
    source : path, optional
        Default :func:`recorded_runs_dir` of ``profile``; a missing folder restores nothing.
    dest : path, optional
        The run folders (default :func:`runs_root`). A folder that already holds a finished
        run is never overwritten (it is this machine's, perhaps newer), nor one where a run
        of another configuration is training (its checkpoints would be lost); an unfinished
        run of the same configuration is replaced by the recorded, finished one.

    Returns
    -------
    list of Path
        The run folders written to ``dest``.

    Examples
    --------
    >>> import tempfile
    >>> restore_runs("cpu", source=tempfile.mkdtemp(), dest=tempfile.mkdtemp())
    []
    """
    prof = get_profile(profile)
    source = recorded_runs_dir(prof) if source is None else _check_folder(source, "source")
    dest = runs_root() if dest is None else _check_folder(dest, "dest")
    if not source.is_dir():
        return []
    written = []
    for folder in sorted(source.glob(f"*-{prof.name}")):
        key, here = _finished_key(folder), dest / folder.name
        if key is None or _finished_key(here) is not None or _training_key(here) not in (None, key):
            continue
        dest.mkdir(parents=True, exist_ok=True)
        _copy_run(folder, dest / folder.name)
        written.append(dest / folder.name)
    return written
