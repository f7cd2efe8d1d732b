"""What every chapter of the book calls first, and where it writes its results.

A chapter's ``parameters`` cell holds ``profile = "smoke"``; papermill replaces it.
The next cell calls :func:`setup`, which fixes the seeds, makes TensorFlow
deterministic and quiet, sets the figure style and returns the
:class:`~xinpaint.profiles.Profile`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from xinpaint.profiles import Profile, get_profile

__all__ = [
    "SEED",
    "native_stderr_silenced",
    "quiet_tensorflow",
    "recorded_dir",
    "results_dir",
    "run_dir",
    "setup",
    "shown_path",
    "verbose",
    "write_json",
]

#: The one seed of the study: the same seed gives the same data and the same smoke results.
SEED = 20210204

#: Figure sizes used by every chapter (inches): one panel row, and a full-width figure.
FIGSIZE_ROW = (9.0, 3.0)
FIGSIZE_WIDE = (9.0, 5.0)

#: Colour maps: X-ray images in grey; signed errors in a diverging, colour-blind-safe map;
#: absolute errors in a perceptually uniform, grey-scale-readable map.
CMAP_IMAGE = "gray"
CMAP_SIGNED_ERROR = "RdBu_r"
CMAP_ERROR = "cividis"


#: Set to ``1`` (``xinpaint -v``) to see TensorFlow's, absl's and oneDNN's own messages.
VERBOSE_ENV = "XINPAINT_VERBOSE"


def verbose() -> bool:
    """True when ``$XINPAINT_VERBOSE`` asks for the libraries' own log lines (``xinpaint -v``)."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def native_stderr_silenced():
    """Send what C and C++ code writes to file descriptor 2 to ``/dev/null``, for a while.

    TensorFlow, absl, XLA and oneDNN write their log lines straight to descriptor 2,
    past Python. Inside this context they are discarded, while Python's
    ``sys.stderr`` keeps writing where it wrote before: when it was descriptor 2
    itself (a terminal, a pipe), it is pointed at a duplicate of the original
    descriptor, so error messages, warnings, tracebacks and progress bars still show.
    With ``$XINPAINT_VERBOSE`` set (:func:`verbose`) nothing is redirected.

    Examples
    --------
    >>> with native_stderr_silenced():
    ...     pass
    """
    if verbose():
        yield
        return
    try:
        python_on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # pytest's capture, a notebook's stream
        python_on_fd2 = False
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    previous = sys.stderr
    if python_on_fd2:
        sys.stderr = open(saved, "w", buffering=1, encoding=previous.encoding,
                          errors=previous.errors, closefd=False)
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = previous
        os.dup2(saved, 2)
        os.close(saved)


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ and Python log noise out of notebooks, pages and the CLI.

    TensorFlow's CUDA build prints "Could not find cuda drivers" (and absl's
    "All log messages before absl::InitializeLog()") from C++ while it is imported,
    whatever ``TF_CPP_MIN_LOG_LEVEL`` says; the import therefore runs inside
    :func:`native_stderr_silenced` (Python exceptions still propagate normally).
    ``TF_CPP_MIN_LOG_LEVEL=3`` and ``TF_ENABLE_ONEDNN_OPTS=0`` are set unless the
    environment sets them. Keras is imported too (under another ``KERAS_BACKEND``,
    TensorFlow is not). With ``$XINPAINT_VERBOSE`` set (``xinpaint -v``) this does
    nothing: every line shows.
    """
    if verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import logging

    with native_stderr_silenced():
        if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
            import tensorflow  # noqa: F401
        import keras  # noqa: F401

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass


def setup(profile: str | Profile = "smoke", *, seed: int = SEED, deterministic: bool = True) -> Profile:
    """Prepare a chapter run and return its profile.

    Parameters
    ----------
    profile : str or Profile
        Name of the run profile (``"smoke"``, ``"cpu"`` or ``"gpu"``).
    seed : int, optional
        Seed for Python, NumPy and TensorFlow.
    deterministic : bool, optional
        Enable TensorFlow's op determinism, so that one seed gives the same numbers.

    Returns
    -------
    Profile
        The profile's sizes.

    Examples
    --------
    >>> P = setup("smoke")
    >>> P.name
    'smoke'
    """
    prof = get_profile(profile)
    quiet_tensorflow()
    import keras
    import matplotlib as mpl
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    mpl.rcParams.update(
        {
            "figure.figsize": FIGSIZE_ROW,
            "figure.dpi": 90,
            "savefig.dpi": 90,
            "image.cmap": CMAP_IMAGE,
            "image.interpolation": "nearest",
            "axes.titlesize": "medium",
            "font.size": 9,
        }
    )
    return prof


def results_dir(profile: str | Profile) -> Path:
    """Folder where a chapter writes its JSON/CSV results.

    The harness sets ``XINPAINT_RESULTS_DIR`` to a temporary folder and moves the
    files into ``results/<profile>/`` only when the whole chapter succeeded; a
    chapter run by hand writes to ``results/<profile>/`` under the current folder.
    """
    name = get_profile(profile).name
    path = Path(os.environ.get("XINPAINT_RESULTS_DIR", Path("results") / name))
    path.mkdir(parents=True, exist_ok=True)
    return path


def recorded_dir(profile: str | Profile) -> Path:
    """Folder holding the JSON results of the other chapters of the same run.

    The harness sets ``XINPAINT_RECORDED_DIR`` to the folder it moves each finished
    chapter's results into; by hand it is ``results/<profile>/`` (relative to the
    repository root when run from ``book/``).
    """
    name = get_profile(profile).name
    if "XINPAINT_RECORDED_DIR" in os.environ:
        return Path(os.environ["XINPAINT_RECORDED_DIR"])
    for base in (Path("results"), Path("..") / "results"):
        if (base / name).is_dir():
            return base / name
    return Path("results") / name


def run_dir(chapter: str, profile: str | Profile) -> Path:
    """Folder for a chapter's training checkpoints, so that a killed run resumes.

    ``$XINPAINT_RUNS`` if set, else ``~/.cache/xinpaint/runs``, then
    ``<chapter>-<profile>``.
    """
    from xinpaint.recorded_runs import runs_root

    path = runs_root() / f"{chapter}-{get_profile(profile).name}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shown_path(path: str | os.PathLike) -> str:
    """``path`` as a page may print it: relative, never an absolute path of this machine.

    Relative to the repository (the folder holding the package) where it lies inside
    it, else to the current folder, else only its last two parts.

    Examples
    --------
    >>> shown_path(Path(__file__).resolve().parent.parent / "results" / "cpu")
    'results/cpu'
    """
    path = Path(path).resolve()
    for base in (Path(__file__).resolve().parent.parent, Path.cwd().resolve()):
        try:
            return path.relative_to(base).as_posix() or "."
        except ValueError:
            continue
    return Path(*path.parts[-2:]).as_posix()


def write_json(path: str | os.PathLike, payload: dict, *, dumps=None) -> Path:
    """Write ``payload`` as indented JSON atomically (temporary file, then rename).

    ``dumps(payload) -> str`` replaces ``json.dumps(payload, indent=2)`` where a writer
    lays some entries out otherwise (e.g. :mod:`xinpaint.evaluation.writer`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    text = dumps(payload) if dumps is not None else json.dumps(payload, indent=2, sort_keys=False)
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
