"""The evaluation runner shared by every chapter.

:func:`evaluate_methods` runs a set of methods (names of classical baselines from
:mod:`xinpaint.baselines`, their denoised variants such as ``"biharmonic (σ 0.75)"``,
or callables ``f(frames, holes) -> frames``, e.g. a trained Keras model wrapped by
:func:`keras_method`) on the same test frames and holes, times them, scores them
with :func:`xinpaint.metrics.evaluate`, adds the scores per hole-size bin, and
writes ``<results_dir>/<chapter>.json`` with CSV files beside it.

Methods are fed each sequence's *observed* frames (what the detector gives, noise
and metal included), with the hidden pixels set to 0, and scored against its
noise-free, metal-free *target* (see :mod:`xinpaint.evaluation.runner`).

=============================== ===================================================
module                          holds
=============================== ===================================================
:mod:`~.bins`                   hole components (width, area), the ten size bins
                                :data:`SIZE_BINS` and :func:`size_bins`,
                                :func:`bin_rows`, :func:`error_by_distance`
:mod:`~.tables`                 :class:`Table`, :func:`render_table`, column orders
:mod:`~.methods`                :func:`baseline_method`, :func:`keras_method`
:mod:`~.runner`                 :func:`evaluate_methods` and :class:`Evaluation`
                                (with an optional ``volume=`` callback per sequence)
:mod:`~.writer`                 :func:`write_results`: JSON and CSV
:mod:`~.compare`                :func:`paired_difference`: does A beat B in the
                                holes? (paired bootstrap over the sequences)
:mod:`~.questions`              :func:`answer_questions`: a chapter's questions,
                                answered and worded the same way everywhere
=============================== ===================================================

Hole-size bins
--------------
Holes are split into connected components per frame and binned by their *width*,
the diameter of the largest inscribed disc, in ten bins from a guide wire to a
pacemaker (edges for a 256-pixel detector, scaled with the detector by
:func:`size_bins`); the bin rows also give the median area of their components.
The table of bins is in :mod:`xinpaint.evaluation.bins`.

Comparing two methods
---------------------
:func:`paired_difference` answers "does method A beat method B in the holes?": the
difference of their pooled PSNR in the holes (optionally within a width range) with a
95 % paired-bootstrap confidence interval that resamples whole sequences (the hole
components of one sequence, the same metal in neighbouring frames, are not
independent), from an :class:`Evaluation` or from the chapter's JSON record, whose
``"components"`` entry holds the squared errors of every method in every hole
component and the sequence of each component.
"""

from __future__ import annotations

from xinpaint.evaluation.bins import (
    MSE_FLOOR,
    SIZE_BINS,
    SIZE_BINS_WIDTH,
    bin_rows,
    error_by_distance,
    hole_components,
    size_bins,
)
from xinpaint.evaluation.compare import paired_difference
from xinpaint.evaluation.methods import Method, baseline_method, keras_method
from xinpaint.evaluation.questions import (
    answer_questions,
    interval_text,
    verdict,
    volume_difference,
)
from xinpaint.evaluation.runner import Evaluation, evaluate_methods
from xinpaint.evaluation.tables import (
    BIN_COLUMNS,
    REGION_COLUMNS,
    TABLE_COLUMNS,
    Table,
    render_table,
)
from xinpaint.evaluation.writer import write_results

__all__ = [
    "BIN_COLUMNS",
    "MSE_FLOOR",
    "REGION_COLUMNS",
    "SIZE_BINS",
    "SIZE_BINS_WIDTH",
    "TABLE_COLUMNS",
    "Evaluation",
    "Method",
    "Table",
    "answer_questions",
    "baseline_method",
    "bin_rows",
    "error_by_distance",
    "evaluate_methods",
    "hole_components",
    "interval_text",
    "keras_method",
    "paired_difference",
    "render_table",
    "size_bins",
    "verdict",
    "volume_difference",
    "write_results",
]
