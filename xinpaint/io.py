"""Read and write X-ray images and sequences in the formats researchers have.

Formats (chosen by the file name):

========  ==========================  ==========================================
format    suffixes                    arrays
========  ==========================  ==========================================
TIFF      ``.tif``, ``.tiff``         one page (H, W) or several (T, H, W)
PNG       ``.png``                    (H, W), 8 or 16 bits grey
NumPy     ``.npy``                    (H, W) or (T, H, W), any real dtype
DICOM     ``.dcm``, ``.dicom``, none  single frame (H, W) or multi-frame (T, H, W),
                                      e.g. XA cine loops; stored values, no rescale
NIfTI     ``.nii``, ``.nii.gz``       2D (x, y) or 3D (x, y, t): returned as
                                      (H, W) or (T, H, W), i.e. transposed
========  ==========================  ==========================================

:func:`read_image` returns an :class:`ImageFile` holding the array in its stored
dtype (uint16 stays uint16) and what is needed to write a result back in the same
format with the same metadata (:func:`write_image` with ``like=``): the DICOM data
set (a new SOP Instance UID and a derivation description are set, all else is
kept), the NIfTI header and affine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["FORMATS", "ImageFile", "detect_format", "read_image", "write_image"]

FORMATS = ("tiff", "png", "npy", "dicom", "nifti")


@dataclass
class ImageFile:
    """An image or sequence read from disk.

    Attributes
    ----------
    data : numpy.ndarray
        (H, W) or (T, H, W), in the stored dtype.
    format : str
        One of :data:`FORMATS`.
    path : Path
        Where it was read from.
    meta : dict
        Format-specific: ``dataset`` (pydicom), ``header`` and ``affine`` (NIfTI).
    """

    data: np.ndarray
    format: str
    path: Path
    meta: dict = field(default_factory=dict)


def detect_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its name (and the DICOM preamble for names without suffix).

    Raises
    ------
    ValueError
        If the suffix is not one of the supported formats.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".tif", ".tiff")):
        return "tiff"
    if name.endswith(".png"):
        return "png"
    if name.endswith(".npy"):
        return "npy"
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if name.endswith((".dcm", ".dicom")) or "." not in name:
        return "dicom"
    raise ValueError(
        "Unsupported file format: expected a name ending in .tif, .tiff, .png, .npy, .dcm, "
        f".nii or .nii.gz (or a DICOM file without suffix). Received path={str(path)!r}."
    )


def _check_array(data: np.ndarray, path: Path) -> np.ndarray:
    data = np.asarray(data)
    if data.ndim == 3 and data.shape[-1] in (3, 4) and data.shape[0] > 4:
        raise ValueError(
            "Expected a grey-scale image or sequence, got colour channels. "
            f"Received an array of shape {data.shape} from path={str(path)!r}."
        )
    if data.ndim not in (2, 3):
        raise ValueError(
            "Expected an image (H, W) or a sequence (T, H, W). "
            f"Received an array of shape {data.shape} from path={str(path)!r}."
        )
    if not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)
            or data.dtype == bool):
        raise ValueError(f"Expected real numbers. Received dtype={data.dtype} from "
                         f"path={str(path)!r}.")
    return data


def read_image(path: str | os.PathLike) -> ImageFile:
    """Read an image (H, W) or a sequence (T, H, W) from a file.

    Parameters
    ----------
    path : path-like
        A TIFF, PNG, NPY, DICOM or NIfTI file.

    Returns
    -------
    ImageFile

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be read as its format, or holds no grey image or sequence.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> path = Path(tempfile.mkdtemp()) / "frames.npy"
    >>> np.save(path, np.zeros((4, 8, 8), np.uint16))
    >>> read_image(path).data.shape
    (4, 8, 8)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: path={str(path)!r}.")
    if path.is_dir():
        raise ValueError(f"Expected a file, got a folder. Received path={str(path)!r}.")
    fmt = detect_format(path)
    meta: dict = {}
    try:
        if fmt == "tiff":
            import tifffile

            data = tifffile.imread(path)
        elif fmt == "png":
            from PIL import Image

            with Image.open(path) as img:
                if img.mode not in ("L", "I;16", "I;16B", "I", "1"):
                    img = img.convert("L")
                data = np.array(img)
            if data.dtype == np.int32 and data.min() >= 0 and data.max() < 2**16:
                data = data.astype(np.uint16)
        elif fmt == "npy":
            data = np.load(path, allow_pickle=False)
        elif fmt == "dicom":
            import pydicom

            dataset = pydicom.dcmread(path)
            data = dataset.pixel_array
            meta["dataset"] = dataset
        else:  # nifti
            import nibabel as nib

            image = nib.load(path)
            stored = np.asanyarray(image.dataobj)
            data = np.squeeze(stored).T  # (x, y[, t]) -> ([t,] y, x)
            meta.update(header=image.header.copy(), affine=image.affine.copy(),
                        stored_shape=stored.shape)
    except (OSError, ValueError, EOFError, KeyError, AttributeError, TypeError) as err:
        raise ValueError(f"Could not read the file as {fmt}: {err}. "
                         f"Received path={str(path)!r}.") from None
    except Exception as err:  # pydicom / tifffile raise their own exception types
        raise ValueError(f"Could not read the file as {fmt}: {type(err).__name__}: {err}. "
                         f"Received path={str(path)!r}.") from None
    return ImageFile(_check_array(data, path), fmt, path, meta)


def write_image(
    path: str | os.PathLike,
    data: np.ndarray,
    *,
    like: ImageFile | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an image or sequence, in the format given by ``path``'s name.

    Parameters
    ----------
    path : path-like
        Output file; its suffix chooses the format.
    data : numpy.ndarray
        (H, W) or (T, H, W), written in its dtype (PNG takes uint8 or uint16).
    like : ImageFile, optional
        The input this result derives from: its DICOM data set or NIfTI header and
        affine are reused, so the output keeps the input's metadata.
    overwrite : bool, optional
        Replace an existing file; without it an existing ``path`` is an error.

    Returns
    -------
    Path
        The written file. It is written to a temporary name first and renamed, so a
        failure never leaves a partial file at ``path``.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If ``data`` cannot be stored in that format.
    """
    path = Path(path)
    fmt = detect_format(path)
    data = _check_array(np.asarray(data), path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"The output exists; pass overwrite=True to replace it. "
                              f"Received path={str(path)!r}.")
    tmp = path.with_name(f".{path.name}.part")
    if fmt == "nifti":
        tmp = path.with_name(f".part-{path.name}")  # keep the .nii(.gz) suffix last
    try:
        if fmt == "tiff":
            import tifffile

            tifffile.imwrite(tmp, data, photometric="minisblack")
        elif fmt == "png":
            from PIL import Image

            if data.ndim != 2 or data.dtype not in (np.uint8, np.uint16):
                raise ValueError(
                    "PNG holds one grey image of 8 or 16 bits. Received data of shape "
                    f"{data.shape} and dtype={data.dtype}; use TIFF or NPY for sequences "
                    "and floats."
                )
            Image.fromarray(data).save(tmp, format="PNG")
        elif fmt == "npy":
            with open(tmp, "wb") as fh:
                np.save(fh, data)
        elif fmt == "dicom":
            _write_dicom(tmp, data, like)
        else:
            import nibabel as nib

            stored = data.T
            header = affine = None
            if like is not None and like.format == "nifti":
                header, affine = like.meta["header"].copy(), like.meta["affine"]
                if len(like.meta["stored_shape"]) != stored.ndim:
                    stored = stored.reshape(like.meta["stored_shape"])
                header.set_data_dtype(data.dtype)
            nib.save(nib.Nifti1Image(stored, affine if affine is not None else np.eye(4),
                                     header), tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_dicom(path: Path, data: np.ndarray, like: ImageFile | None) -> None:
    import copy

    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    if not np.issubdtype(data.dtype, np.integer) or data.dtype.itemsize > 2:
        raise ValueError(f"DICOM pixels are stored as 8- or 16-bit integers. "
                         f"Received dtype={data.dtype}.")
    if like is not None and like.format == "dicom":
        ds = copy.deepcopy(like.meta["dataset"])
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        derivation = "Metal inpainted by xinpaint"
        ds.DerivationDescription = (
            f"{ds.DerivationDescription}; {derivation}" if "DerivationDescription" in ds
            else derivation
        )
    else:
        ds = pydicom.Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = SecondaryCaptureImageStorage
        ds.Modality = "OT"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelRepresentation = 0 if np.issubdtype(data.dtype, np.unsignedinteger) else 1
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Rows, ds.Columns = data.shape[-2:]
    if data.ndim == 3:
        ds.NumberOfFrames = data.shape[0]
    elif "NumberOfFrames" in ds:
        del ds.NumberOfFrames
    bits = data.dtype.itemsize * 8
    ds.BitsAllocated = bits
    same_dtype = like is not None and like.format == "dicom" and like.data.dtype == data.dtype
    ds.BitsStored = ds.get("BitsStored", bits) if same_dtype else bits
    ds.HighBit = ds.BitsStored - 1
    stored = data.astype(data.dtype.newbyteorder("<"), copy=False)
    ds.PixelData = stored.tobytes()
    ds["PixelData"].VR = "OW" if bits > 8 else "OB"
    ds.save_as(path, enforce_file_format=True)
