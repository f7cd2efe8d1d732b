"""The study's questions answered with numbers: "does A beat B in the holes?".

:func:`answer_questions` runs :func:`~xinpaint.evaluation.paired_difference` for each
question of a chapter and words each answer the same way in every chapter: the
difference in dB, its 95 % interval and what was resampled, and a verdict —
``supported`` (the interval lies above 0), ``not supported`` (it includes 0, or lies
below 0: the reverse is supported) or ``not tested`` (no interval: a single block of
frames to resample).
"""

from __future__ import annotations

import math

import numpy as np

from xinpaint.evaluation.bins import _bootstrap_ci
from xinpaint.evaluation.compare import paired_difference
from xinpaint.evaluation.tables import Table

__all__ = ["answer_questions", "interval_text", "verdict", "volume_difference"]

_UNITS = {"sequences": "blocks of frames", "components": "hole components"}
_SINGLE = {"sequences": "a single block of frames", "components": "a single hole component"}


def interval_text(answer: dict) -> str:
    """The interval of a :func:`paired_difference` result in words.

    Examples
    --------
    >>> interval_text({"ci_low": 0.1, "ci_high": 0.5, "n_clusters": 8, "resampled": "sequences"})
    '95 % CI +0.10 to +0.50 dB, 8 blocks of frames resampled'
    """
    if not math.isfinite(answer["ci_low"]):
        return f"no interval: {_SINGLE[answer['resampled']]} to resample"
    return (f"95 % CI {answer['ci_low']:+.2f} to {answer['ci_high']:+.2f} dB, "
            f"{answer['n_clusters']} {_UNITS[answer['resampled']]} resampled")


def verdict(answer: dict) -> str:
    """``supported``, ``not supported (…)`` or ``not tested (no interval)``.

    Examples
    --------
    >>> verdict({"ci_low": -0.4, "ci_high": -0.1, "supported": False})
    'not supported (the reverse is: the interval lies below 0)'
    """
    if not math.isfinite(answer["ci_low"]):
        return "not tested (no interval)"
    if answer["supported"]:
        return "supported"
    return "not supported" + (" (the reverse is: the interval lies below 0)" if answer["ci_high"] < 0
                              else " (the interval includes 0)")


def answer_questions(result, questions: dict, *, seed: int = 0, n_boot: int = 2000):
    """Answer each question ``key → (question, A, B)``: does method A beat method B?

    Parameters
    ----------
    result : Evaluation or dict
        What :func:`~xinpaint.evaluation.evaluate_methods` returned, or its JSON record.
    questions : dict
        ``key → (question text, method A, method B)``; A and B are method names of
        ``result``.
    seed, n_boot : int
        Of the bootstrap (:func:`~xinpaint.evaluation.paired_difference`).

    Returns
    -------
    table : Table
        One row per question: the question, A, B, A − B (dB), the 95 % interval,
        the holes, what was resampled, and the answer (:func:`verdict`).
    answers : dict
        ``key →`` the :func:`paired_difference` result with ``question``,
        ``interval`` (:func:`interval_text`) and ``verdict`` added, for the text.

    Raises
    ------
    ValueError
        If a question is not ``(text, A, B)``, or A or B is not a method of ``result``.

    Examples
    --------
    >>> table, answers = answer_questions(res, {"mask": ("does PConv beat the U-Net?",
    ...                                                  "pconv-mask", "unet-mask")})  # doctest: +SKIP
    >>> answers["mask"]["verdict"]  # doctest: +SKIP
    'supported'
    """
    if not isinstance(questions, dict) or not questions:
        raise ValueError(f"Expected questions as a non-empty dict key -> (question, A, B). "
                         f"Received questions={questions!r}.")
    answers, rows = {}, []
    for key, spec in questions.items():
        if not (isinstance(spec, tuple) and len(spec) == 3 and all(isinstance(s, str) for s in spec)):
            raise ValueError(f"Expected each question as (question, A, B), three strings. "
                             f"Received questions[{key!r}]={spec!r}.")
        text, a, b = spec
        answer = paired_difference(result, a, b, seed=seed, n_boot=n_boot)
        answer = {**answer, "question": text, "interval": interval_text(answer),
                  "verdict": verdict(answer)}
        answers[key] = answer
        rows.append({"question": text, "A": a, "B": b, "A − B (dB)": answer["difference_db"],
                     "95 % CI (dB)": "" if not math.isfinite(answer["ci_low"])
                     else f"{answer['ci_low']:+.2f} to {answer['ci_high']:+.2f}",
                     "holes": answer["n_holes"],
                     "resampled": f"{answer['n_clusters']} {_UNITS[answer['resampled']]}",
                     "answer": answer["verdict"]})
    return Table(rows), answers


def volume_difference(record: dict, a: str, b: str, *, key: str = "volume_psnr", seed: int = 0,
                      n_boot: int = 2000) -> dict:
    """Does method A beat method B in the reconstructed volume? Paired over the scans.

    Parameters
    ----------
    record : dict
        The reconstruction chapter's record (or its Evaluation's ``volumes`` rows as
        ``{"volumes": rows}``): one row per method and scan, with ``sequence`` and ``key``.
    a, b : str
        Method names.
    key : str, optional
        The volume score compared (higher is better: ``volume_psnr``; for
        ``streak_index_hu`` lower is better, the difference is then ``b − a``).
    seed, n_boot : int
        Of the percentile bootstrap of the mean per-scan difference (scans resampled).

    Returns
    -------
    dict
        ``method_a, method_b, key, difference`` (mean over the scans of A − B, or B − A
        for the streak index: positive means A is better), ``per_scan``, ``ci_low,
        ci_high`` (NaN with one scan), ``n_scans``, ``supported`` (ci_low > 0) and
        ``interval``/``verdict`` in words as :func:`answer_questions` gives them.

    Raises
    ------
    ValueError
        If the record has no per-scan volume rows, or A or B is not among them.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman &
    Hall. https://doi.org/10.1201/9780429246593

    Examples
    --------
    >>> rows = [{"method": m, "sequence": s, "volume_psnr": v} for m, s, v in
    ...         [("a", 0, 40.0), ("b", 0, 39.0), ("a", 1, 41.0), ("b", 1, 39.5)]]
    >>> volume_difference({"volumes": rows}, "a", "b")["difference"]
    1.25
    """
    rows = record.get("volumes") or []
    if not rows:
        raise ValueError("Expected a record with per-scan volume rows ('volumes'), as the "
                         "reconstruction chapter writes. Received a record without them.")
    by = {}
    for r in rows:
        if r.get(key) is not None:
            by.setdefault(r["method"], {})[r["sequence"]] = float(r[key])
    for name, method in (("a", a), ("b", b)):
        if method not in by:
            raise ValueError(f"Unknown method: expected one of {', '.join(sorted(by))}. "
                             f"Received {name}={method!r}.")
    scans = sorted(set(by[a]) & set(by[b]))
    sign = -1.0 if key == "streak_index_hu" else 1.0
    per_scan = np.array([sign * (by[a][s] - by[b][s]) for s in scans])
    lo = hi = math.nan
    if len(per_scan) > 1:  # the percentile bootstrap of a mean the size bins use
        lo, hi = _bootstrap_ci(per_scan, np.random.default_rng(seed), n=n_boot)
    out = {"method_a": a, "method_b": b, "key": key, "difference": float(per_scan.mean()),
           "per_scan": per_scan.tolist(), "ci_low": lo, "ci_high": hi, "n_scans": len(scans),
           "supported": bool(math.isfinite(lo) and lo > 0)}
    out["interval"] = ("no interval: a single scan to resample" if not math.isfinite(lo) else
                       f"95 % CI {lo:+.2f} to {hi:+.2f}, {len(scans)} scans resampled")
    out["verdict"] = verdict(out)
    return out
