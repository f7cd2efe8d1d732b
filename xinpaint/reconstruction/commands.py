"""``xinpaint reconstruct``: a stack of frames and an RTK geometry file to a HU volume.

The parser lives in :mod:`xinpaint.cli`; this module holds the command's work, so the
command line imports RTK only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["add_reconstruct_arguments", "nmar_inpainter", "run_reconstruct"]

_VOLUME_SUFFIXES = (".nii", ".nii.gz", ".npy")


def add_reconstruct_arguments(p) -> None:
    """The arguments of ``xinpaint reconstruct`` on the sub-parser ``p``."""
    p.add_argument("input", help="frames (T, H, W): TIFF, NPY, DICOM or NIfTI of normalised "
                                 "line integrals (line integral / --scale), rows head to feet")
    p.add_argument("--geometry", required=True, help="RTK geometry XML file, one projection per frame")
    p.add_argument("-o", "--output", required=True, help="volume file: .nii, .nii.gz or .npy (HU)")
    p.add_argument("--pitch", type=float,
                   help="detector pixel size in mm (default: the DICOM's Imager Pixel Spacing)")
    p.add_argument("--voxels", type=int, nargs=3, metavar=("NX", "NY", "NZ"),
                   help="volume size (default W W H: the detector's field of view)")
    p.add_argument("--spacing", type=float, help="voxel size in mm (default: field of view / voxels)")
    p.add_argument("--scale", type=float, default=10.0,
                   help="what the line integrals were divided by (default 10)")
    p.add_argument("--mu-water", type=float, default=0.02, help="water's attenuation, 1/mm (default 0.02)")
    p.add_argument("--hann-cut", type=float, default=1.0,
                   help="Hann window of the ramp, cut at this fraction of Nyquist (0: none; default 1)")
    p.add_argument("--no-short-scan", action="store_true",
                   help="no Parker weights (limited-angle scans shorter than 180° + fan angle)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")


def _pitch_from(image) -> float | None:
    dataset = image.meta.get("dataset")
    for keyword in ("ImagerPixelSpacing", "PixelSpacing"):
        value = getattr(dataset, keyword, None) if dataset is not None else None
        if value is not None and len(value) == 2 and float(value[0]) == float(value[1]):
            return float(value[0])
    return None


def run_reconstruct(args, usage_error) -> int:
    """Run ``xinpaint reconstruct``; bad input raises ``usage_error`` (one line, exit code 2)."""
    import numpy as np

    from xinpaint.io import read_image
    from xinpaint.reconstruction import fdk, read_geometry

    output = Path(args.output)
    if not output.name.lower().endswith(_VOLUME_SUFFIXES):
        raise usage_error(f"output: expected a name ending in .nii, .nii.gz or .npy; received {output}")
    if output.exists() and not args.overwrite:
        raise usage_error(f"output exists (pass --overwrite to replace it): {output}")
    try:
        image = read_image(args.input)
    except (FileNotFoundError, ValueError) as err:
        raise usage_error(f"input: {err}") from None
    if image.data.ndim != 3:
        raise usage_error(f"input: expected a stack of frames (T, H, W); received shape {image.data.shape}")
    try:
        geometry = read_geometry(args.geometry)
    except (FileNotFoundError, ValueError) as err:
        raise usage_error(f"geometry: {err}") from None
    pitch = args.pitch if args.pitch is not None else _pitch_from(image)
    if pitch is None:
        raise usage_error("geometry: an RTK geometry file has no detector pixel size; pass --pitch MM")
    try:
        volume = fdk(image.data.astype(np.float32), geometry, pitch_mm=pitch, voxels=args.voxels,
                     spacing_mm=args.spacing, scale=args.scale, mu_water=args.mu_water,
                     hann_cut=args.hann_cut, short_scan=not args.no_short_scan)
    except ValueError as err:
        raise usage_error(str(err)) from None
    volume.save(output, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {output} ({'×'.join(map(str, volume.shape))} voxels of "
              f"{'×'.join(f'{s:.3g}' for s in volume.spacing_mm)} mm, HU, "
              f"from {image.data.shape[0]} frames)")
    return 0


def nmar_inpainter(args, usage_error):
    """For ``xinpaint inpaint --model nmar --geometry XML``: a function with the call of
    :func:`xinpaint.inference.inpaint` that runs NMAR (:func:`xinpaint.baselines.mar.mar`)
    on the input as normalised line integrals (``--scale``, default 10) and returns the
    input's dtype."""
    if not getattr(args, "geometry", None):
        raise usage_error("--model nmar needs the scan geometry: pass --geometry GEOMETRY.xml")

    def inpaint(frames, holes, **_):
        import numpy as np

        from xinpaint.baselines.mar import mar_inpaint
        from xinpaint.reconstruction import read_geometry

        if not np.issubdtype(np.asarray(frames).dtype, np.floating):
            raise usage_error(f"--model nmar takes floating-point line integrals; the input is "
                              f"{np.asarray(frames).dtype}")
        try:
            geometry = read_geometry(args.geometry)
        except (FileNotFoundError, ValueError) as err:
            raise usage_error(f"geometry: {err}") from None
        if args.pitch is None:
            raise usage_error("geometry: an RTK geometry file has no detector pixel size; pass --pitch MM")
        out = mar_inpaint(frames, holes, geometry=geometry, method="nmar", pitch_mm=args.pitch)
        return out.astype(np.asarray(frames).dtype, copy=False)

    return inpaint
