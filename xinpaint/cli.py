"""The ``xinpaint`` command line (also ``python -m xinpaint``).

Sub-commands
------------
``xinpaint --version``
    The package version.
``xinpaint info``
    Versions of the main dependencies, the visible devices, and the profile that
    ``make reproduce`` would choose on this machine.
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
