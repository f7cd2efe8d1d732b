"""The ``xinpaint`` command line (also ``python -m xinpaint``).

Sub-commands
------------
``xinpaint --version``
    The package version.
``xinpaint info [--tensorflow]``
    Versions of the main dependencies, the GPUs (from the NVIDIA driver; with
    ``--tensorflow``, those TensorFlow sees), and the profile that ``make reproduce``
    would choose on this machine.
``xinpaint inpaint INPUT (--holes MASK | --metal-threshold T) [--model M] -o OUTPUT [--preview PNG]``
    Inpaint an image or a sequence (TIFF, PNG, NPY, DICOM, NIfTI), keeping its dtype,
    value range and metadata; visible pixels are never changed. ``--preview`` writes
    one picture: the input with its holes outlined, the output and a zoom on the
    largest hole (for a sequence, of the frame with the most hidden pixels).
``xinpaint models``
    The classical methods and the trained models shipped with the package.
``xinpaint simulate -o FRAMES [--holes-output HOLES] [--frames N] [--size S] ...``
    A simulated C-arm sequence of the example CT with metal, and its holes, on disk.
``xinpaint evaluate TRUTH OUTPUT [OUTPUT ...] --holes MASK [--json]``
    MSE, MAE, PSNR and SSIM in the holes and on the whole image, per output file.
``xinpaint reconstruct STACK --geometry GEOMETRY.xml [--pitch MM] -o VOLUME.nii.gz``
    FDK reconstruction (RTK, Parker short-scan weights) of a stack of frames into a
    volume of Hounsfield units (NIfTI or NPY).

Bad input (an unreadable file, shapes that differ, an empty mask or one that hides a
whole frame, an unknown model, an existing output without ``--overwrite``) ends with
exit code 2 and one line on standard error; nothing is written.

Quiet and fast by default: only a command that runs a network imports TensorFlow, and
the log lines that TensorFlow, absl, XLA and oneDNN write to standard error are
discarded, as are Python warnings; ``-v``/``--verbose`` (before or after the command)
shows them all. Progress bars (tqdm) show on sequences and tiled runs only when
standard error is a terminal; ``-q`` turns them off too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from xinpaint._version import __version__

__all__ = ["main"]


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit code 2."""


def _cmd_info(args) -> int:
    from xinpaint.system import cpu_model, driver_gpus, package_versions, visible_gpus

    # TensorFlow takes seconds to import: the driver answers unless TensorFlow is asked.
    seen_by = "tensorflow" if args.tensorflow else "driver"
    gpus = visible_gpus() if args.tensorflow else driver_gpus()
    info = {
        "xinpaint": __version__,
        "versions": package_versions(),
        "cpu": cpu_model(),
        "gpus": gpus,
        "gpus_seen_by": seen_by,
        "profile": "gpu" if gpus else "cpu",  # profiles.default_profile() without the import
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"xinpaint {__version__}")
    print("versions:")
    for name, version in info["versions"].items():
        print(f"  {name:<24} {version or 'not installed'}")
    print(f"cpu:     {info['cpu']}")
    where = "TensorFlow" if args.tensorflow else "the NVIDIA driver"
    print(f"gpus:    {', '.join(gpus) if gpus else 'none'} (seen by {where})")
    caveat = "" if args.tensorflow or not gpus else "; if TensorFlow sees them: --tensorflow checks"
    print(f"profile: {info['profile']} (what `make reproduce` would use here{caveat})")
    return 0


def _read(path, what):
    from xinpaint.io import read_image

    try:
        return read_image(path)
    except (FileNotFoundError, ValueError) as err:
        raise UsageError(f"{what}: {err}") from None


def _read_holes(path, shape, of):
    """A mask file as boolean holes (non-zero where metal hides), of the ``of`` file's shape."""
    mask = _read(path, "holes").data
    if mask.shape != shape:
        raise UsageError(f"holes: shape {mask.shape} differs from the {of}'s {shape}")
    return mask.astype(bool)


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


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _cmd_inpaint(args) -> int:
    import numpy as np

    from xinpaint.io import write_image

    output = _writable(args.output, args.overwrite, "output")
    preview = None
    if args.preview:
        if not args.preview.lower().endswith(".png"):
            raise UsageError(f"preview: expected a name ending in .png; received {args.preview}")
        preview = _writable(args.preview, args.overwrite, "preview")
        if preview.resolve() == output.resolve():
            raise UsageError(f"preview: the preview and the output are one file: {preview}")
    image = _read(args.input, "input")
    frames = image.data
    if args.holes:
        holes = _read_holes(args.holes, frames.shape, "input")
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
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    from xinpaint.inference import inpaint, recommended_model

    if args.model is None:  # the recommended shipped model, else biharmonic
        args.model = recommended_model()
    if args.model == "nmar":  # metal artefact reduction in the projections: needs the scan
        from xinpaint.reconstruction.commands import nmar_inpainter

        inpaint = nmar_inpainter(args, UsageError)
    elif args.model not in _classical():  # a network: TensorFlow, imported quietly
        from xinpaint.chapter import quiet_tensorflow

        quiet_tensorflow()
    try:
        result = inpaint(frames, holes, model=args.model, tile=args.tile,
                         value_range=args.value_range,
                         progress=not args.quiet and _stderr_is_terminal())
    except ValueError as err:
        raise UsageError(str(err)) from None
    if preview is not None:
        from xinpaint.plotting.preview import save_preview

        save_preview(preview, frames, result, holes,
                     title=f"{image.path.name} → {output.name} ({args.model})")
    write_image(output, result, like=image, overwrite=args.overwrite)
    if not args.quiet:
        also = f"; preview {preview}" if preview is not None else ""
        print(f"wrote {output} ({result.shape}, {result.dtype}, {int(holes.sum())} pixels "
              f"inpainted with {args.model}){also}")
    return 0


def _writable(path, overwrite, what):
    from pathlib import Path

    from xinpaint.io import detect_format

    path = Path(path)
    try:
        detect_format(path)
    except ValueError as err:
        raise UsageError(f"{what}: {err}") from None
    if path.exists() and not overwrite:
        raise UsageError(f"{what} exists (pass --overwrite to replace it): {path}")
    return path


def _cmd_simulate(args) -> int:
    from pathlib import Path

    import numpy as np

    output = _writable(args.output, args.overwrite, "output")
    holes_path = args.holes_output or output.with_name(
        output.name.replace("".join(output.suffixes), "") + "-holes" + "".join(output.suffixes))
    holes_path = _writable(holes_path, args.overwrite, "holes output")
    if args.geometry_output and Path(args.geometry_output).exists() and not args.overwrite:
        raise UsageError(f"geometry output exists (pass --overwrite to replace it): {args.geometry_output}")
    if args.frames < 1 or args.size < 16:
        raise UsageError(f"expected --frames >= 1 and --size >= 16; received --frames "
                         f"{args.frames} and --size {args.size}")
    from xinpaint.data import fetch_example_ct, simulate_sequence
    from xinpaint.io import write_image

    try:
        seq = simulate_sequence(fetch_example_ct(), n_frames=args.frames,
                                detector_shape=(args.size, args.size), arc_degrees=args.arc,
                                seed=args.seed, metal_region=args.metal_region, metal=args.metal,
                                physics=args.physics)
    except (ValueError, RuntimeError) as err:
        raise UsageError(str(err)) from None
    write_image(output, seq.observed if args.with_metal else seq.frames, overwrite=args.overwrite)
    write_image(holes_path, seq.holes.astype(np.uint8), overwrite=args.overwrite)
    if args.geometry_output:
        from xinpaint.reconstruction import write_geometry

        write_geometry(seq.geometry, Path(args.geometry_output))
    if not args.quiet:
        print(f"wrote {output} ({seq.frames.shape}, float32 line integrals, {seq.physics} physics"
              f"{', metal drawn in' if args.with_metal else ', the truth under the metal'}) and "
              f"{holes_path} (uint8, 1 where metal hides a pixel, {seq.holes.mean():.2%} of the pixels)")
    return 0


def _cmd_evaluate(args) -> int:
    import numpy as np

    from xinpaint import metrics

    truth = _read(args.truth, "truth").data
    holes = _read_holes(args.holes, truth.shape, "truth")
    if not holes.any():
        raise UsageError("holes: the mask is empty, there are no holes to score")
    if args.data_range is not None:
        data_range = args.data_range
    elif np.issubdtype(truth.dtype, np.integer):
        data_range = float(truth.max()) - float(truth.min()) or 1.0
    else:
        data_range = 1.0
    rows = []
    for path in args.outputs:
        out = _read(path, "output").data
        if out.shape != truth.shape:
            raise UsageError(f"output {path}: shape {out.shape} differs from the truth's {truth.shape}")
        t, o = truth.astype(np.float64), out.astype(np.float64)
        try:
            row = {"output": str(path), "data_range": data_range}
            for name in ("psnr", "ssim", "mae", "mse"):
                fn = getattr(metrics, name)
                row[f"hole_{name}"] = fn(t, o, holes=holes, data_range=data_range)
                row[name] = fn(t, o, data_range=data_range)
        except ValueError as err:
            raise UsageError(f"output {path}: {err}") from None
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'output':<32} {'PSNR holes':>10} {'SSIM holes':>10} {'MAE holes':>10} {'PSNR image':>10}")
    for r in rows:
        print(f"{r['output'][-32:]:<32} {r['hole_psnr']:>10.2f} {r['hole_ssim']:>10.4f} "
              f"{r['hole_mae']:>10.4g} {r['psnr']:>10.2f}")
    return 0


def _classical():
    from xinpaint.baselines import METHODS

    return METHODS


def _cmd_models(args) -> int:
    from xinpaint.inference import earlier_card, recommended_model, shipped_models

    models = shipped_models()
    default = recommended_model(models)
    print("classical methods: " + ", ".join(_classical()))
    if not models:
        print("trained models: none shipped yet (any .keras file can be passed to --model)")
    else:
        print("trained models:")
    for name, card in models.items():
        score = card.get("test", {}).get("hole_psnr")
        extra = f", test hole PSNR {score:.1f} dB" if isinstance(score, (int, float)) else ""
        mark = "  [recommended]" if name == default else ""
        print(f"  {name:<24} {card.get('kind', '?')}, profile {card.get('profile', '?')}{extra}{mark}")
        if card.get("why"):
            print(f"  {'':<24} {card['why']}")
        elif earlier_card(card):
            print(f"  {'':<24} an earlier card (ideal data, before the one footing): its test "
                  "numbers are not comparable with the others'")
    print(f"default of `xinpaint inpaint`: {default}"
          + ("" if default in models else " (no shipped model beats biharmonic and NMAR on the "
                                          "test split in the holes and in the volume)"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xinpaint",
        description="Inpainting of metal in X-ray image sequences.",
    )
    parser.add_argument("--version", action="version", version=f"xinpaint {__version__}")
    verbose_help = "show TensorFlow's, absl's and oneDNN's log lines and Python warnings"
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    # Every command takes -v as well; SUPPRESS keeps a -v given before the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help=verbose_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_command(name, **kwargs):  # a new command: add_command(...), set_defaults(func=...)
        return sub.add_parser(name, parents=[common], **kwargs)

    p = add_command("info", help="versions, visible devices, the profile chosen here")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.add_argument("--tensorflow", action="store_true",
                   help="ask TensorFlow which GPUs it sees (imports it: seconds)")
    p.set_defaults(func=_cmd_info)

    p = add_command("inpaint", help="inpaint an image or a sequence file")
    p.add_argument("input", help="TIFF, PNG, NPY, DICOM or NIfTI image or sequence")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--holes", help="mask file of the same shape, non-zero where metal hides")
    source.add_argument("--metal-threshold", type=float,
                        help="segment metal as pixels >= T (in the input's units)")
    p.add_argument("--metal-below", action="store_true",
                   help="with --metal-threshold: metal is dark (pixels <= T), as in raw images")
    p.add_argument("--dilate", type=int, default=1,
                   help="with --metal-threshold: dilate the metal by N pixels (default 1)")
    p.add_argument("--model", default=None,
                   help="classical method, shipped model name or .keras file (default: the "
                        "recommended model of `xinpaint models`, else biharmonic)")
    p.add_argument("-o", "--output", required=True, help="output file; its suffix sets the format")
    p.add_argument("--preview", metavar="PNG",
                   help="also write a PNG: the input with its holes outlined, the output and a "
                        "zoom on the largest hole (of the frame with the most hidden pixels)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--device", choices=("cpu", "gpu"), default="gpu",
                   help="cpu hides the GPUs; gpu uses one where TensorFlow sees it")
    p.add_argument("--tile", type=int, default=256, help="tile size for models (default 256)")
    p.add_argument("--geometry", help="with --model nmar: the scan's RTK geometry XML file")
    p.add_argument("--pitch", type=float, help="with --model nmar: detector pixel size (mm)")
    p.add_argument("--value-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="values mapped to 0 and 1 for a model (default: min and max of the "
                        "visible pixels; 0 10 for line integrals, the shipped models' scale)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=_cmd_inpaint)

    p = add_command("models", help="list the classical methods and the shipped models")
    p.set_defaults(func=_cmd_models)

    p = add_command("simulate", help="write a simulated sequence of the example CT and its holes")
    p.add_argument("-o", "--output", required=True, help="frames file (TIFF, NPY or NIfTI)")
    p.add_argument("--holes-output", help="holes file (default: OUTPUT with -holes before the suffix)")
    p.add_argument("--frames", type=int, default=16, help="frames in the sequence (default 16)")
    p.add_argument("--size", type=int, default=256, help="detector pixels per side (default 256)")
    p.add_argument("--arc", type=float, default=None,
                   help="degrees covered by the sequence (default: a short scan, 180° + the fan angle)")
    p.add_argument("--physics", choices=("realistic", "ideal"), default="realistic",
                   help="realistic (polychromatic, noisy; default) or ideal (noise-free line integrals)")
    p.add_argument("--metal", default="default",
                   help="a scenario of the metal catalogue (fusion, sternotomy, rib_plate, pacemaker, "
                        "intervention, needles), 'none', or 'default' (one drawn from the seed)")
    p.add_argument("--geometry-output", help="also write the scan's RTK geometry XML here")
    p.add_argument("--seed", type=int, default=0, help="seed of the angles and the metal")
    p.add_argument("--metal-region", choices=("body", "ribs"), default="body",
                   help="where the metal is placed (ribs: across ribs)")
    p.add_argument("--with-metal", action="store_true",
                   help="write the frames with the metal drawn in (as a detector sees them)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    p.set_defaults(func=_cmd_simulate)

    p = add_command("evaluate", help="score inpainted files against the truth in the holes")
    p.add_argument("truth", help="the ground-truth image or sequence")
    p.add_argument("outputs", nargs="+", help="inpainted files of the same shape")
    p.add_argument("--holes", required=True, help="mask file, non-zero where metal hides")
    p.add_argument("--data-range", type=float,
                   help="peak value for PSNR/SSIM (default 1 for float data, the truth's range "
                        "for integer data)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=_cmd_evaluate)

    from xinpaint.reconstruction.commands import add_reconstruct_arguments

    p = add_command("reconstruct", help="FDK-reconstruct a stack of frames into a HU volume")
    add_reconstruct_arguments(p)
    p.set_defaults(func=_cmd_reconstruct)
    return parser


def _cmd_reconstruct(args) -> int:
    from xinpaint.reconstruction.commands import run_reconstruct

    return run_reconstruct(args, UsageError)


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
    with contextlib.ExitStack() as stack:
        if args.verbose:
            from xinpaint.chapter import VERBOSE_ENV

            stack.enter_context(_environ(VERBOSE_ENV, "1"))
        else:
            import warnings

            from xinpaint.chapter import native_stderr_silenced

            stack.enter_context(native_stderr_silenced())
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
        try:
            return int(args.func(args) or 0)
        except UsageError as err:
            print(f"xinpaint: error: {err}", file=sys.stderr)
            return 2


@contextlib.contextmanager
def _environ(name: str, value: str):
    """``os.environ[name] = value`` for a while (``main`` may run inside a test's process)."""
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
