"""xinpaint: deep-learning inpainting of metal in X-ray image sequences.

Submodules are imported on first use so that ``import xinpaint`` stays fast and
does not start TensorFlow: ``xinpaint.data``, ``xinpaint.layers``,
``xinpaint.models``, ``xinpaint.losses``, ``xinpaint.perceptual``,
``xinpaint.metrics``, ``xinpaint.baselines``, ``xinpaint.evaluation``,
``xinpaint.profiles``, ``xinpaint.chapter``.

``xinpaint.inpaint(frames, holes, model=...)`` inpaints your own images or sequences
(see :mod:`xinpaint.inference`).
"""

from importlib import import_module

from xinpaint._version import __version__

_SUBMODULES = {
    "baselines",
    "chapter",
    "data",
    "evaluation",
    "experiments",
    "harness",
    "inference",
    "io",
    "layers",
    "losses",
    "metrics",
    "models",
    "perceptual",
    "plotting",
    "profiles",
    "system",
    "training",
}

__all__ = ["__version__", "inpaint", *sorted(_SUBMODULES)]


def __getattr__(name):
    if name == "inpaint":  # xinpaint.inpaint(frames, holes, model=...)
        from xinpaint.inference import inpaint

        return inpaint
    if name in _SUBMODULES:
        return import_module(f"xinpaint.{name}")
    raise AttributeError(f"module 'xinpaint' has no attribute {name!r}")
