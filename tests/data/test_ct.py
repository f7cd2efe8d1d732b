import numpy as np
import pytest

from xinpaint.data import CTVolume, fetch_example_ct, load_ct
from xinpaint.data import ct as ct_module


def test_example_ct_is_the_documented_volume(ct):
    assert ct.shape == (512, 512, 133)
    assert ct.spacing == pytest.approx((0.703125, 0.703125, 2.5))
    assert ct.labels.shape == ct.shape
    assert ct.label_groups["ribs"] == list(range(92, 116))
    assert ct.mask_of("ribs").any()
    assert -1100 < float(np.median(ct.hu)) < 100


def test_fetch_reads_the_cache_without_network(ct, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("pip was called although the cache is filled")

    monkeypatch.setattr(ct_module.subprocess, "run", no_network)
    again = fetch_example_ct()
    np.testing.assert_array_equal(again.hu[::64, ::64], ct.hu[::64, ::64])


def test_fetch_failure_is_clear(tmp_path, monkeypatch):
    class Failed:
        returncode, stderr = 1, "ERROR: network is unreachable"

    monkeypatch.setattr(ct_module.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(RuntimeError, match="Could not download the example CT"):
        fetch_example_ct(tmp_path)
    assert not (tmp_path / "example-ct").exists()


def test_load_ct_nifti_round_trip(tmp_path):
    import nibabel as nib

    hu = np.random.default_rng(0).normal(0, 300, (8, 9, 10)).astype(np.float32)
    nib.save(nib.Nifti1Image(hu, np.diag([0.5, 0.5, 2.0, 1.0])), tmp_path / "ct.nii.gz")
    volume = load_ct(tmp_path / "ct.nii.gz")
    np.testing.assert_allclose(volume.hu, hu)
    assert volume.spacing == (0.5, 0.5, 2.0)


def test_load_ct_dicom_series(tmp_path):
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(1)
    stored = rng.integers(0, 2000, (4, 6, 5)).astype(np.uint16)  # (slices, rows, cols)
    for k in (2, 0, 3, 1):  # written out of order
        ds = pydicom.Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
        ds.Rows, ds.Columns = 6, 5
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelSpacing = [0.8, 0.7]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0, 0, 3.0 * k]
        ds.PixelData = stored[k].tobytes()
        ds.save_as(tmp_path / f"slice{k}.dcm", enforce_file_format=True)
    volume = load_ct(tmp_path)
    assert volume.shape == (5, 6, 4) and volume.spacing == (0.7, 0.8, 3.0)
    np.testing.assert_array_equal(volume.hu[:, :, 2], stored[2].T.astype(np.float32) - 1024)


@pytest.mark.parametrize(
    "hu,spacing,match",
    [
        (np.zeros((4, 4)), (1, 1, 1), r"Expected a 3D CT volume. Received hu.shape=\(4, 4\)"),
        (np.full((4, 4, 4), np.nan), (1, 1, 1), r"Received hu with NaN"),
        (np.zeros((4, 4, 4)), (1, 0, 1), r"Received spacing=\(1, 0, 1\)"),
    ],
)
def test_bad_ct_names_the_argument(hu, spacing, match):
    with pytest.raises(ValueError, match=match):
        CTVolume(hu, spacing)


def test_missing_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Received|path='.*nothing.nii'"):
        load_ct(tmp_path / "nothing.nii")
