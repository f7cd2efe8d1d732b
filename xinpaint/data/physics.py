"""X-ray physics of a C-arm frame: tube spectrum, attenuation, detector, noise, log.

The realistic frames of :func:`~xinpaint.data.simulate_sequence` follow the simulation
protocol of the published metal-artifact benchmarks (CNN-MAR [1]_, reused by DuDoNet,
ADN and InDuDoNet), in cone beam:

1. **Spectrum.** A tungsten-anode tube spectrum from ``spekpy`` [2]_ (default
   :data:`DEFAULT_KVP` = 100 kVp through :data:`DEFAULT_FILTERS` = 2.5 mm Al +
   0.1 mm Cu, a C-arm cone-beam setting), reduced to a few energy bins of equal
   photon fraction (:func:`bin_spectrum`); :func:`choose_energy_bins` picks the
   smallest number of bins whose line integral through 30 cm of water is within
   0.5 % of the full spectrum's.
2. **Materials.** Mass attenuation coefficients from ``xraydb`` (Elam et al.) for the
   :data:`MATERIALS`: water (soft tissue), ICRU-44 cortical bone (built from its mass
   fractions), titanium, stainless steel 316L, cobalt-chromium (ASTM F75), platinum
   and copper.
3. **Tissue.** Each CT voxel is split by HU into water and bone (all water below
   100 HU, all bone above 1500 HU, a linear mix between; :func:`tissue_densities`),
   with densities that reproduce the voxel's attenuation at :data:`HU_REFERENCE_KEV`.
   One Joseph projection per material gives its density line integral (g/cm³ · mm).
4. **Detector.** :data:`DEFAULT_I0` photons per pixel per frame without a patient;
   Poisson noise drawn per energy bin; an energy-integrating detector (signal = sum of
   photon energies; the default) or a photon-counting one (signal = photon count);
   photon starvation: a signal below one photon at the mean energy is clamped to that
   (:data:`MIN_PHOTONS`), as a detector's offset floor does; the log against the
   flat field.
5. **Water correction.** The log is mapped by a cubic polynomial fitted on water
   (:class:`WaterCorrection`) onto the line integral that water would give at the
   effective attenuation ``mu_water`` of the spectrum, so that water is linear in
   thickness; bone and metal keep their beam hardening, as on a real scanner.

References
----------
.. [1] Y. Zhang and H. Yu, "Convolutional neural network based metal artifact
   reduction in X-ray computed tomography", IEEE Trans. Med. Imaging 37(6), 1370–1381
   (2018). :doi:`10.1109/TMI.2018.2823083`
.. [2] G. Poludniowski, A. Omar, R. Bujila and P. Andreo, "Technical Note: SpekPy v2.0 —
   a software toolkit for modeling x-ray tube spectra", Med. Phys. 48(7), 3630–3637
   (2021). :doi:`10.1002/mp.14945`
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

__all__ = [
    "DEFAULT_FILTERS",
    "DEFAULT_I0",
    "DEFAULT_KVP",
    "HU_REFERENCE_KEV",
    "MATERIALS",
    "MIN_PHOTONS",
    "Material",
    "Spectrum",
    "WaterCorrection",
    "XrayPhysics",
    "bin_spectrum",
    "binning_error",
    "choose_energy_bins",
    "linear_attenuation",
    "mass_attenuation",
    "polychromatic_log",
    "tissue_densities",
    "tube_spectrum",
]

#: Tube voltage (kVp) of the default C-arm cone-beam scan.
DEFAULT_KVP = 100.0
#: Default added filtration: (element, thickness in mm).
DEFAULT_FILTERS = (("Al", 2.5), ("Cu", 0.1))
#: Unattenuated photons per detector pixel in one frame (a C-arm CBCT frame at 0.6 mm pixels).
DEFAULT_I0 = 1.0e5
#: Photons (at the spectrum's mean energy) a clamped, starved pixel reports.
MIN_PHOTONS = 1.0
#: Energy (keV) at which a CT's HU define the tissue's attenuation (a 120 kVp CT).
HU_REFERENCE_KEV = 70.0
#: spekpy's tube voltage range for a tungsten anode (kVp).
KVP_RANGE = (30.0, 150.0)
#: Water thickness (mm) that defines the effective attenuation of water.
WATER_REFERENCE_MM = 200.0

_HU_WATER_ONLY, _HU_BONE_ONLY = 100.0, 1500.0


@dataclass(frozen=True)
class Material:
    """A material by its mass fractions (element → fraction) and its density (g/cm³)."""

    name: str
    composition: tuple
    density: float


#: The materials of the simulator. Metal objects name one of these and may scale its density.
MATERIALS: dict[str, Material] = {
    m.name: m
    for m in (
        Material("water", (("H", 0.111894), ("O", 0.888106)), 1.0),
        # ICRU-44 cortical bone (NIST "Bone, Cortical (ICRU-44)"), mass fractions.
        Material("bone", (("H", 0.034), ("C", 0.155), ("N", 0.042), ("O", 0.435), ("Na", 0.001),
                          ("Mg", 0.002), ("P", 0.103), ("S", 0.003), ("Ca", 0.225)), 1.92),
        Material("titanium", (("Ti", 1.0),), 4.51),
        # Stainless steel 316L.
        Material("steel", (("Fe", 0.655), ("Cr", 0.17), ("Ni", 0.12), ("Mo", 0.025),
                           ("Mn", 0.02), ("Si", 0.01)), 8.0),
        # Cobalt-chromium-molybdenum (ASTM F75).
        Material("cocr", (("Co", 0.65), ("Cr", 0.29), ("Mo", 0.06)), 8.3),
        Material("platinum", (("Pt", 1.0),), 21.45),
        Material("copper", (("Cu", 1.0),), 8.96),
    )
}


def _material(name) -> Material:
    if name not in MATERIALS:
        raise ValueError(f"Unknown material: expected one of {', '.join(MATERIALS)}. "
                         f"Received material={name!r}.")
    return MATERIALS[name]


@functools.lru_cache(maxsize=256)
def _mass_attenuation(name: str, energies: tuple) -> np.ndarray:
    import xraydb

    e_ev = np.asarray(energies, float) * 1000.0
    return sum(w * np.asarray(xraydb.mu_elam(el, e_ev, kind="total"), float)
               for el, w in _material(name).composition)


def mass_attenuation(material: str, energies_kev) -> np.ndarray:
    """Mass attenuation coefficient (cm²/g, coherent scattering included) of a material.

    Parameters
    ----------
    material : str
        A key of :data:`MATERIALS`.
    energies_kev : array_like
        Photon energies (keV).

    Returns
    -------
    ndarray of float64, the shape of ``energies_kev``.

    Examples
    --------
    >>> round(float(mass_attenuation("water", [60.0])[0]), 3)
    0.206
    """
    _material(material)
    e = np.atleast_1d(np.asarray(energies_kev, float))
    if not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise ValueError(f"Expected positive photon energies in keV. Received energies_kev={energies_kev!r}.")
    return _mass_attenuation(material, tuple(e.ravel().tolist())).reshape(e.shape)


def linear_attenuation(material: str, energies_kev, *, density: float | None = None) -> np.ndarray:
    """Linear attenuation coefficient (1/mm) at the material's density (or ``density``, g/cm³)."""
    rho = _material(material).density if density is None else float(density)
    return mass_attenuation(material, energies_kev) * rho / 10.0


# --------------------------------------------------------------------------- spectrum


@dataclass(frozen=True)
class Spectrum:
    """Photon energies (keV) and the fraction of the photons at each (summing to 1)."""

    energies: np.ndarray
    weights: np.ndarray
    kvp: float = DEFAULT_KVP
    filters: tuple = DEFAULT_FILTERS

    @property
    def mean_energy(self) -> float:
        """Mean photon energy (keV)."""
        return float(np.sum(self.energies * self.weights))

    def __len__(self) -> int:
        return len(self.energies)


def _check_filters(filters):
    try:
        out = tuple((str(el), float(mm)) for el, mm in filters)
    except (TypeError, ValueError):
        raise ValueError(f"Expected filters as (element, thickness in mm) pairs. "
                         f"Received filters={filters!r}.") from None
    if any(mm < 0 for _, mm in out):
        raise ValueError(f"Expected filter thicknesses >= 0 mm. Received filters={filters!r}.")
    return out


@functools.lru_cache(maxsize=16)
def _spekpy_spectrum(kvp: float, filters: tuple, anode_angle: float):
    import spekpy

    spek = spekpy.Spek(kvp=kvp, th=anode_angle, dk=1.0)
    for element, mm in filters:
        if mm > 0:
            spek.filter(element, mm)
    return spek.get_spectrum()


def tube_spectrum(*, kvp: float = DEFAULT_KVP, filters=DEFAULT_FILTERS,
                  anode_angle: float = 12.0) -> Spectrum:
    """The photon spectrum of a tungsten-anode X-ray tube, in 1 keV bins (spekpy).

    Parameters
    ----------
    kvp : float
        Tube voltage, within spekpy's range :data:`KVP_RANGE`.
    filters : sequence of (str, float)
        Added filtration as (element symbol, thickness in mm).
    anode_angle : float
        Anode angle (degrees).

    Returns
    -------
    Spectrum
        Energies at the bins' centres and photon fractions.

    References
    ----------
    .. [1] G. Poludniowski et al., Med. Phys. 48(7), 3630–3637 (2021).
       :doi:`10.1002/mp.14945`

    Examples
    --------
    >>> s = tube_spectrum()  # doctest: +SKIP
    >>> len(s), round(s.mean_energy, 1)  # doctest: +SKIP
    (99, 54.4)
    """
    try:
        kvp = float(kvp)
    except (TypeError, ValueError):
        raise ValueError(f"Expected a tube voltage in kVp. Received kvp={kvp!r}.") from None
    if not KVP_RANGE[0] <= kvp <= KVP_RANGE[1]:
        raise ValueError(f"Expected a tube voltage in spekpy's range [{KVP_RANGE[0]:g}, "
                         f"{KVP_RANGE[1]:g}] kVp. Received kvp={kvp!r}.")
    filters = _check_filters(filters)
    try:
        energies, fluence = _spekpy_spectrum(kvp, filters, float(anode_angle))
    except Exception as err:  # spekpy's own errors (unknown element, ...) in one line
        raise ValueError(f"spekpy could not make the spectrum for kvp={kvp!r}, "
                         f"filters={filters!r}: {err}") from None
    energies = np.asarray(energies, float)
    fluence = np.asarray(fluence, float)
    keep = fluence > 0
    return Spectrum(energies[keep], fluence[keep] / fluence[keep].sum(), kvp, filters)


def bin_spectrum(spectrum: Spectrum, n_bins: int) -> Spectrum:
    """Reduce a spectrum to ``n_bins`` energies, each holding an equal share of the photons.

    The bin edges are the quantiles of the photon distribution; each bin is
    represented by the photon-weighted mean energy of the 1 keV bins it holds (a
    1 keV bin that straddles an edge is shared in proportion), with the bin's
    photon fraction as its weight.
    """
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"Expected n_bins >= 1. Received n_bins={n_bins!r}.")
    if n_bins >= len(spectrum):
        return spectrum
    cum = np.concatenate([[0.0], np.cumsum(spectrum.weights)])
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    energies, weights = [], []
    for lo, hi in pairwise(edges):
        share = np.clip(np.minimum(cum[1:], hi) - np.maximum(cum[:-1], lo), 0.0, None)
        weights.append(share.sum())
        energies.append(np.sum(share * spectrum.energies) / share.sum())
    weights = np.asarray(weights)
    return Spectrum(np.asarray(energies), weights / weights.sum(), spectrum.kvp, spectrum.filters)


def _signal_weights(spectrum: Spectrum, detector: str) -> np.ndarray:
    if detector == "energy-integrating":
        w = spectrum.weights * spectrum.energies
    elif detector == "photon-counting":
        w = spectrum.weights
    else:
        raise ValueError(f"Expected detector 'energy-integrating' or 'photon-counting'. "
                         f"Received detector={detector!r}.")
    return w / w.sum()


def polychromatic_log(spectrum: Spectrum, material_mm: dict, *, detector="energy-integrating"):
    """Noise-free log signal ``-log(S/S0)`` of rays through given material path lengths.

    ``material_mm`` maps a material to its path lengths (mm, at the material's
    density; arrays broadcast together). The numeric integral over the spectrum's bins.
    """
    w = _signal_weights(spectrum, detector)
    total = 0.0
    for e, wi in zip(spectrum.energies, w, strict=True):
        line = sum(linear_attenuation(m, [e])[0] * np.asarray(v, float) for m, v in material_mm.items())
        total = total + wi * np.exp(-line)
    return -np.log(total)


def binning_error(spectrum: Spectrum, n_bins: int, *, water_mm: float = 300.0,
                  detector: str = "energy-integrating") -> float:
    """Relative error of the binned spectrum's line integral through ``water_mm`` of water."""
    full = float(polychromatic_log(spectrum, {"water": water_mm}, detector=detector))
    binned = float(polychromatic_log(bin_spectrum(spectrum, n_bins), {"water": water_mm},
                                     detector=detector))
    return abs(binned - full) / full


def choose_energy_bins(spectrum: Spectrum, *, tolerance: float = 0.005, water_mm: float = 300.0,
                       detector: str = "energy-integrating", max_bins: int = 32) -> int:
    """The fewest equal-photon bins whose :func:`binning_error` is at most ``tolerance``."""
    for n in range(1, max_bins + 1):
        if binning_error(spectrum, n, water_mm=water_mm, detector=detector) <= tolerance:
            return n
    return max_bins


# --------------------------------------------------------------------------- tissue


def tissue_densities(hu, *, reference_kev: float = HU_REFERENCE_KEV) -> tuple[np.ndarray, np.ndarray]:
    """Split CT voxels into water and bone partial densities (g/cm³), the CNN-MAR rule.

    The bone fraction is 0 below 100 HU, 1 above 1500 HU and linear between; the
    voxel's linear attenuation at ``reference_kev``, ``mu_w (1 + HU/1000)`` (at least
    0), is shared between the two materials by that fraction, and each share is
    turned into a density with the material's mass attenuation at that energy.

    Returns
    -------
    water, bone : ndarray of float32
        Partial densities (g/cm³); HU 0 gives (1, 0).

    Examples
    --------
    >>> w, b = tissue_densities(np.array([-1000.0, 0.0, 2000.0]))
    >>> w.round(3).tolist(), bool(b[2] > 1.5)
    ([0.0, 1.0, 0.0], True)
    """
    hu = np.asarray(hu, np.float32)
    mw = float(mass_attenuation("water", [reference_kev])[0])
    mb = float(mass_attenuation("bone", [reference_kev])[0])
    mu = np.clip(mw * (1.0 + hu / 1000.0), 0.0, None)  # cm^-1 at unit water density
    bone = np.clip((hu - _HU_WATER_ONLY) / (_HU_BONE_ONLY - _HU_WATER_ONLY), 0.0, 1.0)
    return ((1.0 - bone) * mu / mw).astype(np.float32), (bone * mu / mb).astype(np.float32)


# --------------------------------------------------------------------------- water correction


@dataclass(frozen=True)
class WaterCorrection:
    """A cubic polynomial (no constant) mapping the measured log of water onto ``mu_water * L``.

    ``coefficients`` are (c1, c2, c3) of ``c1 p + c2 p² + c3 p³``; ``mu_water`` (1/mm)
    is the effective attenuation of water: the measured log through
    :data:`WATER_REFERENCE_MM` of water divided by that thickness.
    """

    coefficients: tuple
    mu_water: float

    def __call__(self, p):
        c1, c2, c3 = self.coefficients
        p = np.asarray(p, np.float64)
        return ((c3 * p + c2) * p + c1) * p

    @classmethod
    def fit(cls, spectrum: Spectrum, *, detector: str = "energy-integrating",
            max_mm: float = 400.0) -> WaterCorrection:
        """Fit on water thicknesses 0 to ``max_mm`` (least squares, 81 points)."""
        thickness = np.linspace(0.0, max_mm, 81)
        p = polychromatic_log(spectrum, {"water": thickness}, detector=detector)
        mu = float(polychromatic_log(spectrum, {"water": WATER_REFERENCE_MM}, detector=detector)
                   / WATER_REFERENCE_MM)
        design = np.c_[p, p**2, p**3]
        coef, *_ = np.linalg.lstsq(design, mu * thickness, rcond=None)
        return cls(tuple(float(c) for c in coef), mu)


# --------------------------------------------------------------------------- the detector


@dataclass(frozen=True)
class XrayPhysics:
    """Everything that turns material line integrals into a realistic frame.

    Parameters
    ----------
    kvp, filters
        The tube (see :func:`tube_spectrum`).
    i0 : float
        Unattenuated photons per pixel per frame (> 0).
    detector : str
        ``"energy-integrating"`` (default) or ``"photon-counting"``.
    n_bins : int, optional
        Energy bins; default :func:`choose_energy_bins` (≤ 0.5 % through 30 cm water).
    noise : bool
        Poisson noise (default True).
    """

    kvp: float = DEFAULT_KVP
    filters: tuple = DEFAULT_FILTERS
    i0: float = DEFAULT_I0
    detector: str = "energy-integrating"
    n_bins: int | None = None
    noise: bool = True

    def __post_init__(self):
        try:
            i0 = float(self.i0)
        except (TypeError, ValueError):
            i0 = float("nan")
        if not np.isfinite(i0) or i0 <= 0:
            raise ValueError(f"Expected I0 > 0 photons per pixel. Received i0={self.i0!r}.")
        _signal_weights(Spectrum(np.ones(1), np.ones(1)), self.detector)
        object.__setattr__(self, "filters", _check_filters(self.filters))
        full = tube_spectrum(kvp=self.kvp, filters=self.filters)
        n = choose_energy_bins(full, detector=self.detector) if self.n_bins is None else self.n_bins
        object.__setattr__(self, "n_bins", int(n))
        object.__setattr__(self, "_full", full)
        object.__setattr__(self, "_spectrum", bin_spectrum(full, int(n)))
        object.__setattr__(self, "_correction", WaterCorrection.fit(full, detector=self.detector))

    @property
    def full_spectrum(self) -> Spectrum:
        return self._full

    @property
    def spectrum(self) -> Spectrum:
        """The binned spectrum the frames are simulated with."""
        return self._spectrum

    @property
    def correction(self) -> WaterCorrection:
        return self._correction

    @property
    def mu_water(self) -> float:
        """Effective linear attenuation of water (1/mm): what FDK calibrates HU with."""
        return self._correction.mu_water

    def attenuation(self, material: str) -> np.ndarray:
        """Linear attenuation (1/mm) of a material at each energy bin."""
        return linear_attenuation(material, self._spectrum.energies)

    def effective_attenuation(self, material: str) -> float:
        """Linear attenuation (1/mm) at the spectrum's mean energy (the hole rule's weight)."""
        return float(linear_attenuation(material, [self._spectrum.mean_energy])[0])

    def expected_photons(self, tissue_line: np.ndarray, transmission=None) -> np.ndarray:
        """Expected photons (n_bins, ...) per bin, from the tissue's energy line integrals.

        ``tissue_line`` is (n_bins, ...) ``Σ_m mu_m(E) L_m`` of the tissue; ``transmission``
        (n_bins, ...) the metal's mean transmission over the pixel (partial volume).
        """
        lam = self.i0 * self._spectrum.weights.reshape((-1,) + (1,) * (tissue_line.ndim - 1)) \
            * np.exp(-tissue_line)
        return lam if transmission is None else lam * transmission

    def _photon_weight(self) -> np.ndarray:
        """What one photon of each bin adds to the signal: its energy, or one count."""
        return self._spectrum.energies if self.detector == "energy-integrating" else np.ones(self.n_bins)

    def signal(self, photons: np.ndarray) -> np.ndarray:
        """Detector signal from photons per bin (counts or summed energy), clamped if starved."""
        s = np.tensordot(self._photon_weight(), photons, axes=(0, 0))
        floor = MIN_PHOTONS * (self._spectrum.mean_energy if self.detector == "energy-integrating" else 1.0)
        return np.maximum(s, floor)

    def flat_field(self) -> float:
        return float(self.i0 * np.sum(self._photon_weight() * self._spectrum.weights))

    def log(self, signal: np.ndarray) -> np.ndarray:
        """The water-corrected line integral ``c(-log(S / S0))`` (dimensionless)."""
        return self._correction(-np.log(signal / self.flat_field()))
