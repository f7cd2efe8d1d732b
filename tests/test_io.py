"""Reading and writing images and sequences (xinpaint.io)."""

import numpy as np
import pytest

from xinpaint.io import detect_format, read_image, write_image


@pytest.fixture
def sequence(rng):
    return rng.integers(0, 4096, size=(3, 16, 12)).astype(np.uint16)


@pytest.mark.parametrize("name", ["seq.tif", "seq.tiff", "seq.npy", "seq.nii", "seq.nii.gz",
                                  "seq.dcm"])
def test_sequence_round_trip_keeps_values_and_dtype(tmp_path, sequence, name):
    path = write_image(tmp_path / name, sequence)
    back = read_image(path)
    assert back.format == detect_format(path)
    assert back.data.dtype == np.uint16
    np.testing.assert_array_equal(back.data, sequence)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_round_trip(tmp_path, rng, dtype):
    image = rng.integers(0, np.iinfo(dtype).max, size=(9, 7)).astype(dtype)
    back = read_image(write_image(tmp_path / "f.png", image))
    assert back.data.dtype == dtype
    np.testing.assert_array_equal(back.data, image)


def test_float_npy_and_tiff(tmp_path, rng):
    frames = rng.random((2, 5, 5), dtype=np.float32)
    for name in ("f.npy", "f.tif"):
        back = read_image(write_image(tmp_path / name, frames))
        assert back.data.dtype == np.float32
        np.testing.assert_array_equal(back.data, frames)


def test_dicom_output_keeps_the_input_metadata(tmp_path, sequence):
    src = read_image(write_image(tmp_path / "in.dcm", sequence))
    src.meta["dataset"].PatientName = "Phantom^Chest"
    src.meta["dataset"].Modality = "XA"
    out = read_image(write_image(tmp_path / "out.dcm", sequence[:, ::-1], like=src))
    ds = out.meta["dataset"]
    assert ds.PatientName == "Phantom^Chest" and ds.Modality == "XA"
    assert int(ds.NumberOfFrames) == 3
    assert ds.SOPInstanceUID != src.meta["dataset"].SOPInstanceUID
    assert "xinpaint" in ds.DerivationDescription
    np.testing.assert_array_equal(out.data, sequence[:, ::-1])


def test_nifti_output_keeps_header_and_affine(tmp_path, sequence):
    import nibabel as nib

    affine = np.diag([0.5, 0.5, 2.0, 1.0])
    nib.save(nib.Nifti1Image(sequence.T, affine), tmp_path / "in.nii.gz")
    src = read_image(tmp_path / "in.nii.gz")
    np.testing.assert_array_equal(src.data, sequence)
    write_image(tmp_path / "out.nii.gz", sequence + 1, like=src)
    out = nib.load(tmp_path / "out.nii.gz")
    np.testing.assert_array_equal(out.affine, affine)
    np.testing.assert_array_equal(np.asanyarray(out.dataobj).T, sequence + 1)


def test_existing_output_is_not_overwritten(tmp_path, sequence):
    path = write_image(tmp_path / "a.npy", sequence)
    with pytest.raises(FileExistsError, match=r"overwrite=True.*Received path='.*a\.npy'"):
        write_image(path, sequence * 0)
    np.testing.assert_array_equal(np.load(path), sequence)
    write_image(path, sequence * 0, overwrite=True)
    assert np.load(path).max() == 0


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"PNG holds one grey image.*dtype=float32"):
        write_image(tmp_path / "x.png", np.zeros((4, 4), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Received|No such file: path='.*nope\.tif'"):
        read_image(tmp_path / "nope.tif")


def test_unreadable_file_is_a_clear_value_error(tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"this is not a tiff")
    with pytest.raises(ValueError, match=r"Could not read the file as tiff.*broken\.tif"):
        read_image(bad)
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match=r"Could not read the file as dicom"):
        read_image(bad)


def test_unsupported_suffix_names_the_path(tmp_path):
    with pytest.raises(ValueError, match=r"Unsupported file format.*Received path='.*\.jpg'"):
        detect_format(tmp_path / "photo.jpg")


def test_colour_or_4d_input_is_refused(tmp_path):
    np.save(tmp_path / "rgb.npy", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r"colour channels.*shape \(32, 32, 3\)"):
        read_image(tmp_path / "rgb.npy")
    np.save(tmp_path / "4d.npy", np.zeros((2, 2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"Expected an image \(H, W\) or a sequence"):
        read_image(tmp_path / "4d.npy")
