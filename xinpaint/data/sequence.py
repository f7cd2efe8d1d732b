"""Simulated X-ray sequences: the same C-arm rotation with and without metal.

:func:`simulate_sequence` projects a CT with RTK for every frame of a C-arm rotation,
places metal objects in 3D inside the body and traces them on every frame: the
result carries the clean frames (the ground truth), the holes the metal makes, the
gantry angles, and where ribs (and other labelled structures) are crossed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xinpaint.data.ct import CTVolume
from xinpaint.data.geometry import CArmGeometry
from xinpaint.data.metal import MetalObject, random_metal, trace_holes
from xinpaint.data.projection import LINE_INTEGRAL_SCALE, forward_project, hu_to_mu, volume_image

__all__ = ["METAL_CONTRAST", "XraySequence", "simulate_sequence"]

#: What metal adds to a frame in :attr:`XraySequence.observed` (a saturating object).
METAL_CONTRAST = 0.6

#: Path length (mm) through a rib above which a pixel counts as crossing a rib.
RIB_PATH_MM = 3.0


@dataclass
class XraySequence:
    """A simulated C-arm sequence.

    Attributes
    ----------
    frames : ndarray of float32
        (T, H, W) clean normalised line integrals in [0, 1]: the ground truth.
    holes : ndarray of bool
        (T, H, W), True where metal hides the anatomy.
    angles : ndarray
        (T,) gantry angles (degrees).
    ribs : ndarray of bool
        (T, H, W), True where the ray crosses more than 3 mm of rib.
    structures : dict
        Label group → (T, H, W) bool, where the ray crosses that structure.
    metal : list of MetalObject
        The objects that make the holes.
    seed : int
        The seed that made this sequence.
    """

    frames: np.ndarray
    holes: np.ndarray
    angles: np.ndarray
    ribs: np.ndarray
    structures: dict = field(default_factory=dict)
    metal: list = field(default_factory=list)
    seed: int = 0

    @property
    def valid(self) -> np.ndarray:
        """``1 - holes`` as float32: the model inputs' mask."""
        return (~self.holes).astype(np.float32)

    @property
    def observed(self) -> np.ndarray:
        """What a detector records: the frames with the metal on them (saturating)."""
        return np.clip(self.frames + METAL_CONTRAST * self.holes, 0.0, 1.0).astype(np.float32)

    def __len__(self) -> int:
        return int(self.frames.shape[0])


_DOWNSAMPLED: dict = {}


def _check_z_range(z_range) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in z_range)
    except (TypeError, ValueError):
        raise ValueError(f"Expected z_range as two fractions (low, high) of the CT's slices. "
                         f"Received z_range={z_range!r}.") from None
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"Expected 0 <= low < high <= 1 in z_range. Received z_range={z_range!r}.")
    return lo, hi


def _factor(ct: CTVolume, geometry: CArmGeometry) -> int:
    """In-plane down-sampling: voxels about the size of a detector pixel at the isocentre,
    and at least 2 (a 512² CT becomes 256², which keeps the projection fast)."""
    pixel_at_iso = geometry.pitch / geometry.magnification
    return int(max(2, round(pixel_at_iso / min(ct.spacing[:2]))))


def _downsampled(ct: CTVolume, factor: int, groups: tuple):
    key = (id(ct), factor, groups)
    if key not in _DOWNSAMPLED or _DOWNSAMPLED[key][0] is not ct:
        from skimage.transform import downscale_local_mean

        f = (factor, factor, 1)
        mu = downscale_local_mean(hu_to_mu(ct.hu), f).astype(np.float32)
        masks = {g: downscale_local_mean(ct.mask_of(g).astype(np.float32), f).astype(np.float32)
                 for g in groups}
        body = downscale_local_mean((ct.hu > -500).astype(np.float32), f) > 0.5
        spacing = (ct.spacing[0] * factor, ct.spacing[1] * factor, ct.spacing[2])
        _DOWNSAMPLED.clear()  # keep one volume in memory
        _DOWNSAMPLED[key] = (ct, mu, masks, body, spacing)
    return _DOWNSAMPLED[key][1:]


def simulate_sequence(
    ct: CTVolume,
    *,
    n_frames: int,
    detector_shape=(256, 256),
    arc_degrees: float = 64.0,
    start_degrees: float | None = None,
    metal="default",
    seed: int = 0,
    label_groups=None,
    z_range=None,
    z_centre: float | None = None,
    metal_region: str = "body",
    geometry_options: dict | None = None,
) -> XraySequence:
    """Simulate one C-arm rotation around a CT, with metal inside the body.

    Parameters
    ----------
    ct : CTVolume
        The anatomy (e.g. :func:`~xinpaint.data.fetch_example_ct`).
    n_frames : int
        Frames of the sequence (≥ 1).
    detector_shape : tuple of int
        (H, W) detector pixels (≥ 32 each).
    arc_degrees : float
        Angular range of the rotation (> 0).
    start_degrees : float, optional
        First gantry angle; drawn in [-60, 60 - arc] degrees from ``seed`` when None.
    metal : str, dict or list, optional
        ``"default"`` (1–2 needles, up to one thick needle, a coin, up to one coil),
        ``"none"``, a dict of counts per kind, or a list of
        :class:`~xinpaint.data.metal.MetalObject`.
    seed : int
        Seed of the metal and the start angle: the same seed gives identical arrays.
    label_groups : sequence of str, optional
        Label groups of the CT (e.g. ``("lungs", "spine", "heart")``) to project into
        :attr:`XraySequence.structures`; ribs are always projected.
    z_range : tuple of float, optional
        (low, high) fractions of the CT's slices kept (0 = first, caudal slice; 1 = the
        end of the last, cranial one): the slices outside are dropped before projecting
        and the metal is placed inside the kept part, so that two sequences with
        disjoint ranges share no anatomy (the train/test split). Default: all slices.
    z_centre : float, optional
        Where the isocentre sits along the CT's long axis, as a fraction of its
        extent (0 = first, caudal slice; 1 = last, cranial one); default the middle of
        ``z_range`` (0.5 without it). The detector sees 160 mm of the long axis around it.
    metal_region : str
        ``"body"`` (anywhere inside the body, HU > -500) or ``"ribs"`` (centred on
        rib voxels, so that the metal crosses ribs).
    geometry_options : dict, optional
        Further :class:`~xinpaint.data.geometry.CArmGeometry` arguments (``sid``,
        ``sdd``, ``detector_size_mm``).

    Returns
    -------
    XraySequence

    Raises
    ------
    ValueError
        For a CT that is not 3D or holds NaN, ``n_frames < 1``, a detector smaller
        than 32 pixels, an arc of 0 degrees, a bad ``z_range`` or ``z_centre``, or an
        unknown metal or region.

    Examples
    --------
    >>> ct = fetch_example_ct()  # doctest: +SKIP
    >>> seq = simulate_sequence(ct, n_frames=8, detector_shape=(128, 128), seed=1)  # doctest: +SKIP
    >>> seq.frames.shape, seq.holes.dtype  # doctest: +SKIP
    ((8, 128, 128), dtype('bool'))
    """
    if not isinstance(ct, CTVolume):
        hu = np.asarray(ct)
        if hu.ndim != 3:
            raise ValueError(f"Expected a CTVolume or a 3D array of HU. Received ct of shape {hu.shape}.")
        ct = CTVolume(hu, (1.0, 1.0, 1.0))
    lo, hi = (0.0, 1.0) if z_range is None else _check_z_range(z_range)
    if z_centre is None:
        z_centre = (lo + hi) / 2
    if not 0.0 <= float(z_centre) <= 1.0:
        raise ValueError(f"Expected z_centre in [0, 1]. Received z_centre={z_centre!r}.")
    if metal_region not in ("body", "ribs"):
        raise ValueError(f"Expected metal_region 'body' or 'ribs'. Received metal_region={metal_region!r}.")
    rng = np.random.default_rng(seed)
    if start_degrees is None:
        start_degrees = float(rng.uniform(-60.0, max(-60.0, 60.0 - float(arc_degrees))))
    geometry = CArmGeometry(detector_shape=detector_shape, n_frames=n_frames,
                            arc_degrees=arc_degrees, start_degrees=start_degrees,
                            **(geometry_options or {}))
    groups = tuple(sorted(set(label_groups or ()) | ({"ribs"} if ct.labels is not None else set())))
    factor = _factor(ct, geometry)
    mu, masks, body, spacing = _downsampled(ct, factor, groups)
    nx, ny, nz = mu.shape
    centre = ((nx - 1) * spacing[0] / 2, (ny - 1) * spacing[1] / 2, z_centre * (nz - 1) * spacing[2])
    if z_range is not None:  # keep slices [k0, k1): their anatomy only
        k0 = round(lo * nz)
        k1 = max(round(hi * nz), k0 + 1)
        mu, body = mu[:, :, k0:k1], body[:, :, k0:k1]
        masks = {g: m[:, :, k0:k1] for g, m in masks.items()}
        centre = (centre[0], centre[1], centre[2] - k0 * spacing[2])

    def project(values):
        return forward_project(volume_image(values, spacing, centre_xyz_mm=centre), geometry)

    # Frames: rows run from head (top) to feet (bottom), as radiographs are shown.
    frames = np.clip(project(mu) / LINE_INTEGRAL_SCALE, 0.0, 1.0)[:, ::-1]
    structures = {g: (project(masks[g]) > RIB_PATH_MM)[:, ::-1] for g in groups}

    # Candidate metal centres: voxels of the region that every frame sees well inside the
    # detector (RTK frame, mm).
    region = body if metal_region == "body" else masks["ribs"] > 0.25
    ix, iy, iz = np.nonzero(region)
    world = np.c_[ix * spacing[0] - centre[0], iz * spacing[2] - centre[2], iy * spacing[1] - centre[1]]
    if len(world) > 20000:
        world = world[np.random.default_rng(0).choice(len(world), 20000, replace=False)]
    h, w = geometry.detector_shape
    pixels = geometry.project_points(world) if len(world) else np.zeros((n_frames, 0, 2))
    # 15 % of the detector from its borders; less where the region (ribs, at the side of
    # the chest) leaves some frames' central part: the largest margin with a candidate.
    for margin in (0.15, 0.10, 0.05, 0.0):
        inside = ((pixels[..., 0] > margin * w) & (pixels[..., 0] < (1 - margin) * w)
                  & (pixels[..., 1] > margin * h) & (pixels[..., 1] < (1 - margin) * h)).all(axis=0)
        if inside.any():
            break
    objects: list[MetalObject] = random_metal(rng, world[inside], metal=metal)
    holes = trace_holes(objects, geometry)[:, ::-1]

    return XraySequence(
        frames=np.ascontiguousarray(frames, dtype=np.float32),
        holes=np.ascontiguousarray(holes),
        angles=geometry.angles.astype(np.float32),
        ribs=np.ascontiguousarray(structures.get("ribs", np.zeros_like(holes))),
        structures={g: np.ascontiguousarray(v) for g, v in structures.items()},
        metal=objects,
        seed=int(seed),
    )
