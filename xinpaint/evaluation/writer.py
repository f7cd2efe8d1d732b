"""Writing an evaluation: ``<chapter>.json`` and CSV files beside it in ``results_dir``."""

from __future__ import annotations

import csv
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
    """The ``"components"`` entry: widths, areas and per-method squared errors of the holes."""
    sq = getattr(evaluation, "component_sq", None) or {}
    if not sq:
        return None
    return {
        "widths": [int(w) for w in evaluation.widths],
        "areas": [int(a) for a in evaluation.areas],
        "sq_error": {method: _sig(values) for method, values in sq.items()},
    }


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
    ``{"widths": [...], "areas": [...], "sq_error": {method: [...]}}``: widths and
    areas in pixels (integers) and, per method, the sum of squared errors over each
    component (:attr:`Evaluation.component_sq`, rounded to 6 significant digits), in
    the same order; :func:`xinpaint.evaluation.paired_difference` reads them. Records
    written before it was added lack it; every other entry is unchanged.

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
    paths = {"json": write_json(folder / f"{chapter}.json", payload)}
    paths["csv"] = folder / f"{chapter}.csv"
    _write_csv(paths["csv"], rows)
    paths["bins_csv"] = folder / f"{chapter}-bins.csv"
    _write_csv(paths["bins_csv"], bins)
    if volumes:
        paths["volumes_csv"] = folder / f"{chapter}-volumes.csv"
        _write_csv(paths["volumes_csv"], volumes)
    return paths
