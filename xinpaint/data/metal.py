"""Metal objects placed in 3D inside the body and their exact traces on every frame.

Needles are thin cylinders, thick needles (wires, screws) wider ones, coins and plates
flat discs, coils compact balls. Every one is a convex body, so its projection on a
frame is the convex hull of the projections of points sampled on its surface: the
traces are computed with the C-arm's own projection matrices (RTK), exact up to the
sampling of the surface, and the metal moves relative to the anatomy from frame to
frame by parallax, as in a real rotation. A detector pixel is a hole when any part of
it is covered (the trace is rasterised on a 4× finer grid, then max-pooled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xinpaint.data.geometry import CArmGeometry

__all__ = ["DEFAULT_METAL", "MetalObject", "random_metal", "trace_holes"]

#: Counts drawn for ``metal="default"``: (low, high) inclusive, per kind.
DEFAULT_METAL = {"needle": (1, 2), "thick_needle": (0, 1), "coin": (1, 1), "coil": (0, 1)}

_SIZES = {  # mm
    "needle": {"radius": (0.5, 1.5), "length": (40.0, 120.0)},
    "thick_needle": {"radius": (2.0, 4.0), "length": (30.0, 80.0)},
    "coin": {"radius": (5.0, 10.0), "thickness": (1.5, 2.5)},
    "coil": {"radius": (3.0, 6.0)},
}


@dataclass(frozen=True)
class MetalObject:
    """One metal object in RTK's frame (mm, isocentre at the origin)."""

    kind: str
    centre: tuple
    direction: tuple = (0.0, 0.0, 1.0)
    radius: float = 1.0
    length: float = 0.0
    thickness: float = 0.0

    def surface_points(self) -> np.ndarray:
        """Points (N, 3) on the object's surface whose convex hull is the object."""
        c, d = np.asarray(self.centre, float), np.asarray(self.direction, float)
        d = d / np.linalg.norm(d)
        e1 = np.cross(d, [1.0, 0.0, 0.0] if abs(d[0]) < 0.9 else [0.0, 1.0, 0.0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(d, e1)
        phi = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        ring = np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2
        if self.kind in ("needle", "thick_needle"):
            offsets = np.linspace(-self.length / 2, self.length / 2, 2)
            return (c + offsets[:, None, None] * d + self.radius * ring[None]).reshape(-1, 3)
        if self.kind == "coin":
            faces = np.array([-self.thickness / 2, self.thickness / 2])
            return (c + faces[:, None, None] * d + self.radius * ring[None]).reshape(-1, 3)
        # coil: a ball, sampled on a Fibonacci sphere
        n = 96
        k = np.arange(n) + 0.5
        theta = np.arccos(1 - 2 * k / n)
        phi = np.pi * (1 + 5**0.5) * k
        unit = np.c_[np.cos(phi) * np.sin(theta), np.sin(phi) * np.sin(theta), np.cos(theta)]
        return c + self.radius * unit


def _unit(rng):
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def random_metal(rng: np.random.Generator, centres: np.ndarray, *, metal="default") -> list[MetalObject]:
    """Draw metal objects with centres among ``centres`` (N, 3), RTK frame (mm).

    ``metal`` is ``"default"`` (see :data:`DEFAULT_METAL`), ``"none"``, a dict of
    counts per kind (an int or an inclusive (low, high) range), or a list of
    :class:`MetalObject`.
    """
    if isinstance(metal, (list, tuple)) and all(isinstance(m, MetalObject) for m in metal):
        return list(metal)
    if metal == "none":
        return []
    counts = DEFAULT_METAL if metal == "default" else metal
    if not isinstance(counts, dict) or set(counts) - set(_SIZES):
        raise ValueError(
            f"Expected metal='default', 'none', a dict of counts per kind ({', '.join(_SIZES)}) "
            f"or a list of MetalObject. Received metal={metal!r}."
        )
    if len(centres) == 0:
        raise ValueError("No place for metal: no candidate centre (no voxel of the metal region "
                         "is seen by every frame). Received 0 centres.")
    objects = []
    for kind, count in counts.items():
        low, high = (count, count) if isinstance(count, int) else count
        for _ in range(int(rng.integers(low, high + 1))):
            size = _SIZES[kind]
            centre = centres[rng.integers(len(centres))] + rng.uniform(-1, 1, 3)
            radius = float(rng.uniform(*size["radius"]))
            objects.append(MetalObject(
                kind, tuple(centre), tuple(_unit(rng)), radius,
                float(rng.uniform(*size["length"])) if "length" in size else 0.0,
                float(rng.uniform(*size["thickness"])) if "thickness" in size else 0.0,
            ))
    return objects


def trace_holes(objects: list[MetalObject], geometry: CArmGeometry, *, supersample: int = 4) -> np.ndarray:
    """Boolean holes (T, H, W): where any metal object covers part of a detector pixel."""
    import cv2

    h, w = geometry.detector_shape
    holes = np.zeros((geometry.n_frames, h, w), bool)
    if not objects:
        return holes
    points = np.concatenate([o.surface_points() for o in objects])
    sizes = np.cumsum([0] + [len(o.surface_points()) for o in objects])
    pixels = geometry.project_points(points)  # (T, N, 2) as (col, row)
    f = supersample
    for t in range(geometry.n_frames):
        canvas = np.zeros((h * f, w * f), np.uint8)
        for i in range(len(objects)):
            pts = (pixels[t, sizes[i]:sizes[i + 1]] + 0.5) * f - 0.5
            hull = cv2.convexHull(np.round(pts * 16).astype(np.int32))
            cv2.fillConvexPoly(canvas, hull, 1, lineType=cv2.LINE_8, shift=4)
        holes[t] = canvas.reshape(h, f, w, f).max(axis=(1, 3)) > 0
    return holes
