"""``python -m xinpaint.harness``: the command line the Makefile uses."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from xinpaint.harness.execution import ChapterFailed, ensure_kernel, execute_all, execute_chapter
from xinpaint.harness.notebooks import format_duration
from xinpaint.harness.staging import BookBuildFailed, build_book, find_recording, stage_book
from xinpaint.harness.toc import ROOT, book_chapters, chapter_source
from xinpaint.recorded_runs import recorded_runs_dir, restore_runs, save_runs

__all__ = ["main"]


def _cmd_execute(args) -> int:
    root = Path(args.root)
    chapters = args.chapters or book_chapters(root)
    out = Path(args.out) if args.out else root / "results" / args.profile
    # The finished runs behind a recording travel with it (xinpaint.recorded_runs); smoke runs
    # train in seconds and nbval's re-execution must train them again.
    recorded = args.profile != "smoke"
    if recorded and not args.retrain:
        restored = restore_runs(args.profile, source=recorded_runs_dir(args.profile, results=root / "results"))
        print(f"[xinpaint] {len(restored)} recorded {args.profile} runs restored")
    done, failures = execute_all(chapters, args.profile, out, root=root,
                                 keep_going=args.keep_going)
    _print_durations(done)
    if recorded and not args.out:
        saved = save_runs(args.profile, dest=recorded_runs_dir(args.profile, results=root / "results"))
        print(f"[xinpaint] {len(saved)} finished {args.profile} runs saved with the recording")
    if failures:
        for err in failures:
            print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _cmd_runs(args) -> int:
    recorded = recorded_runs_dir(args.profile, results=Path(args.root) / "results")
    if args.action == "save":
        paths = save_runs(args.profile, dest=recorded)
    else:
        paths = restore_runs(args.profile, source=recorded)
    print(f"[xinpaint] {args.action}d {len(paths)} {args.profile} runs")
    for path in paths:
        print(f"  {path}")
    return 0


def _print_durations(done) -> None:
    if not done:
        return
    print("[xinpaint] chapter durations (slowest first):")
    for run in sorted(done, key=lambda r: -r.wall_seconds):
        print(f"  {format_duration(run.wall_seconds):>12}  {run.chapter} ({run.profile})")


def _cmd_book(args) -> int:
    """Stage the recorded runs (smoke runs where none is recorded) and build the HTML."""
    root = Path(args.root)
    smoke_dir = Path(args.smoke_dir)
    notebooks, done = {}, []
    for chapter in book_chapters(root):
        recorded = find_recording(chapter, root / "results")
        if recorded is not None:
            print(f"[xinpaint] {chapter}: recorded run {recorded.relative_to(root)}")
            notebooks[chapter] = recorded
            continue
        cached = smoke_dir / f"{chapter}.ipynb"
        source = chapter_source(chapter, root)
        if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
            print(f"[xinpaint] {chapter}: no recording, executing with the smoke profile ...")
            try:
                run = execute_chapter(chapter, "smoke", smoke_dir, root=root, smoke_fallback=True)
            except ChapterFailed as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
            done.append(run)
        notebooks[chapter] = cached
    _print_durations(done)
    stage = stage_book(notebooks, Path(args.stage), root=root)
    html = build_book(stage, Path(args.out), strict=not args.lenient)
    print(f"[xinpaint] book built: {html / 'index.html'}")
    return 0


def _cmd_build(args) -> int:
    """Stage notebooks already executed into ``--notebooks`` and build the book strictly."""
    root = Path(args.root)
    folder = Path(args.notebooks)
    notebooks = {}
    for chapter in book_chapters(root):
        path = folder / f"{chapter}.ipynb"
        if not path.exists():
            print(f"error: no executed notebook for chapter {chapter!r} in {folder}",
                  file=sys.stderr)
            return 1
        notebooks[chapter] = path
    stage = stage_book(notebooks, Path(args.out) / "stage", root=root)
    html = build_book(stage, Path(args.out), strict=True)
    print(f"[xinpaint] book built: {html / 'index.html'}")
    return 0


def _cmd_list(args) -> int:
    print(json.dumps(book_chapters(Path(args.root))))
    return 0


def main(argv=None) -> int:
    import xinpaint.harness

    parser = argparse.ArgumentParser(prog="python -m xinpaint.harness",
                                     description=xinpaint.harness.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(ROOT), help="folder with _toc.yml (default: repo)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("execute", help="execute chapters with a profile into a folder")
    p.add_argument("--profile", required=True, choices=("smoke", "cpu", "gpu"))
    p.add_argument("--out", help="output folder (default: results/<profile>, i.e. record)")
    p.add_argument("--keep-going", action="store_true", help="run every chapter even if one fails")
    p.add_argument("--retrain", action="store_true",
                   help="do not restore the recorded runs of results/<profile>/runs first")
    p.add_argument("chapters", nargs="*", help="chapter names (default: all, in TOC order)")
    p.set_defaults(func=_cmd_execute)

    p = sub.add_parser("runs", help="save this machine's finished runs with the recording, or "
                       "restore the recorded ones")
    p.add_argument("action", choices=("save", "restore"))
    p.add_argument("--profile", required=True, choices=("cpu", "gpu"))
    p.set_defaults(func=_cmd_runs)

    p = sub.add_parser("book", help="build the HTML book from the recorded runs")
    p.add_argument("--smoke-dir", default=str(ROOT / "_build" / "smoke"))
    p.add_argument("--stage", default=str(ROOT / "_build" / "stage"))
    p.add_argument("--out", default=str(ROOT), help="the HTML goes to <out>/_build/html")
    p.add_argument("--lenient", action="store_true", help="do not turn warnings into errors")
    p.set_defaults(func=_cmd_book)

    p = sub.add_parser("build", help="build the book strictly from executed notebooks")
    p.add_argument("--notebooks", required=True)
    p.add_argument("--out", required=True, help="the HTML goes to <out>/_build/html")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("kernel", help="register the xinpaint Jupyter kernel in this environment")
    p.set_defaults(func=lambda args: print(f"kernel: {ensure_kernel()}") or 0)

    p = sub.add_parser("list", help="print the executable chapters as JSON")
    p.set_defaults(func=_cmd_list)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BookBuildFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
