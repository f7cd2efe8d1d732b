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

from xinpaint.evaluation.compare import paired_difference
from xinpaint.evaluation.tables import Table

__all__ = ["answer_questions", "interval_text", "verdict"]

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
