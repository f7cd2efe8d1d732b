"""Writing an evaluation: ``<chapter>.json`` and CSV files beside it in ``results_dir``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

__all__ = ["write_results"]


def _jsonable(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _sig(values, digits: int = 6) -> list[float]:
    """Floats rounded to ``digits`` significant digits (to keep the JSON small)."""
    return [float(f"{float(v):.{digits}g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def _components(evaluation) -> dict | None:
    """The ``"components"`` entry: widths, areas, sequences and per-method squared errors."""
    sq = getattr(evaluation, "component_sq", None) or {}
    if not sq:
        return None
    entry = {
        "widths": [int(w) for w in evaluation.widths],
        "areas": [int(a) for a in evaluation.areas],
    }
    sequence = getattr(evaluation, "component_sequence", None)
    if sequence is not None and len(sequence) == len(entry["widths"]):
        entry["sequence"] = [int(i) for i in sequence]
    entry["sq_error"] = {method: _sig(values) for method, values in sq.items()}
    return entry


#: Entries of the record whose lists are each written on one line (see :func:`_dumps`).
_ONE_LINE = ("components",)


def _dumps(payload: dict, one_line=_ONE_LINE) -> str:
    """``json.dumps(payload, indent=2)``, as :func:`xinpaint.chapter.write_json` writes it,
    except that each list inside the entries ``one_line`` is written on one line.

    Each such list is replaced by a placeholder string, the payload dumped indented,
    and each quoted placeholder replaced by the list dumped on one line
    (``[1, 2, 3]``): everything else is byte for byte what ``write_json`` writes, and
    :func:`json.loads` reads the same values back.
    """
    inline: dict[str, str] = {}

    def mark(value):
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            key = f"@@xinpaint-one-line-{len(inline)}@@"
            inline[key] = json.dumps(value)
            return key
        return value

    marked = {k: mark(v) if k in one_line else v for k, v in payload.items()}
    text = json.dumps(marked, indent=2, sort_keys=False)
    for key, compact in inline.items():
        quoted = json.dumps(key)
        if text.count(quoted) != 1:  # the record holds a placeholder itself: write it plain
            return json.dumps(payload, indent=2, sort_keys=False)
        text = text.replace(quoted, compact)
    return text


def _write_csv(path: Path, rows: list[dict]) -> None:
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _jsonable(r.get(k)) for k in columns})
    tmp.replace(path)


def write_results(evaluation, *, chapter: str, profile, split: str = "test") -> dict:
    """Write an evaluation's tables to ``results_dir(profile)``.

    Files: ``<chapter>.json`` holding ``{"chapter", "profile", "split", "data", "rows",
    "bins", "components"}`` (``data``: the physics of the scans), with ``"regions"``
    where regions were scored and ``"volumes"`` where a volume callback ran (NaN and
    infinity written as null); ``<chapter>.csv`` (rows), ``<chapter>-bins.csv``
    (bins), and ``<chapter>-volumes.csv`` (volumes, where there are any).

    ``"components"`` holds the hole components of the evaluated frames,
    ``{"widths": [...], "areas": [...], "sequence": [...], "sq_error": {method:
    [...]}}``: widths and areas in pixels (integers), the index of each component's
    sequence in the evaluated ``sequences`` (:attr:`Evaluation.component_sequence`)
    and, per method, the sum of squared errors over each component
    (:attr:`Evaluation.component_sq`, rounded to 6 significant digits), in the same
    order; :func:`xinpaint.evaluation.paired_difference` reads them. Each of these
    lists is written on one line, to keep the record small; every other entry is
    indented as :func:`xinpaint.chapter.write_json` writes it. Records written before
    ``"components"`` was added lack it, and those written before ``"sequence"`` was
    added lack that; every other entry is unchanged.

    Parameters
    ----------
    evaluation : Evaluation
        What :func:`xinpaint.evaluation.evaluate_methods` returned.
    chapter : str
        Chapter name: the files' stem.
    profile : str or Profile
        Run profile; the files go to :func:`xinpaint.chapter.results_dir` of it.
    split : str
        Name of the evaluated split, recorded in the JSON.

    Returns
    -------
    dict of str to Path
        ``{"json": ..., "csv": ..., "bins_csv": ...}`` and ``"volumes_csv"`` where written.
    """
    from xinpaint.chapter import results_dir, write_json
    from xinpaint.profiles import get_profile

    name = get_profile(profile).name
    folder = results_dir(name)
    rows = [{k: _jsonable(v) for k, v in r.items()} for r in evaluation.rows]
    bins = [{k: _jsonable(v) for k, v in r.items()} for r in evaluation.bins]
    payload = {"chapter": chapter, "profile": name, "split": split,
               "data": getattr(evaluation, "data", "ideal"), "rows": rows, "bins": bins}
    components = _components(evaluation)
    if components is not None:
        payload["components"] = components
    if len(evaluation.regions):
        payload["regions"] = [{k: _jsonable(v) for k, v in r.items()} for r in evaluation.regions]
    volumes = [{k: _jsonable(v) for k, v in r.items()} for r in getattr(evaluation, "volumes", ())]
    if volumes:
        payload["volumes"] = volumes
    paths = {"json": write_json(folder / f"{chapter}.json", payload, dumps=_dumps)}
    paths["csv"] = folder / f"{chapter}.csv"
    _write_csv(paths["csv"], rows)
    paths["bins_csv"] = folder / f"{chapter}-bins.csv"
    _write_csv(paths["bins_csv"], bins)
    if volumes:
        paths["volumes_csv"] = folder / f"{chapter}-volumes.csv"
        _write_csv(paths["volumes_csv"], volumes)
    return paths
