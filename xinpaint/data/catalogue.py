"""The clinical metal catalogue: implants and devices of real sizes where a chest holds them.

:func:`sample_metal` draws one configuration of metal for a scan from a seed, on the
anatomy of a labelled CT (TotalSegmentator labels, :class:`Anatomy`). Each
configuration has a *scenario* — what the patient had done — and a few extras:

============== ================================================================= =========
scenario       objects (material; sizes)                                          where
============== ================================================================= =========
fusion         pedicle screws in pairs (Ti, Ø 5–7 mm × 35–50 mm, with a 12 mm     vertebral
               tulip head) at 3–5 consecutive levels and two spinal rods            bodies
               (Ti or CoCr, Ø 5.5 mm × 80–150 mm) through the heads
sternotomy     4–7 sternal wire loops (steel, Ø 0.7–1.2 mm) around the sternum     sternum
rib_plate      a bone plate (Ti, 60–100 × 10–12 × 2 mm) with screw holes every    a rib
               9 mm, screws (Ti, Ø 2.4–3 mm × 10–14 mm) in half of them
pacemaker      a can (Ti shell 0.5 mm, 50 × 45 × 7 mm, with a battery core) and    left chest
               its lead (CoCr conductor, Ø 1.2 mm) to the heart                    wall, heart
intervention   1–3 embolisation coils (Pt at a packing of 30 %, Ø 4–10 mm), a      lungs,
               guidewire (steel, Ø 0.9 mm) through the heart                       heart
needles        the earlier study's kinds: 1–2 needles (steel, Ø 1–3 mm), up to    inside the
               one thick needle (Ø 4–8 mm), a coin (Ø 10–20 mm), up to one coil     body
============== ================================================================= =========

Extras: up to two ECG electrodes on the skin (a steel snap, Ø 4–6 mm, with a copper
lead Ø 0.6 mm along the skin), a K-wire (steel, Ø 1.6–2 mm × 60–120 mm) in a bone or a
biopsy needle (steel, Ø 0.8–2 mm × 80–150 mm) into a lung.

Coordinates are the CT's physical ones (mm, array axes times spacing); the simulator
moves them into RTK's frame (see :func:`to_rtk`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from xinpaint.data.metal import MetalObject, Part

__all__ = ["DEFAULT_SCENARIOS", "EXTRAS", "SCENARIOS", "Anatomy", "sample_metal", "to_rtk"]

#: Scenarios drawn for ``metal="default"``, with their probabilities.
DEFAULT_SCENARIOS = {"fusion": 0.25, "sternotomy": 0.15, "rib_plate": 0.15, "pacemaker": 0.15,
                     "intervention": 0.2, "needles": 0.1}
SCENARIOS = tuple(DEFAULT_SCENARIOS)
#: Extra kinds that may join any scenario.
EXTRAS = ("ecg", "k_wire", "biopsy_needle")
#: Every kind :func:`sample_metal` accepts in a dict of counts.
KINDS = (*SCENARIOS, *EXTRAS, "needle", "thick_needle", "coin", "coil")

_DENSITY = {"titanium": 4.51, "steel": 8.0, "cocr": 8.3, "platinum": 21.45, "copper": 8.96}


def _unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _cyl(a, b, radius, sign=1) -> Part:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return Part("cylinder", tuple((a + b) / 2), (tuple(b - a),), (radius, float(np.linalg.norm(b - a))), sign)


def _polyline(points, radius) -> tuple:
    return tuple(_cyl(p, q, radius) for p, q in pairwise(points)
                 if np.linalg.norm(np.asarray(q) - np.asarray(p)) > 1e-6)


def _smooth_path(anchors, step=4.0) -> np.ndarray:
    """A Catmull-Rom curve through the anchor points, sampled about every ``step`` mm."""
    p = np.asarray(anchors, float)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = []
    for i in range(1, len(p) - 2):
        n = max(2, int(np.linalg.norm(p[i + 1] - p[i]) / step))
        for s in np.linspace(0, 1, n, endpoint=False):
            s2, s3 = s * s, s * s * s
            out.append(0.5 * ((2 * p[i]) + (-p[i - 1] + p[i + 1]) * s
                              + (2 * p[i - 1] - 5 * p[i] + 4 * p[i + 1] - p[i + 2]) * s2
                              + (-p[i - 1] + 3 * p[i] - 3 * p[i + 1] + p[i + 2]) * s3))
    out.append(p[-2])
    return np.asarray(out)


@dataclass
class Anatomy:
    """Where things are in a labelled chest CT, in the CT's physical coordinates (mm).

    Parameters
    ----------
    labels : ndarray of int
        The label volume ``[x, y, z]`` (may be down-sampled).
    names : dict
        Label value → TotalSegmentator structure name.
    body : ndarray of bool
        Voxels inside the body (HU > -500), same grid as ``labels``.
    spacing : tuple of float
        Voxel size (mm) of that grid.
    z_window : tuple of float
        (low, high) physical z (mm) within which metal is placed (the kept slab,
        narrowed to what the detector sees).
    """

    labels: np.ndarray
    names: dict
    body: np.ndarray
    spacing: tuple
    z_window: tuple

    def __post_init__(self):
        self._by_name = {v: k for k, v in self.names.items()}
        self.spacing = tuple(float(s) for s in self.spacing)
        spine = self.points("vertebrae_", window=False)
        sternum = self.points("sternum", window=False)
        ribs_l, ribs_r = self.points("rib_left", window=False), self.points("rib_right", window=False)
        centre = self.points(None, window=False).mean(axis=0)
        if len(spine) and len(sternum):
            ap = sternum.mean(axis=0) - spine.mean(axis=0)
        else:
            ap = np.array([0.0, 1.0, 0.0])
        ap[2] = 0.0
        self.anterior = _unit(ap)
        left = (ribs_l.mean(axis=0) - ribs_r.mean(axis=0)) if len(ribs_l) and len(ribs_r) \
            else np.cross([0, 0, 1.0], self.anterior)
        left[2] = 0.0
        left -= (left @ self.anterior) * self.anterior
        self.left = _unit(left)
        self.cranial = np.array([0.0, 0.0, 1.0])
        self.centre = centre

    def points(self, prefix, *, window: bool = True) -> np.ndarray:
        """(N, 3) physical coordinates of the voxels of every label whose name starts
        with ``prefix`` (the body for None), within the z window."""
        if prefix is None:
            mask = self.body
        else:
            values = [k for k, v in self.names.items() if v.startswith(prefix)]
            if not values:
                return np.zeros((0, 3))
            mask = np.isin(self.labels, values)
        idx = np.argwhere(mask).astype(float) * np.asarray(self.spacing)
        if window:
            idx = idx[(idx[:, 2] >= self.z_window[0]) & (idx[:, 2] <= self.z_window[1])]
        return idx

    def inside(self, points) -> np.ndarray:
        """Whether each physical point (N, 3) lies in a body voxel."""
        ijk = np.round(np.asarray(points, float) / np.asarray(self.spacing)).astype(int)
        ok = np.all((ijk >= 0) & (ijk < np.asarray(self.body.shape)), axis=1)
        out = np.zeros(len(ijk), bool)
        out[ok] = self.body[tuple(ijk[ok].T)]
        return out

    def skin(self, start, direction, *, max_mm=300.0) -> np.ndarray:
        """The last body point along ``start + t direction`` (the skin's exit point)."""
        t = np.arange(0.0, max_mm, 1.0)
        pts = np.asarray(start) + t[:, None] * _unit(direction)
        inside = self.inside(pts)
        if not inside.any():
            return np.asarray(start, float)
        return pts[np.nonzero(inside)[0].max()]


class NoPlace(ValueError):
    """The anatomy in the kept slab has no place for a kind of metal."""


def _pick(rng, points, what):
    if len(points) == 0:
        raise NoPlace(f"No place for {what} in the kept part of the CT.")
    return points[rng.integers(len(points))]


def _fusion(rng, an: Anatomy) -> list[MetalObject]:
    levels = []
    for name in sorted(v for v in an.names.values() if v.startswith("vertebrae_T") or v.startswith("vertebrae_L")):
        pts = an.points(name)
        if len(pts) > 50:
            levels.append(pts)
    if len(levels) < 3:
        raise NoPlace("No place for a spinal fusion: fewer than 3 vertebrae in the kept part of the CT.")
    levels.sort(key=lambda p: p[:, 2].mean())
    n = int(rng.integers(3, min(5, len(levels)) + 1))
    first = int(rng.integers(0, len(levels) - n + 1))
    rod_material = "titanium" if rng.random() < 0.6 else "cocr"
    diameter = float(rng.uniform(5.0, 7.0))
    objects, heads = [], {1: [], -1: []}
    converge = np.deg2rad(rng.uniform(8, 18))
    for pts in levels[first:first + n]:
        ap = pts @ an.anterior
        body = pts[ap > np.quantile(ap, 0.6)].mean(axis=0)  # the vertebral body's centre
        length = float(rng.uniform(35.0, 50.0))
        for side in (1, -1):
            d = _unit(np.cos(converge) * an.anterior - side * np.sin(converge) * an.left)
            tip = body + side * 3.0 * an.left + 8.0 * an.anterior
            entry = tip - d * length
            head = entry - d * 6.0
            parts = (_cyl(entry, tip, diameter / 2), _cyl(head - d * 6.0, head + d * 6.0, 6.0))
            objects.append(MetalObject("pedicle_screw", "titanium", _DENSITY["titanium"], parts,
                                       tuple(entry), {"diameter_mm": diameter, "length_mm": length}))
            heads[side].append(head)
    for side in (1, -1):
        h = np.asarray(heads[side])
        axis = _unit(h[-1] - h[0])
        # Rods overhang the end screws; their length is kept within 80–150 mm.
        span = float(np.linalg.norm(h[-1] - h[0]))
        over = (float(np.clip(span + 16.0, 80.0, 150.0)) - span) / 2
        a, b = h[0] - over * axis, h[-1] + over * axis
        objects.append(MetalObject("spinal_rod", rod_material, _DENSITY[rod_material],
                                   (_cyl(a, b, 2.75),), tuple((a + b) / 2),
                                   {"diameter_mm": 5.5, "length_mm": float(np.linalg.norm(b - a))}))
    return objects


def _sternotomy(rng, an: Anatomy) -> list[MetalObject]:
    pts = an.points("sternum")
    if len(pts) < 50:
        raise NoPlace("No place for sternal wires: no sternum in the kept part of the CT.")
    z = np.arange(pts[:, 2].min() + 8, pts[:, 2].max() - 8, float(rng.uniform(18, 25)))
    if len(z) == 0:
        z = np.array([pts[:, 2].mean()])
    z = z[: int(rng.integers(4, 8))]
    radius = float(rng.uniform(0.35, 0.6))
    objects = []
    for zk in z:
        sl = pts[np.abs(pts[:, 2] - zk) < 4]
        if len(sl) < 5:
            continue
        c = sl.mean(axis=0)
        half_w = (np.ptp(sl @ an.left) / 2) + 3.0
        half_d = (np.ptp(sl @ an.anterior) / 2) + 2.0
        phi = np.linspace(0, 2 * np.pi, 17)
        loop = c + half_w * np.cos(phi)[:, None] * an.left + half_d * np.sin(phi)[:, None] * an.anterior
        twist = c + (half_d + 8.0) * an.anterior
        parts = (*_polyline(loop, radius), _cyl(c + half_d * an.anterior, twist, radius * 1.6))
        objects.append(MetalObject("sternal_wire", "steel", _DENSITY["steel"], parts, tuple(c),
                                   {"diameter_mm": 2 * radius, "width_mm": 2 * half_w}))
    if not objects:
        raise NoPlace("No place for sternal wires: the sternum is too short in the kept part.")
    return objects


def _rib_plate(rng, an: Anatomy) -> list[MetalObject]:
    ribs = an.points("rib_")
    p = _pick(rng, ribs, "a rib plate")
    near = ribs[np.linalg.norm(ribs - p, axis=1) < 25]
    c = near.mean(axis=0)
    _, _, vt = np.linalg.svd(near - c, full_matrices=False)
    along = _unit(vt[0])
    outward = c - an.centre
    outward[2] = 0
    outward = _unit(outward - (outward @ along) * along)
    across = _unit(np.cross(along, outward))
    length, width, thick = float(rng.uniform(60, 100)), float(rng.uniform(10, 12)), 2.0
    centre = c + outward * (5.0 + thick / 2)
    parts = [Part("box", tuple(centre), (tuple(along), tuple(across), tuple(outward)), (length, width, thick))]
    screws = []
    for k, s in enumerate(np.arange(-length / 2 + 6, length / 2 - 5, 9.0)):
        hole = centre + s * along
        parts.append(_cyl(hole - outward * thick, hole + outward * thick, 1.6, sign=-1))
        if k % 2 == 0:
            ln = float(rng.uniform(10, 14))
            screws.append(_cyl(hole + outward * (thick / 2), hole - outward * ln, float(rng.uniform(1.2, 1.5))))
    return [MetalObject("bone_plate", "titanium", _DENSITY["titanium"], tuple(parts), tuple(centre),
                        {"length_mm": length, "width_mm": width, "thickness_mm": thick}),
            MetalObject("plate_screws", "titanium", _DENSITY["titanium"], tuple(screws), tuple(centre),
                        {"count": len(screws)})]


def _lead_path(rng, an: Anatomy, start):
    heart = an.points("heart")
    target = _pick(rng, heart, "a lead") if len(heart) else an.centre
    mid = (np.asarray(start) + target) / 2 - 15.0 * an.anterior
    return _smooth_path([start, mid + rng.normal(0, 5, 3), target])


def _pacemaker(rng, an: Anatomy) -> list[MetalObject]:
    body = an.points(None)
    front = body[(body - an.centre) @ an.left > 40]
    front = front[(front - an.centre) @ an.anterior > 0]
    p = _pick(rng, front, "a pacemaker")
    skin = an.skin(p, an.anterior)
    centre = skin - 10.0 * an.anterior
    ax1 = _unit(np.cos(rng.uniform(0, np.pi)) * an.left + np.sin(rng.uniform(0, np.pi)) * an.cranial)
    ax1 = _unit(ax1 - (ax1 @ an.anterior) * an.anterior)
    ax2 = _unit(np.cross(an.anterior, ax1))
    axes = (tuple(ax1), tuple(ax2), tuple(an.anterior))
    size = (50.0, 45.0, 7.0)
    shell = (Part("box", tuple(centre), axes, size),
             Part("box", tuple(centre), axes, tuple(s - 1.0 for s in size), sign=-1))
    core = (Part("box", tuple(centre), axes, (32.0, 28.0, 5.0)),)
    lead = _lead_path(rng, an, centre + 25 * ax1)
    return [MetalObject("pacemaker_can", "titanium", _DENSITY["titanium"], shell, tuple(centre),
                        {"size_mm": list(size)}),
            MetalObject("pacemaker_battery", "steel", 2.5, core, tuple(centre), {"size_mm": [32, 28, 5]}),
            MetalObject("pacemaker_lead", "cocr", _DENSITY["cocr"], _polyline(lead, 0.6), tuple(lead[-1]),
                        {"diameter_mm": 1.2})]


def _intervention(rng, an: Anatomy) -> list[MetalObject]:
    lungs = an.points("lung_")
    c0 = _pick(rng, lungs, "embolisation coils")
    objects = []
    for _ in range(int(rng.integers(1, 4))):
        r = float(rng.uniform(2.0, 5.0))
        c = c0 + rng.normal(0, 6, 3)
        objects.append(MetalObject("coil", "platinum", 0.3 * _DENSITY["platinum"],
                                   (Part("ball", tuple(c), (), (r,)),), tuple(c), {"diameter_mm": 2 * r}))
    heart = an.points("heart")
    if len(heart):
        a = _pick(rng, heart, "a guidewire")
        b = a + 60.0 * an.cranial + rng.normal(0, 10, 3)
        c = b + 40.0 * an.cranial + rng.normal(0, 10, 3)
        path = _smooth_path([c, b, a])
        objects.append(MetalObject("guidewire", "steel", _DENSITY["steel"], _polyline(path, 0.45),
                                   tuple(a), {"diameter_mm": 0.9}))
    return objects


def _needles(rng, an: Anatomy) -> list[MetalObject]:
    body = an.points(None)
    objects = []

    def straight(kind, radius, length, material="steel"):
        c = _pick(rng, body, kind)
        d = _unit(rng.normal(size=3))
        return MetalObject(kind, material, _DENSITY[material],
                           (_cyl(c - d * length / 2, c + d * length / 2, radius),), tuple(c),
                           {"diameter_mm": 2 * radius, "length_mm": length})

    for _ in range(int(rng.integers(1, 3))):
        objects.append(straight("needle", float(rng.uniform(0.5, 1.5)), float(rng.uniform(40, 120))))
    if rng.random() < 0.5:
        objects.append(straight("thick_needle", float(rng.uniform(2.0, 4.0)), float(rng.uniform(30, 80))))
    c, d = _pick(rng, body, "a coin"), _unit(rng.normal(size=3))
    r, t = float(rng.uniform(5, 10)), float(rng.uniform(1.5, 2.5))
    objects.append(MetalObject("coin", "steel", _DENSITY["steel"], (_cyl(c - d * t / 2, c + d * t / 2, r),),
                               tuple(c), {"diameter_mm": 2 * r, "thickness_mm": t}))
    if rng.random() < 0.5:
        c, r = _pick(rng, body, "a coil"), float(rng.uniform(3, 6))
        objects.append(MetalObject("coil", "platinum", 0.3 * _DENSITY["platinum"],
                                   (Part("ball", tuple(c), (), (r,)),), tuple(c), {"diameter_mm": 2 * r}))
    return objects


def _ecg(rng, an: Anatomy) -> list[MetalObject]:
    body = an.points(None)
    front = body[(body - an.centre) @ an.anterior > 0]
    p = _pick(rng, front, "an ECG electrode")
    skin = an.skin(p, an.anterior)
    r = float(rng.uniform(2.0, 3.0))
    snap = (_cyl(skin, skin + 2.0 * an.anterior, r),)
    lead_dir = _unit(rng.normal(size=3) * [1, 1, 0.3])
    lead_dir = _unit(lead_dir - (lead_dir @ an.anterior) * an.anterior)
    pts = [skin + 3.0 * an.anterior + s * lead_dir + 4.0 * np.sin(s / 30.0) * an.cranial
           for s in np.linspace(0, 100, 11)]
    return [MetalObject("ecg_electrode", "steel", _DENSITY["steel"], snap, tuple(skin), {"diameter_mm": 2 * r}),
            MetalObject("ecg_lead", "copper", _DENSITY["copper"], _polyline(pts, 0.3), tuple(pts[0]),
                        {"diameter_mm": 0.6})]


def _k_wire(rng, an: Anatomy) -> list[MetalObject]:
    bone = an.points("rib_")
    c = _pick(rng, bone if len(bone) else an.points(None), "a K-wire")
    d, r, ln = _unit(rng.normal(size=3)), float(rng.uniform(0.8, 1.0)), float(rng.uniform(60, 120))
    return [MetalObject("k_wire", "steel", _DENSITY["steel"], (_cyl(c - d * ln / 2, c + d * ln / 2, r),),
                        tuple(c), {"diameter_mm": 2 * r, "length_mm": ln})]


def _biopsy_needle(rng, an: Anatomy) -> list[MetalObject]:
    target = _pick(rng, an.points("lung_"), "a biopsy needle")
    d = _unit(rng.normal(size=3) * [1, 1, 0.2])
    entry = an.skin(target, d)
    ln = float(rng.uniform(80, 150))
    r = float(rng.uniform(0.4, 1.0))
    tip = entry - d * min(ln, float(np.linalg.norm(entry - target)) + 10)
    return [MetalObject("biopsy_needle", "steel", _DENSITY["steel"], (_cyl(entry + d * 20, tip, r),),
                        tuple(tip), {"diameter_mm": 2 * r, "length_mm": ln})]


_MAKERS = {"fusion": _fusion, "sternotomy": _sternotomy, "rib_plate": _rib_plate,
           "pacemaker": _pacemaker, "intervention": _intervention, "needles": _needles,
           "ecg": _ecg, "k_wire": _k_wire, "biopsy_needle": _biopsy_needle}


def sample_metal(rng: np.random.Generator, anatomy: Anatomy, *, metal="default") -> list[MetalObject]:
    """Draw one scan's metal configuration (CT physical coordinates, mm).

    Parameters
    ----------
    rng : numpy.random.Generator
    anatomy : Anatomy
    metal : str or dict
        ``"default"`` (a scenario of :data:`DEFAULT_SCENARIOS`, then up to two extras),
        ``"none"``, a scenario name, or a dict of counts per kind of :data:`KINDS`
        (an int or an inclusive (low, high) range).

    Raises
    ------
    ValueError
        For an unknown kind, or a kind the kept anatomy has no place for.
    """
    if metal == "none":
        return []
    if metal == "default":
        names = list(DEFAULT_SCENARIOS)
        probs = np.asarray(list(DEFAULT_SCENARIOS.values()))
        order = rng.choice(len(names), size=len(names), replace=False, p=probs / probs.sum())
        objects = None
        for k in order:  # the first scenario the anatomy has a place for
            try:
                objects = _MAKERS[names[k]](rng, anatomy)
                break
            except NoPlace:
                continue
        if objects is None:
            raise ValueError("No place for metal: the kept part of the CT holds no body.")
        for _ in range(int(rng.integers(0, 3))):
            extra = EXTRAS[int(rng.integers(len(EXTRAS)))]
            try:
                objects += _MAKERS[extra](rng, anatomy)
            except NoPlace:
                pass
        return objects
    if isinstance(metal, str) and metal in _MAKERS:
        metal = {metal: 1}
    if not isinstance(metal, dict) or set(metal) - set(KINDS):
        raise ValueError(f"Expected metal='default', 'none', a scenario ({', '.join(SCENARIOS)}), a dict "
                         f"of counts per kind ({', '.join(KINDS)}) or a list of MetalObject. "
                         f"Received metal={metal!r}.")
    objects = []
    for kind, count in metal.items():
        low, high = (count, count) if isinstance(count, int | np.integer) else count
        for _ in range(int(rng.integers(low, high + 1))):
            if kind in _MAKERS:
                objects += _MAKERS[kind](rng, anatomy)
            else:  # one legacy kind alone
                made = [o for o in _needles(rng, anatomy) if o.kind == kind]
                while not made:
                    made = [o for o in _needles(rng, anatomy) if o.kind == kind]
                objects.append(made[0])
    return objects


def to_rtk(obj: MetalObject, centre_mm) -> MetalObject:
    """Move an object from CT physical coordinates into RTK's frame around ``centre_mm``.

    RTK's (X, Y, Z) are the CT's (x, z, y) minus the isocentre (see
    :func:`~xinpaint.data.projection.volume_image`).
    """
    c = np.asarray(centre_mm, float)

    def point(p):
        q = np.asarray(p, float) - c
        return (q[0], q[2], q[1])

    def vector(v):
        return (v[0], v[2], v[1])

    parts = tuple(Part(p.shape, point(p.centre), tuple(vector(a) for a in p.axes), p.size, p.sign)
                  for p in obj.parts)
    return MetalObject(obj.kind, obj.material, obj.density, parts, point(obj.centre), obj.info)
