"""The ``xinpaint`` command line (also ``python -m xinpaint``).

Sub-commands
------------
``xinpaint --version``
    The package version.
``xinpaint info``
    Versions of the main dependencies, the visible devices, and the profile that
    ``make reproduce`` would choose on this machine.
``xinpaint inpaint INPUT (--holes MASK | --metal-threshold T) [--model M] -o OUTPUT``
    Inpaint an image or a sequence (TIFF, PNG, NPY, DICOM, NIfTI), keeping its dtype,
    value range and metadata; visible pixels are never changed.
``xinpaint models``
    The classical methods and the trained models shipped with the package.

Bad input (an unreadable file, shapes that differ, an empty mask or one that hides a
whole frame, an unknown model, an existing output without ``--overwrite``) ends with
exit code 2 and one line on standard error; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys

from xinpaint._version import __version__

__all__ = ["main"]


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit code 2."""


def _cmd_info(args) -> int:
    from xinpaint.chapter import quiet_tensorflow

    quiet_tensorflow()
    from xinpaint.profiles import default_profile
    from xinpaint.system import cpu_model, package_versions, visible_gpus

    gpus = visible_gpus()
    info = {
        "xinpaint": __version__,
        "versions": package_versions(),
        "cpu": cpu_model(),
        "gpus": gpus,
        "profile": default_profile(),
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"xinpaint {__version__}")
    print("versions:")
    for name, version in info["versions"].items():
        print(f"  {name:<24} {version or 'not installed'}")
    print(f"cpu:     {info['cpu']}")
    print(f"gpus:    {', '.join(gpus) if gpus else 'none visible to TensorFlow'}")
    print(f"profile: {info['profile']} (what `make reproduce` would use here)")
    return 0


def _read(path, what):
    from xinpaint.io import read_image

    try:
        return read_image(path)
    except (FileNotFoundError, ValueError) as err:
        raise UsageError(f"{what}: {err}") from None


def segment_metal(frames, threshold: float, *, below: bool = False, dilate: int = 1):
    """Holes from a threshold on the raw image: metal is ``frames >= threshold``.

    In line-integral (log-converted) projections metal is the brightest material;
    in raw intensity images it is the darkest: pass ``below=True`` to take
    ``frames <= threshold``. The mask is dilated by ``dilate`` pixels in each frame to
    cover the partial-volume rim of the metal.
    """
    import numpy as np
    import scipy.ndimage as ndi

    frames = np.asarray(frames)
    holes = frames <= threshold if below else frames >= threshold
    if dilate > 0:
        structure = np.zeros((3,) * frames.ndim, bool)
        structure[(1,) * (frames.ndim - 2) + (slice(None), slice(None))] = True
        holes = ndi.binary_dilation(holes, structure=structure, iterations=dilate)
    return holes


def _cmd_inpaint(args) -> int:
    import warnings
    from pathlib import Path

    import numpy as np

    from xinpaint.io import detect_format, write_image

    output = Path(args.output)
    try:
        detect_format(output)
    except ValueError as err:
        raise UsageError(f"output: {err}") from None
    if output.exists() and not args.overwrite:
        raise UsageError(f"output exists (pass --overwrite to replace it): {output}")
    image = _read(args.input, "input")
    frames = image.data
    if args.holes:
        mask = _read(args.holes, "holes").data
        if mask.shape != frames.shape:
            raise UsageError(f"holes: shape {mask.shape} differs from the input's {frames.shape}")
        holes = mask.astype(bool)
    else:
        holes = segment_metal(frames, args.metal_threshold, below=args.metal_below,
                              dilate=args.dilate)
    if not holes.any():
        raise UsageError("holes: the mask is empty, there is nothing to inpaint")
    stack = holes.reshape((-1, *holes.shape[-2:]))
    full = np.flatnonzero(stack.all(axis=(1, 2)))
    if full.size:
        raise UsageError(f"holes: the mask hides every pixel of frame {int(full[0])}")
    if args.device == "cpu":
        import os

        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    from xinpaint.chapter import quiet_tensorflow
    from xinpaint.inference import inpaint

    if args.model not in _classical():
        quiet_tensorflow()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = inpaint(frames, holes, model=args.model, tile=args.tile,
                             progress=frames.ndim == 3 and not args.quiet)
    except ValueError as err:
        raise UsageError(str(err)) from None
    write_image(output, result, like=image, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {output} ({result.shape}, {result.dtype}, {int(holes.sum())} pixels "
              f"inpainted with {args.model})")
    return 0


def _classical():
    from xinpaint.baselines import METHODS

    return METHODS


def _cmd_models(args) -> int:
    from xinpaint.inference import shipped_models

    print("classical methods: " + ", ".join(_classical()))
    models = shipped_models()
    if not models:
        print("trained models: none shipped yet (any .keras file can be passed to --model)")
        return 0
    print("trained models:")
    for name, card in models.items():
        score = card.get("test", {}).get("hole_psnr")
        extra = f", test hole PSNR {score:.1f} dB" if isinstance(score, (int, float)) else ""
        print(f"  {name:<24} {card.get('kind', '?')}, profile {card.get('profile', '?')}{extra}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xinpaint",
        description="Inpainting of metal in X-ray image sequences.",
    )
    parser.add_argument("--version", action="version", version=f"xinpaint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="versions, visible devices, the profile chosen here")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("inpaint", help="inpaint an image or a sequence file")
    p.add_argument("input", help="TIFF, PNG, NPY, DICOM or NIfTI image or sequence")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--holes", help="mask file of the same shape, non-zero where metal hides")
    source.add_argument("--metal-threshold", type=float,
                        help="segment metal as pixels >= T (in the input's units)")
    p.add_argument("--metal-below", action="store_true",
                   help="with --metal-threshold: metal is dark (pixels <= T), as in raw images")
    p.add_argument("--dilate", type=int, default=1,
                   help="with --metal-threshold: dilate the metal by N pixels (default 1)")
    p.add_argument("--model", default="biharmonic",
                   help="classical method, shipped model name or .keras file (see `xinpaint models`)")
    p.add_argument("-o", "--output", required=True, help="output file; its suffix sets the format")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--device", choices=("cpu", "gpu"), default="gpu",
                   help="cpu hides the GPUs; gpu uses one where TensorFlow sees it")
    p.add_argument("--tile", type=int, default=256, help="tile size for models (default 256)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=_cmd_inpaint)

    p = sub.add_parser("models", help="list the classical methods and the shipped models")
    p.set_defaults(func=_cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: usage errors exit 2, --help/--version exit 0
        return int(exit_.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as err:
        print(f"xinpaint: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
