"""The X-ray physics against numpy references and analytic cases (water slabs)."""

import numpy as np
import pytest

from xinpaint.data import physics as ph


@pytest.fixture(scope="module")
def xray():
    return ph.XrayPhysics()


def test_spectrum_is_spekpys_default_c_arm_beam(xray):
    full = xray.full_spectrum
    assert len(full) > 90 and abs(full.weights.sum() - 1) < 1e-12
    assert 50 < full.mean_energy < 60  # 100 kVp, 2.5 mm Al + 0.1 mm Cu: 54.4 keV
    assert full.energies.max() < 100


def test_binning_is_chosen_by_its_error_through_30_cm_water(xray):
    n = xray.n_bins
    assert ph.binning_error(xray.full_spectrum, n) <= 0.005
    assert ph.binning_error(xray.full_spectrum, n - 1) > 0.005  # the fewest that reach it
    binned = xray.spectrum
    assert len(binned) == n and abs(binned.weights.sum() - 1) < 1e-12
    assert abs(binned.mean_energy - xray.full_spectrum.mean_energy) < 1e-9  # photon mean kept


def test_cortical_bone_is_built_from_mass_fractions():
    import xraydb

    e = np.array([40.0, 60.0, 80.0])
    fractions = dict(ph.MATERIALS["bone"].composition)
    expected = sum(w * xraydb.mu_elam(el, e * 1000, kind="total") for el, w in fractions.items())
    np.testing.assert_allclose(ph.mass_attenuation("bone", e), expected, rtol=1e-12)
    assert abs(sum(fractions.values()) - 1) < 1e-6
    # Water from its formula (xraydb counts atoms there) agrees with the mass fractions.
    water = xraydb.material_mu("water", e * 1000, density=1.0)
    np.testing.assert_allclose(ph.mass_attenuation("water", e), water, rtol=2e-3)


def test_water_slab_transmission_is_the_numeric_integral_over_the_spectrum(xray):
    # Energy-integrating signal through a 150 mm water slab, against numpy over the same bins.
    import xraydb

    s = xray.spectrum
    mu = xraydb.material_mu("water", s.energies * 1000, density=1.0) / 10  # 1/mm
    expected = np.sum(s.weights * s.energies * np.exp(-mu * 150.0)) / np.sum(s.weights * s.energies)
    a_w = ph.mass_attenuation("water", s.energies) / 10
    lam = xray.expected_photons(np.asarray(a_w * 150.0)[:, None])
    got = xray.signal(lam)[0] / xray.flat_field()
    np.testing.assert_allclose(got, expected, rtol=2e-3)  # formula vs mass fractions of water
    direct = np.exp(-ph.polychromatic_log(s, {"water": 150.0}))
    np.testing.assert_allclose(got, direct, rtol=1e-6)


def test_water_is_linear_in_thickness_after_the_correction(xray):
    thickness = np.linspace(10.0, 400.0, 40)
    p = ph.polychromatic_log(xray.spectrum, {"water": thickness})
    corrected = xray.correction(p)
    ratio = corrected / (xray.mu_water * thickness)
    assert np.abs(ratio - 1).max() <= 0.005
    # Without it, beam hardening bends the curve by several per cent.
    assert np.abs(p / (p[0] / thickness[0] * thickness) - 1).max() > 0.05


def test_log_variance_is_one_over_the_counts():
    pc = ph.XrayPhysics(detector="photon-counting", i0=2.0e4)
    s = pc.spectrum
    a_w = ph.mass_attenuation("water", s.energies) / 10
    lam = pc.expected_photons(np.repeat((a_w * 100.0)[:, None], 200_000, axis=1))
    counts = np.random.default_rng(0).poisson(lam)
    p = -np.log(pc.signal(counts) / pc.flat_field())
    assert abs(p.var() * lam.sum(axis=0).mean() - 1) < 0.1
    # Energy-integrating: 1/counts times the Swank factor <E²>/<E>² of the transmitted photons.
    ei = ph.XrayPhysics(i0=2.0e4, n_bins=pc.n_bins)
    q = -np.log(ei.signal(counts) / ei.flat_field())
    n_e = lam[:, 0]
    swank = np.sum(n_e * s.energies**2) * n_e.sum() / np.sum(n_e * s.energies) ** 2
    assert abs(q.var() * n_e.sum() / swank - 1) < 0.1


def test_photon_starvation_behind_20_mm_steel_clamps_the_counts():
    xray = ph.XrayPhysics(i0=1.0e3)
    s = xray.spectrum
    line = ph.mass_attenuation("water", s.energies)[:, None] / 10 * 200.0 \
        + ph.linear_attenuation("steel", s.energies)[:, None] * 20.0
    lam = xray.expected_photons(np.repeat(line, 10_000, axis=1))
    counts = np.random.default_rng(1).poisson(lam)
    assert (counts.sum(axis=0) == 0).mean() > 0.9
    signal = xray.signal(counts)
    floor = ph.MIN_PHOTONS * s.mean_energy
    assert signal.min() == pytest.approx(floor)
    assert np.isfinite(xray.log(signal)).all()


def test_tissue_split_follows_the_cnn_mar_rule():
    water, bone = ph.tissue_densities(np.array([-1000.0, 0.0, 100.0, 800.0, 1500.0, 3000.0]))
    np.testing.assert_allclose(water[:3], [0.0, 1.0, 1.1], rtol=1e-6)
    assert bone[:3].tolist() == [0.0, 0.0, 0.0] and water[4:].tolist() == [0.0, 0.0]
    assert 0 < bone[3] and 0 < water[3]  # 800 HU: half water, half bone
    # The split keeps each voxel's attenuation at the reference energy.
    e = [ph.HU_REFERENCE_KEV]
    mu = water * ph.mass_attenuation("water", e) + bone * ph.mass_attenuation("bone", e)
    hu = np.array([-1000.0, 0.0, 100.0, 800.0, 1500.0, 3000.0])
    np.testing.assert_allclose(mu, ph.mass_attenuation("water", e) * (1 + hu / 1000), rtol=1e-5)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ph.mass_attenuation("gold", [60.0]), r"Received material='gold'"),
        (lambda: ph.tube_spectrum(kvp=200), r"Received kvp=200"),
        (lambda: ph.tube_spectrum(kvp=20), r"Received kvp=20"),
        (lambda: ph.XrayPhysics(i0=0), r"Received i0=0"),
        (lambda: ph.XrayPhysics(i0=-5.0), r"Received i0=-5.0"),
        (lambda: ph.XrayPhysics(detector="film"), r"Received detector='film'"),
        (lambda: ph.bin_spectrum(ph.tube_spectrum(), 0), r"Received n_bins=0"),
        (lambda: ph.tube_spectrum(filters=(("Al", -1),)), r"Received filters="),
    ],
)
def test_bad_physics_arguments_name_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()
