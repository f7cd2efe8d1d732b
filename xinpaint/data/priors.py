"""Prior projections of whole scans: the extra input of the prior-guided models.

The NMAR prior (Meyer et al. 2010, :func:`xinpaint.baselines.mar.nmar_prior`) is made
from a whole scan: its linearly interpolated frames are reconstructed, the volume is
segmented into air, water and bone, and projected back with the scan's geometry. Its
frames show where the bone runs under the metal, which the frame itself hides: a
model that sees them learns from the 3D consistency of the scan, not only from the
hole's surroundings. :func:`nmar_priors` computes them from what a method may see
(the observed frames with the holes set to 0, the holes, the geometry), cached on
disk; :func:`with_nmar_priors` attaches them to the sequences (``XraySequence.prior``),
and :meth:`XraySequence.frames_between` keeps the frames of the prior with the frames.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

__all__ = ["nmar_priors", "with_nmar_priors"]

#: Part of the cache key: bump when the prior's recipe changes.
_VERSION = 1


def _key(seq, inputs) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([_VERSION, dataclasses.asdict(seq.geometry), float(seq.mu_water),
                         list(inputs.shape)]).encode())
    h.update(np.packbits(seq.holes).tobytes())
    h.update(np.ascontiguousarray(inputs, np.float32).tobytes())
    return h.hexdigest()[:24]


def nmar_priors(sequences, *, cache: bool = True) -> list[np.ndarray]:
    """The prior projections of every sequence: its own, else NMAR's from what a method sees.

    A sequence whose ``prior`` is set (e.g. the projections of a pre-operative CT
    registered to the scan) keeps it. Any other prior is :func:`~xinpaint.baselines.mar.nmar_prior` of the observed frames
    with the holes set to 0, with the metal found by its visual hull (``metal="hull"``:
    no value under the holes is used), the scan's geometry and water calibration.

    Parameters
    ----------
    sequences : list of XraySequence
        Whole scans, each with its ``prior`` or its ``geometry`` (a block of frames from
        :meth:`~xinpaint.data.XraySequence.frames_between` has none: take the prior of
        the whole scan and slice it).
    cache : bool
        Keep each prior as a ``.npy`` file under ``<data cache>/priors``, keyed by the
        scan's inputs, holes, geometry and the recipe, and reuse it.

    Returns
    -------
    list of ndarray of float32
        (T, H, W) per sequence, on the frames' scale.

    References
    ----------
    .. [1] E. Meyer, R. Raupach, M. Lell, B. Schmidt and M. Kachelrieß, "Normalized
           metal artifact reduction (NMAR) in computed tomography", Medical Physics
           37(10), 5482–5493, 2010. :DOI:`10.1118/1.3484090`

    Examples
    --------
    >>> test = load_split("test", profile="smoke")  # doctest: +SKIP
    >>> priors = nmar_priors(test)  # doctest: +SKIP
    >>> priors[0].shape == test[0].holes.shape  # doctest: +SKIP
    True
    """
    from xinpaint.baselines.mar import nmar_prior
    from xinpaint.data.ct import data_dir

    sequences = list(sequences)
    for i, seq in enumerate(sequences):
        own = getattr(seq, "prior", None)
        if own is not None and np.shape(own) != seq.holes.shape:
            raise ValueError(f"Expected a prior of the frames' shape {seq.holes.shape}. "
                             f"Received sequences[{i}].prior.shape={np.shape(own)}.")
        if own is None and getattr(seq, "geometry", None) is None:
            raise ValueError(f"Expected whole scans with their geometry for the NMAR prior. "
                             f"Received sequences[{i}].geometry=None.")
    folder = data_dir() / "priors"
    out = []
    for seq in sequences:
        if getattr(seq, "prior", None) is not None:
            out.append(np.asarray(seq.prior, np.float32))
            continue
        inputs = np.where(seq.holes, np.float32(0), seq.observed).astype(np.float32)
        path = folder / f"nmar-{_key(seq, inputs)}.npy"
        if cache and path.exists():
            out.append(np.load(path))
            continue
        prior = nmar_prior(inputs, seq.holes, geometry=seq.geometry, metal="hull",
                           mu_water=seq.mu_water).projections.astype(np.float32)
        if cache:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.stem + ".partial.npy")
            np.save(tmp, prior)
            tmp.replace(path)
        out.append(prior)
    return out


def with_nmar_priors(sequences, *, cache: bool = True) -> list:
    """Copies of the sequences with their NMAR prior projections as ``prior``.

    See :func:`nmar_priors` (a sequence that has a prior keeps it).

    Examples
    --------
    >>> test = with_nmar_priors(load_split("test", profile="smoke"))  # doctest: +SKIP
    >>> test[0].frames_between(0, 4).prior.shape[0]  # doctest: +SKIP
    4
    """
    sequences = list(sequences)
    return [s if getattr(s, "prior", None) is not None else dataclasses.replace(s, prior=prior)
            for s, prior in zip(sequences, nmar_priors(sequences, cache=cache), strict=True)]
