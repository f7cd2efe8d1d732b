"""Analytic path lengths of metal parts, and the traces they make on a C-arm's frames."""

import numpy as np
import pytest

from xinpaint.data import CArmGeometry
from xinpaint.data.metal import MetalObject, Part, trace_metal

SOURCE = np.array([0.0, 0.0, -500.0])


def _rays(targets):
    d = np.asarray(targets, float) - SOURCE
    reach = np.linalg.norm(d, axis=1)
    return d / reach[:, None], reach


def test_chords_of_a_ball_a_cylinder_and_a_box():
    d, reach = _rays([[0, 0, 500], [6, 0, 500], [0, 0, 500]])
    ball = Part("ball", (0, 0, 0), (), (5.0,))
    np.testing.assert_allclose(ball.chords(SOURCE, d[:1], reach[:1]), [10.0], rtol=1e-12)
    # A ray at distance b from the centre: 2 sqrt(r² - b²) (b from the exact geometry).
    b = np.linalg.norm(np.cross(d[1], -SOURCE))
    np.testing.assert_allclose(ball.chords(SOURCE, d[1:2], reach[1:2]), [2 * np.sqrt(25 - b**2)], rtol=1e-9)
    rod = Part("cylinder", (0, 0, 0), ((0, 1, 0),), (2.0, 40.0))
    np.testing.assert_allclose(rod.chords(SOURCE, d[:1], reach[:1]), [4.0], rtol=1e-12)
    along = Part("cylinder", (0, 0, 0), ((0, 0, 1),), (2.0, 40.0))  # seen end-on
    np.testing.assert_allclose(along.chords(SOURCE, d[:1], reach[:1]), [40.0], rtol=1e-12)
    box = Part("box", (0, 0, 0), ((1, 0, 0), (0, 1, 0), (0, 0, 1)), (50.0, 45.0, 7.0))
    np.testing.assert_allclose(box.chords(SOURCE, d[:1], reach[:1]), [7.0], rtol=1e-12)
    # A ray that stops before the part (reach) crosses nothing.
    np.testing.assert_allclose(box.chords(SOURCE, d[:1], np.array([400.0])), [0.0])


def test_a_subtracted_hole_leaves_no_metal_on_its_axis():
    plate = MetalObject("bone_plate", "titanium", 4.51, (
        Part("box", (0, 0, 0), ((1, 0, 0), (0, 1, 0), (0, 0, 1)), (60.0, 10.0, 2.0)),
        Part("cylinder", (0, 0, 0), ((0, 0, 1),), (1.6, 4.0), sign=-1)))
    geometry = CArmGeometry(detector_shape=(64, 64), n_frames=1, arc_degrees=1.0, start_degrees=0.0,
                            detector_size_mm=64.0)
    (trace,) = trace_metal([plate], geometry, supersample=1)
    image = np.zeros(64 * 64)
    image[trace.pixels] = trace.mean_path()
    image = image.reshape(64, 64)
    centre = image[31:33, 31:33]
    assert centre.max() == 0.0  # the hole
    assert image.max() == pytest.approx(2.0, rel=1e-3)  # the plate's thickness, face on


def test_a_screws_trace_is_its_width_times_the_magnification():
    # A Ti screw of 6 mm diameter along the rotation axis at the isocentre, seen on a detector of
    # 1 mm pixels: 6 × sdd/sid = 9.6 pixels wide, on every frame.
    screw = MetalObject("pedicle_screw", "titanium", 4.51,
                        (Part("cylinder", (0, 0, 0), ((0, 1, 0),), (3.0, 45.0)),))
    geometry = CArmGeometry(detector_shape=(128, 128), n_frames=4, arc_degrees=200.0,
                            detector_size_mm=128.0)
    expected = 6.0 * geometry.magnification / geometry.pitch
    for trace in trace_metal([screw], geometry, supersample=4):
        image = np.zeros(128 * 128)
        image[trace.pixels] = (trace.paths["titanium"] > 0).mean(axis=1)
        row = image.reshape(128, 128)[64]
        assert row.sum() == pytest.approx(expected, abs=0.25)  # covered area
        assert abs((row > 0).sum() - expected) <= 1.5  # touched pixels: ± one at each edge


def test_bulk_fraction_scales_the_path():
    ball = Part("ball", (0, 0, 0), (), (4.0,))
    dense = MetalObject("coil", "platinum", 21.45, (ball,))
    packed = MetalObject("coil", "platinum", 0.3 * 21.45, (ball,))
    geometry = CArmGeometry(detector_shape=(32, 32), n_frames=1, arc_degrees=1.0, detector_size_mm=32.0)
    (a,), (b,) = trace_metal([dense], geometry), trace_metal([packed], geometry)
    np.testing.assert_allclose(b.paths["platinum"], 0.3 * a.paths["platinum"], rtol=1e-12)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: MetalObject("x", "gold", 19.3, (Part("ball", (0, 0, 0), (), (1.0,)),)), r"Received material='gold'"),
        (lambda: MetalObject("x", "steel", 0.0, (Part("ball", (0, 0, 0), (), (1.0,)),)), r"Received density=0.0"),
        (lambda: Part("cone", (0, 0, 0)), r"Received shape='cone'"),
        (lambda: Part("cylinder", (0, 0, 0), ((0, 0, 1),), (1.0,)), r"Received axes="),
        (lambda: trace_metal([], CArmGeometry(), supersample=0), r"Received supersample=0"),
    ],
)
def test_bad_metal_names_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()
