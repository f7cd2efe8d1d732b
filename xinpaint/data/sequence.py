"""Simulated C-arm scans: the same rotation with and without metal, ideal or realistic.

:func:`simulate_sequence` projects a CT with RTK for every frame of a C-arm rotation
(by default a short scan: 180° plus the fan angle), places a configuration of metal
from the clinical catalogue (:mod:`xinpaint.data.catalogue`) in 3D inside the body,
traces it analytically on every frame (:func:`~xinpaint.data.metal.trace_metal`) and
makes the frames with one of two physics:

``"realistic"`` (the study's default, :class:`~xinpaint.data.physics.XrayPhysics`)
    a polychromatic tube spectrum, water and bone split by HU, beam hardening, Poisson
    noise, photon starvation, partial volume at the metal's edges, the log and a water
    beam-hardening correction.
``"ideal"``
    noise-free monochromatic line integrals, ``mu = 0.02 (1 + HU/1000)`` /mm, with the
    metal drawn as a saturating value (the earlier study's frames; teaching and fast
    tests).

What a sequence carries, and which metric uses which, is documented on
:class:`XraySequence`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xinpaint.data.catalogue import Anatomy, sample_metal, to_rtk
from xinpaint.data.ct import CTVolume
from xinpaint.data.geometry import CArmGeometry
from xinpaint.data.metal import MetalObject, trace_metal
from xinpaint.data.projection import (
    LINE_INTEGRAL_SCALE,
    MU_WATER,
    forward_project,
    hu_to_mu,
    volume_image,
)

__all__ = ["HOLE_ATTENUATION", "METAL_CONTRAST", "PHYSICS", "XraySequence", "simulate_sequence"]

#: What metal adds to a frame in :attr:`XraySequence.observed` under the ideal physics.
METAL_CONTRAST = 0.6

#: Path length (mm) through a rib above which a pixel counts as crossing a rib.
RIB_PATH_MM = 3.0

#: The hole rule of the realistic physics: a pixel is a hole where the metal removes more
#: than this from its line integral at the spectrum's mean energy (about 5 % of the beam).
HOLE_ATTENUATION = 0.05

#: The physics :func:`simulate_sequence` knows.
PHYSICS = ("realistic", "ideal")

#: Sub-rays per pixel along each detector axis for the metal's partial volume.
SUPERSAMPLE = 4


@dataclass
class XraySequence:
    """A simulated C-arm scan.

    Attributes
    ----------
    target : ndarray of float32
        (T, H, W) metal-free, noise-free frames (line integrals / 10): the
        **inpainting target**. Every projection-domain metric (in the holes and on the
        whole frame) compares a method's output with it.
    holes : ndarray of bool
        (T, H, W), True where metal hides the anatomy (the hole rule is stated by
        ``hole_rule``): the pixels every method fills and where the hole metrics are
        computed.
    angles : ndarray
        (T,) gantry angles (degrees).
    ribs : ndarray of bool
        (T, H, W), True where the ray crosses more than 3 mm of rib.
    structures : dict
        Label group → (T, H, W) bool, where the ray crosses that structure.
    metal : list of MetalObject
        The objects that make the holes (RTK frame, mm).
    seed : int
        The seed that made this sequence.
    observed : ndarray of float32
        (T, H, W) what the detector gives, with the metal and the noise: the **input of
        every method** (the values in the holes are not to be trusted).
    reference : ndarray of float32
        (T, H, W) metal-free frames *with* the same noise: what a scan without metal
        gives; the **reference of the reconstruction** metrics (its volume is the
        ceiling). Equal to ``observed`` outside the metal's trace, bit for bit.
    metal_path : ndarray of float32
        (T, H, W) path length (mm) through metal, averaged over each pixel's area.
    geometry : CArmGeometry, optional
        The scan's geometry (for reconstruction).
    physics : str
        ``"realistic"`` or ``"ideal"``.
    mu_water : float
        Water's effective attenuation (1/mm) on the frames' scale before the division
        by :data:`~xinpaint.data.projection.LINE_INTEGRAL_SCALE` (HU calibration).
    hole_rule : str
        The rule that made ``holes``, in words.
    prior : ndarray of float32, optional
        (T, H, W) projections of a prior volume of the scan (the NMAR prior,
        :func:`xinpaint.data.with_nmar_priors`): an input of the prior-guided models.
    """

    target: np.ndarray
    holes: np.ndarray
    angles: np.ndarray
    ribs: np.ndarray
    structures: dict = field(default_factory=dict)
    metal: list = field(default_factory=list)
    seed: int = 0
    observed: np.ndarray | None = None
    reference: np.ndarray | None = None
    metal_path: np.ndarray | None = None
    geometry: CArmGeometry | None = None
    physics: str = "ideal"
    mu_water: float = MU_WATER
    hole_rule: str = "any metal in the pixel"
    prior: np.ndarray | None = None

    def __post_init__(self):
        if self.observed is None:
            self.observed = np.clip(self.target + METAL_CONTRAST * self.holes, 0.0, 1.0).astype(np.float32)
        if self.reference is None:
            self.reference = self.target
        if self.metal_path is None:
            self.metal_path = np.zeros(self.target.shape, np.float32)

    @property
    def frames(self) -> np.ndarray:
        """The inpainting target (:attr:`target`); the name of earlier versions."""
        return self.target

    @property
    def valid(self) -> np.ndarray:
        """``1 - holes`` as float32: the model inputs' mask."""
        return (~self.holes).astype(np.float32)

    @property
    def trace(self) -> np.ndarray:
        """Where any metal touches a pixel (a superset of :attr:`holes`)."""
        return self.metal_path > 0

    def __len__(self) -> int:
        return int(self.target.shape[0])

    def frames_between(self, start: int, stop: int) -> XraySequence:
        """Frames ``start:stop`` as a sequence of their own (the same metal and the same
        frames of the prior; no geometry, which describes the whole scan)."""
        if not 0 <= int(start) < int(stop) <= len(self):
            raise ValueError(f"Expected 0 <= start < stop <= {len(self)}. "
                             f"Received start={start!r}, stop={stop!r}.")
        sl = slice(int(start), int(stop))
        return XraySequence(
            self.target[sl], self.holes[sl], np.asarray(self.angles)[sl], self.ribs[sl],
            {k: v[sl] for k, v in self.structures.items()}, list(self.metal), self.seed,
            observed=self.observed[sl], reference=self.reference[sl], metal_path=self.metal_path[sl],
            geometry=None, physics=self.physics, mu_water=self.mu_water, hole_rule=self.hole_rule,
            prior=None if self.prior is None else self.prior[sl])


_CACHE: dict = {}


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


def _downsampled(ct: CTVolume, factor: int, groups: tuple, physics: str):
    """Down-sampled material volumes (cached for one CT): ``{name: [x, y, z] array}``."""
    key = (id(ct), factor, groups, physics)
    if key not in _CACHE or _CACHE[key][0] is not ct:
        from skimage.transform import downscale_local_mean

        f = (factor, factor, 1)
        if physics == "ideal":
            materials = {"mu": downscale_local_mean(hu_to_mu(ct.hu), f).astype(np.float32)}
        else:
            from xinpaint.data.physics import tissue_densities

            water, bone = tissue_densities(ct.hu)
            materials = {"water": downscale_local_mean(water, f).astype(np.float32),
                         "bone": downscale_local_mean(bone, f).astype(np.float32)}
        masks = {g: downscale_local_mean(ct.mask_of(g).astype(np.float32), f).astype(np.float32)
                 for g in groups}
        body = downscale_local_mean((ct.hu > -500).astype(np.float32), f) > 0.5
        labels = ct.labels[::factor, ::factor, :] if ct.labels is not None else None
        spacing = (ct.spacing[0] * factor, ct.spacing[1] * factor, ct.spacing[2])
        _CACHE.clear()  # keep one CT in memory
        _CACHE[key] = (ct, materials, masks, body, labels, spacing)
    return _CACHE[key][1:]


def _physics(physics, options):
    from xinpaint.data.physics import XrayPhysics

    if isinstance(physics, XrayPhysics):
        return physics
    if physics not in PHYSICS:
        raise ValueError(f"Expected physics 'realistic', 'ideal' or an XrayPhysics. "
                         f"Received physics={physics!r}.")
    return XrayPhysics(**(options or {})) if physics == "realistic" else None


def simulate_sequence(
    ct: CTVolume,
    *,
    n_frames: int,
    detector_shape=(256, 256),
    arc_degrees: float | None = None,
    start_degrees: float | None = None,
    metal="default",
    seed: int = 0,
    physics="realistic",
    physics_options: dict | None = None,
    hole_attenuation: float = HOLE_ATTENUATION,
    reconstructable: bool = False,
    label_groups=None,
    z_range=None,
    z_centre: float | None = None,
    metal_region: str = "body",
    isocentre: str | None = None,
    geometry_options: dict | None = None,
) -> XraySequence:
    """Simulate one C-arm rotation around a CT, with metal inside the body.

    Parameters
    ----------
    ct : CTVolume
        The anatomy (e.g. :func:`~xinpaint.data.fetch_example_ct`); its labels place the
        clinical metal.
    n_frames : int
        Frames of the scan (≥ 1); with a 200° short scan, 201 frames are 1° apart, as a
        C-arm acquires them.
    detector_shape : tuple of int
        (H, W) detector pixels (≥ 32 each).
    arc_degrees : float, optional
        Angular range; default a short scan, 180° plus the fan angle, rounded up to a
        whole degree (193° with the default geometry).
    start_degrees : float, optional
        First gantry angle; default centred on the antero-posterior view, ± 20°, drawn
        from ``seed``.
    metal : str, dict or list, optional
        ``"default"`` (a clinical scenario of :mod:`xinpaint.data.catalogue` and extras),
        ``"none"``, a scenario name, a dict of counts per kind, or a list of
        :class:`~xinpaint.data.metal.MetalObject` in RTK's frame.
    seed : int
        Seed of the metal, the start angle and the noise: the same seed gives identical
        arrays.
    physics : {"realistic", "ideal"} or XrayPhysics
        How frames are made (see the module's docstring).
    physics_options : dict, optional
        Arguments of :class:`~xinpaint.data.physics.XrayPhysics` (``kvp``, ``filters``,
        ``i0``, ``detector``, ``n_bins``, ``noise``) for ``physics="realistic"``.
    hole_attenuation : float
        The realistic hole rule: a pixel is a hole where the metal's line integral at
        the spectrum's mean energy (with partial volume) exceeds this; under the ideal
        physics a pixel is a hole where any metal covers part of it.
    reconstructable : bool
        Require an arc of at least a short scan (raise otherwise).
    label_groups : sequence of str, optional
        Label groups of the CT to project into :attr:`XraySequence.structures`; ribs are
        always projected.
    z_range : tuple of float, optional
        (low, high) fractions of the CT's slices kept (0 = first, caudal slice): the
        slices outside are dropped before projecting, and the metal is placed inside
        the kept part, so that disjoint ranges share no anatomy (the train/test split).
    z_centre : float, optional
        Where the isocentre sits along the CT's long axis (fraction); default the
        middle of ``z_range``.
    metal_region : str
        ``"body"`` (the catalogue's places) or ``"ribs"`` (needles and coins centred on
        rib voxels, so that the metal crosses ribs).
    isocentre : {"metal", "volume"}, optional
        Where the rotation is centred in the axial plane: on the metal configuration's
        main objects, as an operator centres the region of interest (the default of
        the realistic physics), or on the CT's centre (the default of the ideal one,
        which keeps the earlier frames).
    geometry_options : dict, optional
        Further :class:`~xinpaint.data.geometry.CArmGeometry` arguments (``sid``, ``sdd``,
        ``detector_size_mm``).

    Returns
    -------
    XraySequence

    Raises
    ------
    ValueError
        For a CT that is not 3D or holds NaN, ``n_frames < 1``, a detector smaller
        than 32 pixels, a bad arc (or one too short for ``reconstructable``), a bad
        ``z_range`` or ``z_centre``, an unknown physics, material or metal kind, a kVp
        outside spekpy's range, ``i0 <= 0``, or metal that does not fit in the body.

    Examples
    --------
    >>> ct = fetch_example_ct()  # doctest: +SKIP
    >>> seq = simulate_sequence(ct, n_frames=25, detector_shape=(128, 128), seed=1)  # doctest: +SKIP
    >>> seq.observed.shape, seq.holes.dtype  # doctest: +SKIP
    ((25, 128, 128), dtype('bool'))
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
    if not float(hole_attenuation) >= 0:
        raise ValueError(f"Expected hole_attenuation >= 0. Received hole_attenuation={hole_attenuation!r}.")
    xray = _physics(physics, physics_options)
    kind = "ideal" if xray is None else "realistic"
    rng = np.random.default_rng(seed)
    if arc_degrees is None:  # the fan angle depends on the detector and distances only
        probe = CArmGeometry(detector_shape=detector_shape, n_frames=1, **(geometry_options or {}))
        arc_degrees = float(np.ceil(probe.short_scan_degrees))
    if start_degrees is None:
        start_degrees = -float(arc_degrees) / 2 + float(rng.uniform(-20.0, 20.0))
    geometry = CArmGeometry(detector_shape=detector_shape, n_frames=n_frames,
                            arc_degrees=arc_degrees, start_degrees=start_degrees,
                            **(geometry_options or {}))
    if reconstructable:
        geometry.check_short_scan()
    groups = tuple(sorted(set(label_groups or ()) | ({"ribs"} if ct.labels is not None else set())))
    factor = _factor(ct, geometry)
    materials, masks, body, labels, spacing = _downsampled(ct, factor, groups, kind)
    nz = body.shape[2]
    k0, k1 = 0, nz
    if z_range is not None:  # keep slices [k0, k1): their anatomy only
        k0 = round(lo * nz)
        k1 = max(round(hi * nz), k0 + 1)
    z_iso = z_centre * (nz - 1) * spacing[2]
    half_view = geometry.detector_size_mm / geometry.magnification / 2
    z_window = (max(k0 * spacing[2], z_iso - 0.6 * half_view), min((k1 - 1) * spacing[2], z_iso + 0.6 * half_view))
    keep = np.zeros(nz, bool)
    keep[k0:k1] = True
    if isocentre is None:
        isocentre = "volume" if kind == "ideal" else "metal"
    if isocentre not in ("metal", "volume"):
        raise ValueError(f"Expected isocentre 'metal' or 'volume'. Received isocentre={isocentre!r}.")
    kept_body = body & keep
    if isinstance(metal, (list, tuple)):
        centre = _default_centre(body, spacing, z_iso)
        world_objects = _check_user_metal(metal, kept_body, spacing, centre)
    else:
        objects_ct, centre = _place_metal(rng, metal, labels, ct, kept_body, spacing, z_window, z_iso,
                                          metal_region, isocentre)
        world_objects = [to_rtk(o, centre) for o in objects_ct]
    centre_kept = (centre[0], centre[1], centre[2] - k0 * spacing[2])

    def project(values):
        return forward_project(volume_image(values[:, :, k0:k1], spacing, centre_xyz_mm=centre_kept), geometry)

    structures = {g: (project(masks[g]) > RIB_PATH_MM)[:, ::-1] for g in groups}
    traces = trace_metal(world_objects, geometry, supersample=SUPERSAMPLE)
    shape = (geometry.n_frames, *geometry.detector_shape)
    if xray is None:
        frames = np.clip(project(materials["mu"]) / LINE_INTEGRAL_SCALE, 0.0, 1.0)[:, ::-1]
        metal_path = _paint(traces, shape, lambda tr: tr.mean_path())
        holes = metal_path > 0
        seq = XraySequence(np.ascontiguousarray(frames, np.float32), np.ascontiguousarray(holes),
                           geometry.angles.astype(np.float32), np.zeros(shape, bool),
                           metal_path=np.ascontiguousarray(metal_path, np.float32), physics="ideal",
                           hole_rule="any metal in the pixel (ideal physics)")
    else:
        seq = _realistic(xray, project(materials["water"]), project(materials["bone"]), traces, shape,
                         seed, float(hole_attenuation))
        seq.angles = geometry.angles.astype(np.float32)
    seq.ribs = np.ascontiguousarray(structures.get("ribs", np.zeros(shape, bool)))
    seq.structures = {g: np.ascontiguousarray(v) for g, v in structures.items()}
    seq.metal = world_objects
    seq.seed = int(seed)
    seq.geometry = geometry
    return seq


def _default_centre(body, spacing, z_iso):
    nx, ny, _ = body.shape
    return ((nx - 1) * spacing[0] / 2, (ny - 1) * spacing[1] / 2, z_iso)


def _check_user_metal(metal, body, spacing, centre):
    """A user's list of MetalObject (RTK frame): every anchor must lie inside the body."""
    objects = list(metal)
    if not all(isinstance(o, MetalObject) for o in objects):
        raise ValueError(f"Expected metal as a list of MetalObject. Received metal={metal!r}.")
    for o in objects:
        x, y, z = o.centre  # RTK (X, Y, Z) = CT (x, z, y) - centre
        ijk = np.round(np.array([x + centre[0], z + centre[1], y + centre[2]]) / np.asarray(spacing)).astype(int)
        inside = np.all((ijk >= 0) & (ijk < np.asarray(body.shape))) and body[tuple(ijk)]
        if not inside:
            raise ValueError(f"Expected metal inside the body (of the kept slices). Received a "
                             f"{o.kind} centred at {tuple(round(c, 1) for c in o.centre)} mm (RTK frame).")
    return objects


def _place_metal(rng, metal, labels, ct, body, spacing, z_window, z_iso, metal_region, isocentre):
    """The catalogue's objects in CT physical coordinates, and the isocentre (mm)."""
    names = ct.label_names if labels is not None else {}
    lab = labels if labels is not None else np.zeros(body.shape, np.uint8)
    if metal_region == "ribs":
        rib_ids = [k for k, v in names.items() if v.startswith("rib_")]
        region = np.isin(lab, rib_ids) & body
        anatomy = Anatomy(lab, names, region, spacing, z_window)
        metal = {"needle": (1, 2), "thick_needle": (0, 1), "coin": (1, 1)} if metal == "default" else metal
    else:
        anatomy = Anatomy(lab, names, body, spacing, z_window)
    if metal != "none" and not len(anatomy.points(None)):
        raise ValueError(f"No place for metal: no body voxel in the kept part of the CT seen by the "
                         f"detector. Received z_window={tuple(round(z, 1) for z in z_window)} mm.")
    objects = sample_metal(rng, anatomy, metal=metal)
    centre = np.array(_default_centre(body, spacing, z_iso), float)
    if objects and isocentre == "metal":
        # The C-arm is centred on the configuration's main objects (in-plane), as an
        # operator centres the region of interest; the long axis stays at z_iso.
        anchors = np.array([o.centre for o in objects[: max(1, len(objects) // 2 + 1)]])
        centre[:2] = anchors[:, :2].mean(axis=0)
    return objects, tuple(float(c) for c in centre)


def _paint(traces, shape, values_of) -> np.ndarray:
    """(T, H, W) image with each frame's traced pixels set to ``values_of(trace)``, rows flipped."""
    out = np.zeros(shape, np.float64)
    for t, tr in enumerate(traces):
        if len(tr.pixels):
            out[t].flat[tr.pixels] = values_of(tr)
    return out[:, ::-1]


def _realistic(xray, water, bone, traces, shape, seed, hole_attenuation) -> XraySequence:
    """The realistic frames (see :mod:`xinpaint.data.physics`), frame by frame."""
    spectrum = xray.spectrum
    from xinpaint.data.physics import mass_attenuation

    # cm²/g → per (g/cm³ · mm): divide by 10.
    a_w = mass_attenuation("water", spectrum.energies) / 10.0
    a_b = mass_attenuation("bone", spectrum.energies) / 10.0
    mu_mean = {}
    target = np.empty(shape, np.float32)
    reference = np.empty(shape, np.float32)
    observed = np.empty(shape, np.float32)
    holes = np.zeros(shape, bool)
    metal_path = np.zeros(shape, np.float32)
    flat = shape[1] * shape[2]
    for t in range(shape[0]):
        # Partial densities' line integrals (g/cm³ · mm) → each bin's tissue line integral.
        tissue = a_w[:, None] * water[t].ravel() + a_b[:, None] * bone[t].ravel()  # (E, HW)
        lam = xray.expected_photons(tissue)
        target[t] = (xray.log(xray.signal(lam)) / LINE_INTEGRAL_SCALE).reshape(shape[1:])
        noise = np.random.default_rng([int(seed), 1, t])
        counts = noise.poisson(lam).astype(np.float64) if xray.noise else lam
        reference[t] = (xray.log(xray.signal(counts)) / LINE_INTEGRAL_SCALE).reshape(shape[1:])
        obs = reference[t].ravel().copy()
        tr = traces[t]
        if len(tr.pixels):
            pix = tr.pixels
            # Transmission of the metal per bin, averaged over each pixel's sub-rays.
            line = 0.0
            line_mean = 0.0
            for material, path in tr.paths.items():
                mu = xray.attenuation(material)  # (E,)
                line = line + mu[:, None, None] * path[None]  # (E, K, S)
                if material not in mu_mean:
                    mu_mean[material] = xray.effective_attenuation(material)
                line_mean = line_mean + mu_mean[material] * path
            transmission = np.exp(-line).mean(axis=2)  # (E, K)
            thinning = np.random.default_rng([int(seed), 2, t])
            if xray.noise:  # the photons of the metal-free scan that also cross the metal
                kept = thinning.binomial(counts[:, pix].astype(np.int64), np.clip(transmission, 0, 1))
            else:
                kept = lam[:, pix] * transmission
            obs[pix] = xray.log(xray.signal(kept.astype(np.float64))) / LINE_INTEGRAL_SCALE
            attenuation = -np.log(np.exp(-line_mean).mean(axis=1))
            h = np.zeros(flat, bool)
            h[pix] = attenuation > hole_attenuation
            holes[t] = h.reshape(shape[1:])
            m = np.zeros(flat, np.float32)
            m[pix] = tr.mean_path()
            metal_path[t] = m.reshape(shape[1:])
        observed[t] = obs.reshape(shape[1:])
    flip = np.s_[:, ::-1]
    return XraySequence(
        np.ascontiguousarray(target[flip]), np.ascontiguousarray(holes[flip]), np.zeros(shape[0]),
        np.zeros(shape, bool), observed=np.ascontiguousarray(observed[flip]),
        reference=np.ascontiguousarray(reference[flip]), metal_path=np.ascontiguousarray(metal_path[flip]),
        physics="realistic", mu_water=xray.mu_water,
        hole_rule=(f"metal line integral at the mean energy ({spectrum.mean_energy:.1f} keV) "
                   f"above {hole_attenuation:g}, partial volume included"))
