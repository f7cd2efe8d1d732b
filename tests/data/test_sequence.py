import numpy as np
import pytest

from xinpaint.data import CArmGeometry, simulate_sequence
from xinpaint.data.projection import forward_project, volume_image


def test_shapes_dtypes_and_ranges(small_sequence):
    seq = small_sequence
    assert seq.frames.shape == seq.holes.shape == seq.ribs.shape == (6, 64, 64)
    assert seq.frames.dtype == np.float32 and seq.holes.dtype == bool
    assert 0 <= seq.frames.min() and seq.frames.max() <= 1 and seq.frames.std() > 0.02
    np.testing.assert_allclose(np.diff(seq.angles), 12 / 5, rtol=1e-5)
    assert seq.observed.shape == seq.frames.shape
    np.testing.assert_array_equal(seq.valid, 1 - seq.holes)


def test_holes_non_empty_below_half_and_moving(small_sequence):
    fraction = small_sequence.holes.mean(axis=(1, 2))
    assert (fraction > 0).all() and (fraction < 0.5).all()
    assert not np.array_equal(small_sequence.holes[0], small_sequence.holes[-1])


def test_same_seed_same_arrays_other_seed_other_metal(ct, small_sequence):
    again = simulate_sequence(ct, n_frames=6, detector_shape=(64, 64), arc_degrees=12, seed=5,
                              physics="ideal", metal="needles")
    np.testing.assert_array_equal(again.frames, small_sequence.frames)
    np.testing.assert_array_equal(again.holes, small_sequence.holes)
    other = simulate_sequence(ct, n_frames=6, detector_shape=(64, 64), arc_degrees=12, seed=6,
                              physics="ideal", metal="needles")
    assert not np.array_equal(other.holes, small_sequence.holes)


def test_metal_across_ribs(ct):
    seq = simulate_sequence(ct, n_frames=4, detector_shape=(64, 64), arc_degrees=8, seed=2,
                            metal_region="ribs")
    assert (seq.holes & seq.ribs).any()


def test_metal_across_ribs_where_ribs_leave_the_centre_of_some_frames(ct):
    # Caudal ribs over a 64° arc: no rib voxel stays in the central 70 % of every frame
    # (the default margin), so the margin shrinks instead of failing.
    from xinpaint.data.datasets import split_z_centre, split_z_range

    seq = simulate_sequence(ct, n_frames=4, detector_shape=(64, 64), arc_degrees=64,
                            start_degrees=-33.2, z_range=split_z_range("test"),
                            z_centre=split_z_centre("test"), metal_region="ribs", seed=2)
    assert (seq.holes & seq.ribs).any()


def test_uniform_cylinder_matches_its_analytic_line_integral():
    # A cylinder of radius 50 mm along the rotation axis: the central ray crosses 100 mm.
    # At detector column u (mm) the ray passes at distance d = u * sid / sdd from the
    # axis (to first order); chord = 2 sqrt(r^2 - d^2).
    n, mu, radius = 128, 0.02, 50.0
    x, y = np.meshgrid(np.arange(n) + 0.5 - n / 2, np.arange(n) + 0.5 - n / 2, indexing="ij")
    volume = np.repeat(((x**2 + y**2) <= radius**2)[..., None], 48, axis=2).astype(np.float32) * mu
    geometry = CArmGeometry(detector_shape=(32, 64), n_frames=3, arc_degrees=90.0)
    line = forward_project(volume_image(volume, (1.0, 1.0, 1.0)), geometry)
    u = (np.arange(64) - 31.5) * geometry.pitch
    # Exact for a fan ray in the central row: distance of the ray to the axis.
    d = np.abs(u) * geometry.sid / np.sqrt(geometry.sdd**2 + u**2)
    chord = 2 * np.sqrt(np.clip(radius**2 - d**2, 0, None)) * mu
    inner = d < 0.8 * radius
    for frame in line:
        row = frame[15:17].mean(axis=0)
        np.testing.assert_allclose(row[inner], chord[inner], rtol=0.01)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"n_frames": 0}, ValueError, r"Received n_frames=0"),
        ({"n_frames": 4, "detector_shape": (16, 64)}, ValueError, r"Received detector_shape=\(16, 64\)"),
        ({"n_frames": 4, "arc_degrees": 0}, ValueError, r"Received arc_degrees=0"),
        ({"n_frames": 4, "metal": "gold"}, ValueError, r"Received metal='gold'"),
        ({"n_frames": 4, "z_centre": 2}, ValueError, r"Received z_centre=2"),
    ],
)
def test_bad_arguments_name_the_value(ct, kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_sequence(ct, **{"detector_shape": (64, 64), **kwargs})


def test_bad_ct_array_is_refused():
    with pytest.raises(ValueError, match=r"Received ct of shape \(4, 4\)"):
        simulate_sequence(np.zeros((4, 4)), n_frames=2)


def test_z_range_drops_the_other_slices(ct):
    # Keeping the caudal half is the same as replacing the cranial half by air.
    from xinpaint.data import CTVolume

    small = CTVolume(ct.hu[::4, ::4], (ct.spacing[0] * 4, ct.spacing[1] * 4, ct.spacing[2]))
    options = dict(n_frames=3, detector_shape=(64, 64), arc_degrees=6, seed=4)
    kept = simulate_sequence(small, z_range=(0.0, 0.5), **options)
    hu = small.hu.copy()
    hu[:, :, round(0.5 * hu.shape[2]):] = -1000.0
    air = simulate_sequence(CTVolume(hu, small.spacing), z_centre=0.25, **options)
    # Identical but for the top rows, where rays graze the cut: there the projector
    # interpolates across the last half voxel differently.
    np.testing.assert_allclose(kept.frames[:, 8:], air.frames[:, 8:], atol=1e-5)
    np.testing.assert_allclose(kept.frames[:, :8], air.frames[:, :8], atol=0.05)
    np.testing.assert_array_equal(kept.holes, air.holes)
    whole = simulate_sequence(small, z_centre=0.25, **options)
    assert np.abs(whole.frames - kept.frames).max() > 0.05  # the cranial half was seen


def test_splits_use_disjoint_slices():
    from xinpaint.data import split_z_range

    train, val, test = (split_z_range(s) for s in ("train", "val", "test"))
    assert train == val and (test[1] <= train[0] or train[1] <= test[0])


@pytest.mark.parametrize(
    "z_range,match",
    [((0.6, 0.2), r"Received z_range=\(0.6, 0.2\)"), ((0.5,), r"Received z_range=\(0.5,\)"),
     ("cranial", r"Received z_range='cranial'")],
)
def test_bad_z_range_names_the_value(ct, z_range, match):
    with pytest.raises(ValueError, match=match):
        simulate_sequence(ct, n_frames=2, detector_shape=(64, 64), z_range=z_range)


# --------------------------------------------------------------------------- realistic scans

from xinpaint.data.metal import MetalObject, Part  # noqa: E402

SCREW = MetalObject("pedicle_screw", "titanium", 4.51,
                    (Part("cylinder", (0.0, 0.0, 0.0), ((0.0, 1.0, 0.0),), (3.0, 45.0)),))


@pytest.fixture(scope="module")
def realistic(ct):
    options = dict(n_frames=5, detector_shape=(64, 64), seed=11)
    return (simulate_sequence(ct, metal=[SCREW], **options),
            simulate_sequence(ct, metal="none", **options))


def test_outside_the_trace_metal_changes_nothing_bit_for_bit(realistic):
    with_metal, without = realistic
    trace = with_metal.trace
    assert trace.any() and with_metal.holes.any()
    np.testing.assert_array_equal(with_metal.observed[~trace], without.observed[~trace])
    np.testing.assert_array_equal(with_metal.reference, without.observed)  # same noise
    np.testing.assert_array_equal(with_metal.target, without.target)
    assert np.abs(with_metal.observed - with_metal.target)[trace].mean() > 0.05


def test_a_sequence_carries_what_each_metric_needs(realistic):
    seq, _ = realistic
    assert seq.physics == "realistic" and seq.holes.dtype == bool
    assert seq.observed.shape == seq.reference.shape == seq.target.shape == seq.metal_path.shape
    assert seq.frames is seq.target
    noise = seq.reference - seq.target
    assert 0.0005 < noise[~seq.trace].std() < 0.02  # Poisson noise at 1e5 photons a pixel
    assert np.array_equal(seq.holes, seq.holes & seq.trace)  # holes lie in the trace
    assert seq.metal_path[seq.holes].min() > 0
    assert seq.geometry is not None and seq.geometry.arc_degrees >= seq.geometry.short_scan_degrees
    assert 0.018 < seq.mu_water < 0.024  # water near the effective energy (1/mm)


def test_a_higher_hole_threshold_keeps_a_subset(ct, realistic):
    seq, _ = realistic
    strict = simulate_sequence(ct, n_frames=5, detector_shape=(64, 64), seed=11, metal=[SCREW],
                               hole_attenuation=1.0)
    assert strict.holes.sum() < seq.holes.sum() and not (strict.holes & ~seq.holes).any()
    np.testing.assert_array_equal(strict.observed, seq.observed)


def test_realistic_scans_are_deterministic_by_seed(ct):
    a = simulate_sequence(ct, n_frames=3, detector_shape=(48, 48), seed=21)
    b = simulate_sequence(ct, n_frames=3, detector_shape=(48, 48), seed=21)
    c = simulate_sequence(ct, n_frames=3, detector_shape=(48, 48), seed=22)
    np.testing.assert_array_equal(a.observed, b.observed)
    np.testing.assert_array_equal(a.holes, b.holes)
    assert not np.array_equal(a.reference, c.reference)


def test_ideal_physics_keeps_noise_free_saturating_frames(ct):
    seq = simulate_sequence(ct, n_frames=3, detector_shape=(48, 48), seed=2, physics="ideal",
                            metal=[SCREW])
    np.testing.assert_array_equal(seq.reference, seq.target)
    np.testing.assert_array_equal(seq.observed[~seq.holes], seq.target[~seq.holes])
    assert np.array_equal(seq.holes, seq.metal_path > 0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"arc_degrees": 90, "reconstructable": True}, r"Received arc_degrees=90"),
        ({"physics": "quantum"}, r"Received physics='quantum'"),
        ({"physics_options": {"kvp": 300}}, r"Received kvp=300"),
        ({"physics_options": {"i0": 0}}, r"Received i0=0"),
        ({"hole_attenuation": -1}, r"Received hole_attenuation=-1"),
        ({"metal": [MetalObject("coin", "steel", 8.0, (Part("ball", (400.0, 0, 0), (), (5.0,)),),
                                centre=(400.0, 0, 0))]}, r"Expected metal inside the body"),
    ],
)
def test_bad_realistic_arguments_name_the_value(ct, kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_sequence(ct, **{"n_frames": 2, "detector_shape": (48, 48), **kwargs})
