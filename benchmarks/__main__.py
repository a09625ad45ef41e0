"""``python -m benchmarks [--quick] [--only NAME ...]``: run, print a table, write JSON."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from benchmarks.common import (
    INCONCLUSIVE,
    Entry,
    machine,
    table,
    write_json,
    write_results_md,
)

AREAS = (
    "training",
    "seed",
    "demo",
    "maps",
    "app",
    "lessons",
    "scale",
    "gpu",
    "load",
    "realdata",
    "live",
    "jobs",
    "demo_repeat",
    "classroom",
    "bigmap",
    "bigrun",
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--quick",
        action="store_true",
        help="small sizes; paired figures still take their 5 interleaved rounds",
    )
    p.add_argument("--only", nargs="+", choices=AREAS, metavar="NAME", help=f"some of {AREAS}")
    args = p.parse_args(argv)
    info = machine()
    print(
        f"{info['cpu_model']} · {info['cpus']} CPUs · load {info['load_avg_1m']:.2f} · "
        f"{info['date']} · torch {info['versions'].get('torch')} · "
        f"umap {info['versions'].get('umap')}",
        flush=True,
    )
    entries: list[Entry] = []
    failed = []
    for area in args.only or AREAS:
        t0 = time.perf_counter()
        print(f"[{area}] running…", flush=True)
        try:
            mod = importlib.import_module(f"benchmarks.bench_{area}")
            got = mod.run(args.quick)
        except Exception as exc:  # one broken area must not hide the others' figures
            traceback.print_exc()
            failed.append(area)
            got = [Entry(f"{area}: failed", None, "", note=f"{type(exc).__name__}: {exc}")]
        entries += got
        print(f"[{area}] {time.perf_counter() - t0:.0f} s", flush=True)
    print()
    print(table(entries))
    path = write_json(entries)
    print(f"\nwrote {path}")
    if not args.quick and not args.only and not failed:
        print(f"wrote {write_results_md(entries, info)}")
    # A target is missed only when its whole measured range misses it (benchmarks.common).
    misses = [e.name for e in entries if e.met is False]
    if misses:
        print("missed targets:\n  " + "\n  ".join(misses))
    unsure = [e.name for e in entries if e.verdict == INCONCLUSIVE]
    if unsure:
        print("inconclusive (the range straddles the target):\n  " + "\n  ".join(unsure))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
