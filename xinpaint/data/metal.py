"""Metal objects in 3D and their exact path lengths on every detector pixel.

A :class:`MetalObject` has a kind, a material of :data:`~xinpaint.data.physics.MATERIALS`,
a density, and one or more convex :class:`Part` s — finite cylinders (screws, rods,
wires, needles, lead segments), boxes (plates, a pacemaker can) and balls (coils) —
some of which may be subtracted (the screw holes of a plate). :func:`trace_metal`
intersects each part with the rays of every frame of a C-arm geometry, analytically,
with ``supersample²`` rays per detector pixel: the path lengths (mm) per material
and per sub-ray are what the physics turns into a partial-volume transmission at the
trace's edges. The geometry is RTK's own (source positions and detector-to-world
matrices), so the traces agree with the Joseph projection of the anatomy, and the
metal moves relative to the anatomy from frame to frame by parallax, as in a real
rotation.

The clinical catalogue that places such objects in a chest is
:mod:`xinpaint.data.catalogue`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xinpaint.data.geometry import CArmGeometry

__all__ = ["MetalObject", "MetalTrace", "Part", "trace_metal"]

_SHAPES = ("cylinder", "box", "ball")


@dataclass(frozen=True)
class Part:
    """A convex piece of a metal object, in RTK's frame (mm, isocentre at the origin).

    Parameters
    ----------
    shape : str
        ``"cylinder"`` (``size = (radius, length)``, ``axes = (direction,)``),
        ``"box"`` (``size`` = three full edge lengths along ``axes``, three unit vectors)
        or ``"ball"`` (``size = (radius,)``).
    centre : tuple of float
    axes : tuple of tuple
    size : tuple of float
    sign : int
        +1 adds metal, -1 removes it (a hole through a plate; the removed part must lie
        inside a +1 part of the same object).
    """

    shape: str
    centre: tuple
    axes: tuple = ()
    size: tuple = ()
    sign: int = 1

    def __post_init__(self):
        if self.shape not in _SHAPES:
            raise ValueError(f"Expected a part shape in {_SHAPES}. Received shape={self.shape!r}.")
        object.__setattr__(self, "centre", tuple(float(c) for c in self.centre))
        axes = tuple(tuple(float(v) for v in np.asarray(a, float) / np.linalg.norm(a)) for a in self.axes)
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "size", tuple(float(s) for s in self.size))
        need = {"cylinder": (1, 2), "box": (3, 3), "ball": (0, 1)}[self.shape]
        if len(axes) != need[0] or len(self.size) != need[1] or min(self.size) <= 0:
            raise ValueError(f"Expected {need[0]} axes and {need[1]} positive sizes for a "
                             f"{self.shape}. Received axes={self.axes!r}, size={self.size!r}.")

    def corners(self) -> np.ndarray:
        """(8, 3) corners of a box holding the part (its shadow lies in their projection's hull)."""
        c = np.asarray(self.centre)
        if self.shape == "ball":
            frame, half = np.eye(3), np.full(3, self.size[0])
        elif self.shape == "box":
            frame, half = np.asarray(self.axes), np.asarray(self.size) / 2
        else:
            d = np.asarray(self.axes[0])
            e1 = np.cross(d, [1.0, 0, 0] if abs(d[0]) < 0.9 else [0, 1.0, 0])
            e1 /= np.linalg.norm(e1)
            frame = np.stack([d, e1, np.cross(d, e1)])
            half = np.array([self.size[1] / 2, self.size[0], self.size[0]])
        signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float)
        return c + (signs * half) @ frame

    def chords(self, source: np.ndarray, directions: np.ndarray, reach: np.ndarray) -> np.ndarray:
        """Length (mm) of each ray ``source + t d``, ``0 <= t <= reach``, inside the part."""
        w = source - np.asarray(self.centre)
        n = len(directions)
        lo, hi = np.zeros(n), reach.astype(float).copy()
        if self.shape == "ball":
            lo, hi = _quadric(lo, hi, np.ones(n), 2 * directions @ w, w @ w - self.size[0] ** 2)
        elif self.shape == "box":
            for axis, edge in zip(self.axes, self.size, strict=True):
                lo, hi = _slab(lo, hi, w @ np.asarray(axis), directions @ np.asarray(axis), edge / 2)
        else:
            a = np.asarray(self.axes[0])
            da, wa = directions @ a, float(w @ a)
            d_perp = directions - da[:, None] * a
            w_perp = w - wa * a
            lo, hi = _quadric(lo, hi, np.einsum("ij,ij->i", d_perp, d_perp), 2 * d_perp @ w_perp,
                              w_perp @ w_perp - self.size[0] ** 2)
            lo, hi = _slab(lo, hi, wa, da, self.size[1] / 2)
        return np.clip(hi - lo, 0.0, None)


def _slab(lo, hi, w, d, half):
    """Intersect [lo, hi] with the t where |w + t d| <= half."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - w) / d, (half - w) / d
    parallel = np.abs(d) < 1e-12
    inside = np.abs(w) <= half
    a = np.where(parallel, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
    b = np.where(parallel, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
    return np.maximum(lo, a), np.minimum(hi, b)


def _quadric(lo, hi, a, b, c):
    """Intersect [lo, hi] with the t where a t² + b t + c <= 0 (a >= 0)."""
    disc = b * b - 4 * a * c
    flat = a < 1e-12
    root = np.sqrt(np.clip(disc, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-b - root) / (2 * a), (-b + root) / (2 * a)
    hit = ~flat & (disc > 0)
    flat_in = flat & (c <= 0)
    t1 = np.where(hit, t1, np.where(flat_in, -np.inf, np.inf))
    t2 = np.where(hit, t2, np.where(flat_in, np.inf, -np.inf))
    return np.maximum(lo, t1), np.minimum(hi, t2)


@dataclass(frozen=True)
class MetalObject:
    """One metal object: a kind, a material, a density (g/cm³) and its parts (RTK frame, mm).

    ``centre`` is the object's anchor (where the catalogue placed it); ``info`` holds
    the sizes the catalogue drew (e.g. ``{"diameter_mm": 6.0, "length_mm": 45.0}``).
    """

    kind: str
    material: str
    density: float
    parts: tuple
    centre: tuple = (0.0, 0.0, 0.0)
    info: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        from xinpaint.data.physics import MATERIALS

        if self.material not in MATERIALS:
            raise ValueError(f"Unknown material: expected one of {', '.join(MATERIALS)}. "
                             f"Received material={self.material!r}.")
        if not float(self.density) > 0:
            raise ValueError(f"Expected a density > 0 g/cm³. Received density={self.density!r}.")
        parts = tuple(p if isinstance(p, Part) else Part(**p) for p in self.parts)
        if not parts:
            raise ValueError("Expected at least one part. Received parts=().")
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "centre", tuple(float(c) for c in self.centre))

    @property
    def bulk_fraction(self) -> float:
        """Density relative to the material's bulk density (a coil packs about a third)."""
        from xinpaint.data.physics import MATERIALS

        return float(self.density) / MATERIALS[self.material].density

    def corners(self) -> np.ndarray:
        return np.concatenate([p.corners() for p in self.parts if p.sign > 0])

    def as_dict(self) -> dict:
        """Plain JSON-serialisable values; ``MetalObject(**d)`` rebuilds the object."""
        return {"kind": self.kind, "material": self.material, "density": float(self.density),
                "centre": list(self.centre), "info": dict(self.info),
                "parts": [{"shape": p.shape, "centre": list(p.centre), "axes": [list(a) for a in p.axes],
                           "size": list(p.size), "sign": p.sign} for p in self.parts]}


@dataclass
class MetalTrace:
    """The metal's path lengths on one frame, for the pixels its shadow may touch.

    Attributes
    ----------
    pixels : ndarray of int
        (K,) flat indices (RTK row order: row = v index) of the traced pixels.
    paths : dict
        Material → (K, S) path lengths (mm at the material's bulk density) of the S
        sub-rays of each traced pixel.
    """

    pixels: np.ndarray
    paths: dict

    def mean_path(self) -> np.ndarray:
        """(K,) path length (mm) through all metal, averaged over each pixel's sub-rays."""
        if not self.paths:
            return np.zeros(len(self.pixels))
        return sum(self.paths.values()).mean(axis=1)


def _frame_rays(geometry: CArmGeometry, rtk_geometry, index: int):
    import itk

    source = np.asarray(rtk_geometry.GetSourcePosition(index), float)[:3]
    to_world = itk.array_from_matrix(rtk_geometry.GetProjectionCoordinatesToFixedSystemMatrix(index))
    return source, np.asarray(to_world, float)


def trace_metal(objects, geometry: CArmGeometry, *, supersample: int = 4) -> list[MetalTrace]:
    """Path lengths of every metal object on every frame, ``supersample²`` rays a pixel.

    Parameters
    ----------
    objects : sequence of MetalObject
    geometry : CArmGeometry
    supersample : int
        Sub-rays per pixel along each detector axis (≥ 1), on a regular grid.

    Returns
    -------
    list of MetalTrace
        One per frame (rows in RTK's order, before the frames' row flip).

    Examples
    --------
    >>> rod = MetalObject("rod", "titanium", 4.51, (Part("cylinder", (0, 0, 0), ((0, 1, 0),), (2.0, 50.0)),))
    >>> traces = trace_metal([rod], CArmGeometry(n_frames=1))  # doctest: +SKIP
    """
    if not isinstance(supersample, int | np.integer) or supersample < 1:
        raise ValueError(f"Expected supersample >= 1. Received supersample={supersample!r}.")
    h, w = geometry.detector_shape
    objects = list(objects)
    if not objects:
        return [MetalTrace(np.zeros(0, np.int64), {}) for _ in range(geometry.n_frames)]
    f = int(supersample)
    offsets = (np.arange(f) + 0.5) / f - 0.5
    sub = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), -1).reshape(-1, 2)  # (S, [dv, du])
    rtk_geometry = geometry.rtk_geometry()
    parts = [(i, p) for i, o in enumerate(objects) for p in o.parts]
    corners = np.concatenate([p.corners() for _, p in parts])
    pixels_of = geometry.project_points(corners).reshape(geometry.n_frames, len(parts), 8, 2)
    u0, v0 = geometry.detector_origin()
    n_sub = len(sub)
    traces = []
    for t in range(geometry.n_frames):
        source, to_world = _frame_rays(geometry, rtk_geometry, t)
        lo = np.floor(pixels_of[t].min(axis=1)).astype(int) - 1  # (P, 2) as (col, row)
        hi = np.ceil(pixels_of[t].max(axis=1)).astype(int) + 1
        lo = np.maximum(lo, 0)
        hi = np.minimum(hi, [w - 1, h - 1])
        canvas = np.zeros((h, w), bool)
        for (c0, r0), (c1, r1) in zip(lo, hi, strict=True):
            if r0 <= r1 and c0 <= c1:
                canvas[r0:r1 + 1, c0:c1 + 1] = True
        flat = np.flatnonzero(canvas)
        paths: dict = {}
        if len(flat):
            rows, cols = np.divmod(flat, w)
            v = v0 + (rows[:, None] + sub[None, :, 0]) * geometry.pitch
            u = u0 + (cols[:, None] + sub[None, :, 1]) * geometry.pitch
            points = to_world[:3, 0] * u[..., None] + to_world[:3, 1] * v[..., None] + to_world[:3, 3]
            rays = (points - source).reshape(-1, 3)
            reach = np.linalg.norm(rays, axis=1)
            directions = rays / reach[:, None]
            index = np.full(h * w, -1)
            index[flat] = np.arange(len(flat))
            lengths = [None] * len(objects)
            for k, (i, part) in enumerate(parts):
                (c0, r0), (c1, r1) = lo[k], hi[k]
                if r0 > r1 or c0 > c1:
                    continue
                local = index[(np.arange(r0, r1 + 1)[:, None] * w + np.arange(c0, c1 + 1)).ravel()]
                sel = (local[:, None] * n_sub + np.arange(n_sub)).ravel()
                chord = part.chords(source, directions[sel], reach[sel])
                if lengths[i] is None:
                    lengths[i] = np.zeros(len(flat) * n_sub)
                lengths[i][sel] += part.sign * chord
            for obj, length in zip(objects, lengths, strict=True):
                if length is not None:
                    acc = paths.setdefault(obj.material, np.zeros(len(flat) * n_sub))
                    acc += np.clip(length, 0.0, None) * obj.bulk_fraction
            paths = {m: p.reshape(len(flat), n_sub) for m, p in paths.items()}
            hit = np.zeros(len(flat), bool)
            for p in paths.values():
                hit |= p.max(axis=1) > 0
            flat = flat[hit]
            paths = {m: p[hit] for m, p in paths.items()}
        traces.append(MetalTrace(flat.astype(np.int64), paths))
    return traces
