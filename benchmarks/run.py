"""Run every ``benchmarks/bench_*.py`` and write ``results/bench.json``.

Each benchmark module defines ``run() -> list[dict]`` returning rows
``{"name", "value", "unit", "target", "detail"}``; ratios are measured side by side
inside one run, so they do not depend on how busy the machine is overall.

    python benchmarks/run.py                 # all modules
    python benchmarks/run.py layers data     # bench_layers.py and bench_data.py only

Rows of modules not run this time are kept from the previous ``results/bench.json``.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "results" / "bench.json"
KEYS = ("name", "value", "unit", "target", "detail")


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check(rows, module: str) -> list[dict]:
    checked = []
    for row in rows:
        missing = [k for k in KEYS if k not in row]
        if missing:
            raise ValueError(f"{module}: row {row!r} lacks {missing}")
        checked.append({**{k: row[k] for k in KEYS}, "module": module})
    return checked


def main(argv: list[str]) -> int:
    from xinpaint.chapter import quiet_tensorflow
    from xinpaint.system import hardware_description, package_versions

    quiet_tensorflow()
    wanted = set(argv)
    paths = sorted(p for p in HERE.glob("bench_*.py") if not wanted or p.stem[6:] in wanted)
    previous = json.loads(OUT.read_text()) if OUT.exists() else {"rows": []}
    ran = {p.stem for p in paths}
    rows = [r for r in previous.get("rows", []) if r.get("module") not in ran]
    failed = []
    for path in paths:
        print(f"[bench] {path.name} ...", flush=True)
        start = time.perf_counter()
        try:
            new = _check(_load(path).run(), path.stem)
        except Exception:
            traceback.print_exc()
            failed.append(path.name)
            continue
        for row in new:
            target = "" if row["target"] is None else f" (target {row['target']})"
            print(f"  {row['name']:<28} {row['value']!s:>10} {row['unit']}{target}")
        print(f"  [{time.perf_counter() - start:.0f} s]")
        rows += new
    payload = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "hardware": hardware_description(),
        "versions": package_versions(("xinpaint", "tensorflow", "keras", "numpy")),
        "rows": sorted(rows, key=lambda r: r["name"]),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"[bench] wrote {OUT}")
    if failed:
        print(f"[bench] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
