"""The study's splits and the Keras-ready training pipelines.

Split
-----
The test anatomy is never seen in training: the ``train`` and ``val`` sequences are
projected from the cranial half of the CT's slices only (``z_range=(0.5, 1.0)``:
apices, upper ribs) and the ``test`` sequences from the caudal half only
(``z_range=(0.0, 0.5)``: lower ribs, diaphragm, liver dome) — the other half is
dropped before projecting, so no ray of a test frame crosses a voxel that a training
frame sees. The isocentre sits in the middle of each half (75 % and 25 % of the CT's
length); the detector sees 160 mm of the long axis around it, so the rows at the
frames' inner edge (where the cone leaves the kept half) show the cut. ``val`` differs from ``train`` by its seeds
(other metal, other angles). Sequence ``i`` of a split has the seed
``seed + offset(split) + i``, with offsets 0, 10 000 and 20 000.

Pipelines
---------
:func:`crops_2d` and :func:`patches_3d` return infinite, batched ``tf.data``
datasets of ``((image, valid), target)``: ``valid = 1 - holes`` (float32), ``image =
observed * valid`` (what the detector gives, the holes set to zero) and ``target`` the
metal-free, noise-free frames — with ``fills`` given, ``image`` has two
channels: a classical fill of the holes first (the hybrid models' input), then the
masked frame; with ``priors`` (of 2D crops, e.g. the NMAR prior projections of
:func:`~xinpaint.data.nmar_priors`) the prior's frames come last. Crops are
drawn around holes (every crop holds some): a hole component is drawn uniformly, so
that needles and pacemakers are seen alike whatever their number of pixels, then a
pixel of it; flipped at random, deterministic given the seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from xinpaint.data.ct import data_dir, fetch_example_ct
from xinpaint.data.geometry import CArmGeometry
from xinpaint.data.metal import MetalObject
from xinpaint.data.sequence import XraySequence, simulate_sequence

__all__ = ["SPLITS", "crops_2d", "frame_blocks", "load_split", "patches_3d", "split_z_centre",
           "split_z_range", "stack_channels", "stack_crops", "stack_radius", "stack_sequence"]

SPLITS = ("train", "val", "test")
_OFFSETS = {"train": 0, "val": 10_000, "test": 20_000}
_VERSION = 3


def split_z_centre(split: str) -> float:
    """Where the isocentre sits along the CT (fraction of its length) for a split."""
    return 0.25 if split == "test" else 0.75


def split_z_range(split: str) -> tuple[float, float]:
    """The fractions (low, high) of the CT's slices a split is projected from."""
    return (0.0, 0.5) if split == "test" else (0.5, 1.0)


def _save(path, seq: XraySequence):
    metal = json.dumps([o.as_dict() for o in seq.metal])
    geometry = json.dumps(dataclasses.asdict(seq.geometry) if seq.geometry is not None else None)
    extra = {f"structure_{k}": np.packbits(v) for k, v in seq.structures.items()}
    noisy = {} if seq.physics == "ideal" else {"observed": seq.observed, "reference": seq.reference}
    np.savez_compressed(path, frames=seq.target, holes=np.packbits(seq.holes),
                        ribs=np.packbits(seq.ribs), angles=seq.angles, seed=seq.seed,
                        shape=np.array(seq.target.shape), metal=metal, metal_path=seq.metal_path,
                        geometry=geometry, physics=seq.physics, mu_water=seq.mu_water,
                        hole_rule=seq.hole_rule, **noisy, **extra)


def _load(path) -> XraySequence:
    with np.load(path) as f:
        shape = tuple(f["shape"])
        n = int(np.prod(shape))
        unpack = lambda a: np.unpackbits(a)[:n].reshape(shape).astype(bool)  # noqa: E731
        structures = {k[len("structure_"):]: unpack(f[k]) for k in f.files if k.startswith("structure_")}
        metal = [MetalObject(**o) for o in json.loads(str(f["metal"]))]
        geometry = json.loads(str(f["geometry"]))
        return XraySequence(
            f["frames"], unpack(f["holes"]), f["angles"], unpack(f["ribs"]), structures, metal,
            int(f["seed"]), observed=f["observed"] if "observed" in f.files else None,
            reference=f["reference"] if "reference" in f.files else None, metal_path=f["metal_path"],
            geometry=CArmGeometry(**geometry) if geometry else None, physics=str(f["physics"]),
            mu_water=float(f["mu_water"]), hole_rule=str(f["hole_rule"]))


def load_split(split: str, *, profile, seed: int | None = None, cache: bool = True,
               metal="default", metal_region: str = "body", label_groups=None,
               physics: str = "realistic") -> list[XraySequence]:
    """The simulated sequences of one split, sized by a profile (cached on disk).

    Parameters
    ----------
    split : str
        ``"train"``, ``"val"`` or ``"test"``.
    profile : str or Profile
        Gives ``detector_shape``, ``n_frames``, ``arc_degrees`` and ``n_sequences[split]``.
    seed : int, optional
        Base seed; default :data:`xinpaint.chapter.SEED`.
    cache : bool
        Keep the sequences as ``.npz`` files under ``<data cache>/sequences`` and reuse them.
    metal, metal_region, label_groups, physics
        Passed to :func:`~xinpaint.data.simulate_sequence` (``physics="ideal"`` gives the
        same scans, metal and geometry, with the ideal frames: the isocentre is on the
        metal for both).

    Returns
    -------
    list of XraySequence
    """
    from xinpaint.chapter import SEED
    from xinpaint.profiles import get_profile

    if split not in SPLITS:
        raise ValueError(f"Unknown split: expected one of {', '.join(SPLITS)}. Received split={split!r}.")
    prof = get_profile(profile)
    seed = SEED if seed is None else int(seed)
    folder = data_dir() / "sequences"
    options = dict(n_frames=prof.n_frames, detector_shape=tuple(prof.detector_shape),
                   arc_degrees=prof.arc_degrees, metal=metal, z_range=split_z_range(split),
                   z_centre=split_z_centre(split),
                   metal_region=metal_region, physics=physics, isocentre="metal",
                   label_groups=tuple(sorted(label_groups)) if label_groups else None)
    ct = None
    sequences = []
    for i in range(prof.n_sequences[split]):
        s = seed + _OFFSETS[split] + i
        key = hashlib.sha256(json.dumps([_VERSION, s, repr(sorted(options.items()))]).encode()).hexdigest()[:20]
        path = folder / f"{split}-{s}-{key}.npz"
        if cache and path.exists():
            sequences.append(_load(path))
            continue
        if ct is None:
            ct = fetch_example_ct()
        seq = simulate_sequence(ct, seed=s, **options)
        if cache:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.stem + ".partial.npz")
            _save(tmp, seq)
            tmp.replace(path)
        sequences.append(seq)
    return sequences


def frame_blocks(sequences, *, max_frames: int, block: int = 16) -> list[XraySequence]:
    """Evenly spaced blocks of contiguous frames from every scan, ``max_frames`` in all.

    A short scan of 201 frames sees the metal from every side: its first frames alone
    (lateral views) would show a pacemaker edge-on only. Each scan gets
    ``max_frames // len(sequences)`` frames (at least one), as blocks of ``block``
    contiguous frames (fewer where the share is smaller) centred at evenly spaced
    angles, so that temporal methods still see neighbouring frames. Each block is a
    sequence of its own (:meth:`XraySequence.frames_between`).

    Examples
    --------
    >>> blocks = frame_blocks(load_split("test", profile="cpu"), max_frames=128)  # doctest: +SKIP
    >>> len(blocks), len(blocks[0])  # doctest: +SKIP
    (8, 16)
    """
    seqs = list(sequences)
    if not seqs:
        raise ValueError("Expected at least one sequence. Received sequences=[].")
    if not isinstance(max_frames, int | np.integer) or max_frames < 1:
        raise ValueError(f"Expected max_frames >= 1. Received max_frames={max_frames!r}.")
    if not isinstance(block, int | np.integer) or block < 1:
        raise ValueError(f"Expected block >= 1. Received block={block!r}.")
    share = max(1, int(max_frames) // len(seqs))
    out = []
    for seq in seqs:
        t = len(seq)
        b = min(int(block), share, t)
        n = max(1, min(share // b, t // b))
        starts = np.clip(np.round((np.arange(n) + 0.5) / n * t - b / 2), 0, t - b).astype(int)
        out += [seq.frames_between(int(s), int(s) + b) for s in np.unique(starts)]
    return out


def _hole_pixels(holes):
    """Hole pixels (t, y, x) sorted by connected component (8-connected within a frame),
    with each component's first index and size: crops are drawn per component, so that
    every hole size is seen as often, not in proportion to its pixels."""
    import scipy.ndimage as ndi

    labels = np.zeros(holes.shape, np.int64)
    offset = 0
    for t in range(holes.shape[0]):
        lab, n = ndi.label(holes[t], structure=np.ones((3, 3), bool))
        labels[t] = np.where(lab > 0, lab + offset, 0)
        offset += n
    t, y, x = np.nonzero(holes)
    ids = labels[t, y, x]
    order = np.argsort(ids, kind="stable")
    t, y, x, ids = t[order], y[order], x[order], ids[order]
    _, starts, counts = np.unique(ids, return_index=True, return_counts=True)
    return t, y, x, starts, counts


def _check_sequences(sequences, fills, priors=None):
    if not sequences:
        raise ValueError("Expected at least one sequence. Received sequences=[].")
    if fills is not None and len(fills) != len(sequences):
        raise ValueError(f"Expected one fill per sequence ({len(sequences)}). "
                         f"Received {len(fills)} fills.")
    if priors is not None:
        if len(priors) != len(sequences):
            raise ValueError(f"Expected one prior per sequence ({len(sequences)}). "
                             f"Received {len(priors)} priors.")
        for i, (seq, prior) in enumerate(zip(sequences, priors, strict=True)):
            if np.shape(prior) != seq.holes.shape:
                raise ValueError(f"Expected each prior of its sequence's shape {seq.holes.shape}. "
                                 f"Received priors[{i}].shape={np.shape(prior)}.")


def _windows(sequences, fills, window, rng, batch, augment, priors=None):
    """Yield batches of ((image, valid), target) windows of shape ``window`` (T, H, W)."""
    t_len, h_len, w_len = window
    centres = [(i, *_hole_pixels(seq.holes)) for i, seq in enumerate(sequences)]
    while True:
        images, valids, targets = [], [], []
        for _ in range(batch):
            i, ts, ys, xs, starts, counts = centres[rng.integers(len(centres))]
            seq = sequences[i]
            T, H, W = seq.frames.shape
            if len(ts):  # a hole component drawn uniformly (thin and wide alike), then a pixel of it
                c = rng.integers(len(starts))
                k = starts[c] + rng.integers(counts[c])
                ct, cy, cx = ts[k], ys[k], xs[k]
            else:
                ct, cy, cx = rng.integers(T), rng.integers(H), rng.integers(W)
            t0 = int(np.clip(ct - t_len // 2, 0, T - t_len))
            y0 = int(np.clip(cy - rng.integers(h_len), 0, H - h_len))
            x0 = int(np.clip(cx - rng.integers(w_len), 0, W - w_len))
            sl = (slice(t0, t0 + t_len), slice(y0, y0 + h_len), slice(x0, x0 + w_len))
            target = seq.target[sl]
            observed = seq.observed[sl]
            valid = (~seq.holes[sl]).astype(np.float32)
            channels = [observed * valid]
            if fills is not None:  # the classical fill first: hybrids add their correction to it
                channels.insert(0, np.where(valid > 0, observed, fills[i][sl]))
            if priors is not None:  # the prior's frames last
                channels.append(np.asarray(priors[i][sl], np.float32))
            image = np.stack(channels, -1)
            if augment:
                if rng.random() < 0.5:
                    image, valid, target = image[:, :, ::-1], valid[:, :, ::-1], target[:, :, ::-1]
                if rng.random() < 0.5:
                    image, valid, target = image[::-1], valid[::-1], target[::-1]
            images.append(image)
            valids.append(valid[..., None])
            targets.append(target[..., None])
        yield (np.stack(images).astype(np.float32), np.stack(valids)), np.stack(targets).astype(np.float32)


def _dataset(gen, shape, channels):
    import tensorflow as tf

    spec = (
        (tf.TensorSpec((None, *shape, channels), tf.float32), tf.TensorSpec((None, *shape, 1), tf.float32)),
        tf.TensorSpec((None, *shape, 1), tf.float32),
    )
    return tf.data.Dataset.from_generator(gen, output_signature=spec).prefetch(2)


def crops_2d(sequences, *, crop_size: int, batch_size: int, seed: int = 0, fills=None,
             priors=None, augment: bool = True):
    """Infinite batches of 2D crops ``((image, valid), target)`` around the holes.

    Shapes: image (B, crop, crop, C) with C = 1, plus 1 with ``fills`` (a classical fill
    per sequence, same shape as its frames: channel 0), plus 1 with ``priors`` (prior
    projections per sequence, same shape: the last channel); valid and target (B, crop,
    crop, 1).
    """
    _check_sequences(sequences, fills, priors)
    if crop_size < 8 or any(min(s.frames.shape[1:]) < crop_size for s in sequences):
        raise ValueError(f"Expected 8 <= crop_size <= the frames' height and width. "
                         f"Received crop_size={crop_size!r}.")

    def gen():
        rng = np.random.default_rng(seed)
        for (image, valid), target in _windows(sequences, fills, (1, crop_size, crop_size), rng,
                                               batch_size, augment, priors):
            yield (image[:, 0], valid[:, 0]), target[:, 0]

    return _dataset(gen, (crop_size, crop_size), 1 + (fills is not None) + (priors is not None))


def patches_3d(sequences, *, patch_shape, batch_size: int, seed: int = 0, fills=None,
               augment: bool = True):
    """Infinite batches of 2D+T patches ``((image, valid), target)`` around the holes.

    Shapes: image (B, T, H, W, C), valid and target (B, T, H, W, 1), for
    ``patch_shape = (T, H, W)``.
    """
    _check_sequences(sequences, fills)
    patch_shape = tuple(int(s) for s in patch_shape)
    if len(patch_shape) != 3 or any(
        any(p > n for p, n in zip(patch_shape, s.frames.shape, strict=True)) for s in sequences
    ):
        raise ValueError(f"Expected a (T, H, W) patch no larger than the sequences. "
                         f"Received patch_shape={patch_shape!r}.")

    def gen():
        rng = np.random.default_rng(seed)
        yield from _windows(sequences, fills, patch_shape, rng, batch_size, augment)

    return _dataset(gen, patch_shape, 1 if fills is None else 2)


def stack_channels(image, valid, *, radius: int):
    """Neighbouring frames as channels: the input of the frame-stack hybrids.

    Parameters
    ----------
    image : ndarray, shape (..., 2 * radius + 1, H, W, C)
        Windows of ``2 * radius + 1`` consecutive frames, channels ``[fill, masked]``
        (a classical fill, visible pixels kept; the observed frame, holes at 0), or
        ``[fill, masked, prior]`` (C = 3: a prior's projection of each frame, e.g. NMAR's).
    valid : ndarray, shape (..., 2 * radius + 1, H, W, 1)
        1 where visible, of the same windows.
    radius : int
        Neighbours on each side of the centre frame.

    Returns
    -------
    image : ndarray, shape (..., H, W, 4 * radius + 2) or (..., H, W, 4 * radius + 3)
        ``[fill, masked]`` of the centre frame, the fills of the ``2 * radius`` neighbours,
        the centre frame's prior where ``image`` has one (intensities: the first
        ``2 * radius + 2``, or ``+ 3``, channels), then the neighbours' ``valid`` (masks).
    valid : ndarray, shape (..., H, W, 1)
        The centre frame's.

    Examples
    --------
    >>> im, va = stack_channels(np.zeros((3, 8, 8, 2)), np.ones((3, 8, 8, 1)), radius=1)
    >>> im.shape, va.shape
    ((8, 8, 6), (8, 8, 1))
    >>> stack_channels(np.zeros((3, 8, 8, 3)), np.ones((3, 8, 8, 1)), radius=1)[0].shape
    (8, 8, 7)
    """
    length = 2 * radius + 1
    if image.shape[-4] != length or valid.shape[-4] != length:
        raise ValueError(f"Expected windows of 2 * radius + 1 = {length} frames. "
                         f"Received image.shape={image.shape}, valid.shape={valid.shape}.")
    if image.shape[-1] not in (2, 3):
        raise ValueError("Expected image channels [fill, masked] or [fill, masked, prior]. "
                         f"Received image.shape={image.shape}.")
    others = [j for j in range(length) if j != radius]
    centre = image[..., radius, :, :, :]
    channels = [centre[..., :2], *(image[..., j, :, :, :1] for j in others),
                centre[..., 2:], *(valid[..., j, :, :, :] for j in others)]
    return np.concatenate(channels, axis=-1), valid[..., radius, :, :, :]


def stack_radius(channels: int, *, prior: bool = False) -> int | None:
    """The radius of a frame-stack input of ``channels`` channels (``4 * radius + 2``,
    plus 1 with a prior, radius >= 1; see :func:`stack_channels`), or None for any other
    count.

    Examples
    --------
    >>> stack_radius(6), stack_radius(10), stack_radius(2), stack_radius(7, prior=True)
    (1, 2, None, 1)
    """
    radius, rest = divmod(int(channels) - 2 - bool(prior), 4)
    return radius if radius >= 1 and rest == 0 else None


def stack_sequence(fill, masked, valid, *, radius: int, prior=None):
    """:func:`stack_channels` for every frame of a sequence (T, H, W), mirrored at both ends.

    Returns ``(image, valid)`` of shapes (T, H, W, 4 * radius + 2) and (T, H, W, 1), the
    image with one more channel, each frame's ``prior`` (T, H, W), where given.
    """
    T = np.shape(fill)[0]
    idx = np.arange(T)[:, None] + np.arange(2 * radius + 1)[None]  # each frame's window

    def windows(a):
        a = np.pad(np.asarray(a, np.float32), [(radius, radius), (0, 0), (0, 0)],
                   mode="reflect" if T > 1 else "edge")
        return a[idx]

    channels = [fill, masked] + ([] if prior is None else [prior])
    image = np.stack([windows(a) for a in channels], -1)
    return stack_channels(image, windows(valid)[..., None], radius=radius)


def stack_crops(sequences, *, crop_size: int, radius: int, batch_size: int, fills, seed: int = 0,
                priors=None, augment: bool = True):
    """Infinite batches of frame-stack crops ``((image, valid), target)`` around the holes.

    Windows of ``2 * radius + 1`` frames (a hole pixel drawn as in :func:`crops_2d` in the
    centre frame) become channels by :func:`stack_channels`: image (B, crop, crop,
    4 * radius + 2), plus 1 with ``priors`` (prior projections per sequence, of its
    frames' shape: the centre frame's, after the neighbours' fills), valid and target
    (B, crop, crop, 1), the centre frame's.
    """
    _check_sequences(sequences, fills, priors)
    if fills is None:
        raise ValueError("The frame-stack crops need a classical fill per sequence. Received fills=None.")
    if crop_size < 8 or any(min(s.frames.shape[1:]) < crop_size for s in sequences):
        raise ValueError(f"Expected 8 <= crop_size <= the frames' height and width. "
                         f"Received crop_size={crop_size!r}.")
    length = 2 * radius + 1
    if any(s.frames.shape[0] < length for s in sequences):
        raise ValueError(f"Expected sequences of at least 2 * radius + 1 = {length} frames. "
                         f"Received radius={radius!r}.")

    def gen():
        rng = np.random.default_rng(seed)
        for (image, valid), target in _windows(sequences, fills, (length, crop_size, crop_size), rng,
                                               batch_size, augment, priors):
            image, centre = stack_channels(image, valid, radius=radius)
            yield (image, centre), target[:, radius]

    return _dataset(gen, (crop_size, crop_size), 4 * radius + 2 + (priors is not None))
