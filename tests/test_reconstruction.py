"""FDK reconstruction (xinpaint.reconstruction): HU scale, orientation, phantoms, geometry files."""

import numpy as np
import pytest

from xinpaint.data import CArmGeometry
from xinpaint.data.projection import LINE_INTEGRAL_SCALE, MU_WATER, forward_project, volume_image
from xinpaint.reconstruction import (
    Ellipsoid,
    ReconstructedVolume,
    backproject_holes,
    draw_ellipsoids,
    fdk,
    project_ellipsoids,
    read_geometry,
    scan_geometry,
    write_geometry,
)

N, SPACING = 64, 2.5  # 64³ voxels of 2.5 mm: the 160 mm field of view at the isocentre


@pytest.fixture(scope="module")
def geometry():
    """A 200° short scan (fan angle 12.1°) of 120 frames of 128²."""
    return CArmGeometry(detector_shape=(128, 128), n_frames=120, arc_degrees=200.0,
                        start_degrees=-100.0)


def _grid(shape=(N, N, N), spacing=(SPACING,) * 3):
    """Voxel-centre coordinates (mm from the volume's centre), CT order [x, y, z]."""
    return np.meshgrid(*[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)],
                       indexing="ij")


def _frames(mu_xyz, geometry, spacing=(SPACING,) * 3):
    """Frames of a voxelised volume, as simulate_sequence makes them (rows flipped)."""
    return (forward_project(volume_image(mu_xyz, spacing), geometry) / LINE_INTEGRAL_SCALE)[:, ::-1]


def test_water_cylinder_is_water_within_2_percent(geometry):
    x, y, z = _grid()
    cylinder = ((x**2 + y**2 < 50**2) & (np.abs(z) < 40)).astype(np.float32) * MU_WATER
    volume = fdk(_frames(cylinder, geometry), geometry, voxels=N, spacing_mm=SPACING)
    assert isinstance(volume, ReconstructedVolume)
    assert volume.hu.shape == (N, N, N) and volume.hu.dtype == np.float32
    central = (x**2 + y**2 < 40**2) & (np.abs(z) < 20)
    assert abs(float(volume.hu[central].mean())) < 5.0
    assert float(np.abs(volume.hu[central]).max()) < 20.0  # |mu / mu_water - 1| < 2 %
    outside = x**2 + y**2 > 60**2
    assert abs(float(np.median(volume.hu[outside])) + 1000.0) < 20.0  # air


def test_mu_water_and_scale_set_the_hu(geometry):
    x, y, z = _grid()
    cylinder = ((x**2 + y**2 < 50**2) & (np.abs(z) < 40)).astype(np.float32) * 0.03
    frames = _frames(cylinder, geometry)
    central = (x**2 + y**2 < 30**2) & (np.abs(z) < 15)
    as_water = fdk(frames, geometry, voxels=N, spacing_mm=SPACING, mu_water=0.03)
    assert abs(float(as_water.hu[central].mean())) < 10.0
    halved = fdk(frames * 2, geometry, voxels=N, spacing_mm=SPACING, mu_water=0.03, scale=5.0)
    np.testing.assert_allclose(halved.hu, as_water.hu, atol=0.5)


def test_orientation_of_an_off_centre_ball(geometry):
    """A ball off the centre along every axis comes back where it was ([x, y, z] order)."""
    shape, spacing = (64, 48, 40), (2.5, 2.5, 3.0)
    idx = np.indices(shape)
    where = np.array([40.0, 15.0, 28.0])  # voxel indices; the centre is (31.5, 23.5, 19.5)
    ball = sum(((idx[k] - where[k]) * spacing[k]) ** 2 for k in range(3)) < 10.0**2
    mu = (ball * 2 * MU_WATER).astype(np.float32)
    volume = fdk(_frames(mu, geometry, spacing), geometry, voxels=shape, spacing_mm=spacing)
    excess = np.clip(volume.hu, 0, None)
    centre = [float((excess * idx[k]).sum() / excess.sum()) for k in range(3)]
    np.testing.assert_allclose(centre, where, atol=0.3)
    assert float(np.median(volume.hu[ball])) > 800  # 1000 HU, blurred at its rim
    np.testing.assert_allclose(volume.origin_mm, [-(n - 1) * s / 2 for n, s in zip(shape, spacing, strict=True)])


def test_centre_mm_moves_the_grid(geometry):
    x, y, z = _grid()
    ball = ((x - 20) ** 2 + (y + 10) ** 2 + (z - 5) ** 2 < 12**2).astype(np.float32) * MU_WATER
    frames = _frames(ball, geometry)
    whole = fdk(frames, geometry, voxels=N, spacing_mm=SPACING)
    # a 16³ block centred on the ball: the same voxels as the whole volume's, 8 voxels off
    i0 = [round((c - o) / SPACING) - 8 for c, o in zip((20.0, -10.0, 5.0), whole.origin_mm, strict=True)]
    centre = [o + (i + 7.5) * SPACING for o, i in zip(whole.origin_mm, i0, strict=True)]
    block = fdk(frames, geometry, voxels=16, spacing_mm=SPACING, centre_mm=centre)
    expected = whole.hu[i0[0]:i0[0] + 16, i0[1]:i0[1] + 16, i0[2]:i0[2] + 16]
    np.testing.assert_allclose(block.hu, expected, atol=1.0)


ELLIPSOIDS = [
    Ellipsoid.of_hu((0, 0, 0), (65, 50, 60), 0.0),  # water body
    Ellipsoid((25, -5, 10), (12, 14, 30), 0.02),    # +1000 HU: bone
    Ellipsoid((-25, 15, -15), (10, 10, 10), -0.01),  # -500 HU: lung-like
    Ellipsoid((-5, 25, 20), (6, 6, 12), 0.01),
]


def test_draw_ellipsoids_matches_numpy():
    shape, spacing = (40, 36, 32), (4.0, 4.0, 4.5)
    drawn = draw_ellipsoids(ELLIPSOIDS, voxels=shape, spacing_mm=spacing)
    coords = _grid(shape, spacing)
    mu = np.zeros(shape)
    for e in ELLIPSOIDS:
        mu[sum(((coords[k] - e.centre_mm[k]) / e.axes_mm[k]) ** 2 for k in range(3)) <= 1] += e.mu
    np.testing.assert_allclose(drawn.hu, 1000 * (mu / MU_WATER - 1), atol=1e-2)


def test_ellipsoid_phantom_reconstructs_above_28_db(geometry):
    # the body alone: its longest chord at gantry angle 0 (beam along y) is 2 × 50 mm of water
    body = project_ellipsoids(ELLIPSOIDS[:1], CArmGeometry(detector_shape=(128, 128), n_frames=1))
    assert float(body.max()) * LINE_INTEGRAL_SCALE == pytest.approx(100 * MU_WATER, rel=1e-3)
    frames = project_ellipsoids(ELLIPSOIDS, geometry)
    reference = draw_ellipsoids(ELLIPSOIDS, voxels=N, spacing_mm=SPACING)
    volume = fdk(frames, geometry, voxels=N, spacing_mm=SPACING)
    body = reference.hu > -999
    a, b = np.clip(volume.hu, -1000, 2000), np.clip(reference.hu, -1000, 2000)
    psnr = 10 * np.log10(3000**2 / np.mean((a - b)[body] ** 2))
    assert psnr > 28.0  # 30.7 dB measured (the error is the rims: voxel centres vs blur)
    sharp = fdk(frames, geometry, voxels=N, spacing_mm=SPACING, hann_cut=0.0)
    assert 10 * np.log10(3000**2 / np.mean((np.clip(sharp.hu, -1000, 2000) - b)[body] ** 2)) > psnr


def test_forward_project_takes_a_scan_geometry(geometry):
    x, y, z = _grid()
    ball = ((x - 10) ** 2 + y**2 + (z + 20) ** 2 < 15**2).astype(np.float32) * MU_WATER
    image = volume_image(ball, (SPACING,) * 3)
    scan = scan_geometry(geometry.rtk_geometry(), detector_shape=geometry.detector_shape,
                         pitch_mm=geometry.pitch)
    np.testing.assert_allclose(forward_project(image, scan), forward_project(image, geometry), atol=1e-5)
    assert scan.arc_degrees == pytest.approx(200.0)
    assert scan.fan_angle_degrees == pytest.approx(2 * np.degrees(np.arctan(63.5 * 2 / 1200)))


def test_geometry_xml_round_trip(geometry, tmp_path):
    path = write_geometry(geometry, tmp_path / "geometry.xml")
    read = read_geometry(path)
    np.testing.assert_allclose(np.degrees(read.GetGantryAngles()), geometry.angles % 360, atol=1e-6)
    np.testing.assert_allclose(read.GetSourceToIsocenterDistances(), geometry.sid)
    np.testing.assert_allclose(read.GetSourceToDetectorDistances(), geometry.sdd)
    frames = project_ellipsoids(ELLIPSOIDS[:2], geometry)
    from_file = fdk(frames, path, pitch_mm=geometry.pitch, voxels=32, spacing_mm=5.0)
    from_carm = fdk(frames, geometry, voxels=32, spacing_mm=5.0)
    np.testing.assert_allclose(from_file.hu, from_carm.hu, atol=1e-3)


def test_backproject_holes_counts_frames(geometry):
    scan = scan_geometry(geometry)
    holes = np.ones((geometry.n_frames, *geometry.detector_shape), bool)
    fraction = backproject_holes(holes, scan, (16, 16, 16), (5.0, 5.0, 5.0))
    assert fraction.shape == (16, 16, 16)
    assert float(fraction[8, 8, 8]) == pytest.approx(1.0)


def test_save_nifti_keeps_the_grid(geometry, tmp_path):
    nib = pytest.importorskip("nibabel")
    volume = ReconstructedVolume(np.arange(24, dtype=np.float32).reshape(2, 3, 4), (1.0, 2.0, 3.0),
                                 (-0.5, -2.0, -4.5))
    path = volume.save(tmp_path / "v.nii.gz")
    image = nib.load(path)
    np.testing.assert_array_equal(np.asarray(image.dataobj), volume.hu)
    np.testing.assert_allclose(image.affine[:3, 3], volume.origin_mm)
    np.testing.assert_allclose(image.header.get_zooms(), volume.spacing_mm)
    with pytest.raises(FileExistsError, match="overwrite"):
        volume.save(path)
    with pytest.raises(ValueError, match=r"\.nii, \.nii\.gz or \.npy"):
        volume.save(tmp_path / "v.tif")


def test_errors(geometry, tmp_path):
    frames = np.zeros((geometry.n_frames, *geometry.detector_shape), np.float32)
    with pytest.raises(ValueError, match=r"one frame per projection of the geometry \(120\). "
                                         r"Received frames.shape=\(119, 128, 128\)"):
        fdk(frames[:-1], geometry)
    with pytest.raises(ValueError, match=r"detector shape \(128, 128\). Received frames of shape \(128, 120\)"):
        fdk(frames[:, :, :120], geometry)
    with pytest.raises(ValueError, match=r"shape \(T, H, W\)"):
        fdk(frames[0], geometry)
    bad = tmp_path / "bad.xml"
    bad.write_text("<not a geometry")
    with pytest.raises(ValueError, match=r"RTK could not read the geometry file .*bad\.xml"):
        fdk(frames, bad, pitch_mm=1.0)
    with pytest.raises(FileNotFoundError, match=r"missing\.xml"):
        read_geometry(tmp_path / "missing.xml")
    with pytest.raises(ValueError, match=r"pass pitch_mm .* Received pitch_mm=None"):
        fdk(frames, geometry.rtk_geometry())
    short = CArmGeometry(detector_shape=(128, 128), n_frames=120, arc_degrees=64.0)
    with pytest.raises(ValueError, match=r"180° \+ the fan angle \(12\.1°\) = 192\.1° .* "
                                         r"Received an arc of 64\.0°"):
        fdk(frames, short)
    assert fdk(frames, short, short_scan=False, voxels=8, spacing_mm=20.0).hu.shape == (8, 8, 8)
    with pytest.raises(ValueError, match=r"hann_cut in \[0, 1\].*Received hann_cut=1.5"):
        fdk(frames, geometry, hann_cut=1.5)
    with pytest.raises(ValueError, match=r"Expected voxels .* Received voxels=\(64, 64\)"):
        fdk(frames, geometry, voxels=(64, 64))
    with pytest.raises(ValueError, match=r"whole numbers of voxels. Received voxels=32.5"):
        fdk(frames, geometry, voxels=32.5)
    with pytest.raises(ValueError, match=r"positive mu_water. Received mu_water=0"):
        fdk(frames, geometry, mu_water=0)
    frames[3, 4, 5] = np.nan
    with pytest.raises(ValueError, match="finite frames"):
        fdk(frames, geometry)


def test_cli_reconstruct(geometry, tmp_path, capsys):
    nib = pytest.importorskip("nibabel")
    from xinpaint.cli import main

    frames = project_ellipsoids(ELLIPSOIDS[:2], geometry)
    np.save(tmp_path / "frames.npy", frames)
    xml = write_geometry(geometry, tmp_path / "geometry.xml")
    out = tmp_path / "volume.nii.gz"
    args = ["reconstruct", str(tmp_path / "frames.npy"), "--geometry", str(xml), "--pitch",
            str(geometry.pitch), "--voxels", "32", "32", "32", "--spacing", "5", "-o", str(out)]
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    image = nib.load(out)
    expected = fdk(frames, geometry, voxels=32, spacing_mm=5.0)
    np.testing.assert_allclose(np.asarray(image.dataobj), expected.hu, atol=1e-3)
    np.testing.assert_allclose(image.affine, expected.affine())

    def fails(argv, message):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err

    fails(args, "output exists (pass --overwrite")
    fails([*args[:4], *args[6:-1], str(tmp_path / "v2.nii.gz")], "pass --pitch MM")
    (tmp_path / "bad.xml").write_text("nonsense")
    fails([*args[:3], str(tmp_path / "bad.xml"), *args[4:-1], str(tmp_path / "v3.nii")],
          "geometry: RTK could not read the geometry file")
    np.save(tmp_path / "short.npy", frames[:-1])
    fails(["reconstruct", str(tmp_path / "short.npy"), *args[2:-1], str(tmp_path / "v4.nii")],
          "one frame per projection of the geometry (120)")
    fails([*args[:-1], str(tmp_path / "v5.tif")], "expected a name ending in .nii, .nii.gz or .npy")
