"""`ensemble-fit` with stage timings on stderr, for scripts/bench_paper_scale.py.

Runs the unmodified CLI entry point (`ensemble.cli.main`) after wrapping
`Reporter.stage`, data loading and output writing so that each one prints a
line `BENCH-STAGE {"stage": name, "s": seconds}` to stderr when it ends.
Nothing else changes; the wrappers cost microseconds.

    .venv/bin/python scripts/_timed_cli.py measure --data DIR --out OUT
"""
from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PREFIX = "BENCH-STAGE "


def _rss_gib() -> float | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (OSError, ValueError, IndexError):
        return None


def _emit(name: str, seconds: float) -> None:
    # The end time and this process's memory let the benchmark say which
    # stage held the most (its sampler sees the whole process tree).
    rec = {"stage": name, "s": round(seconds, 3), "end": time.time(), "rss_gib": _rss_gib(),
           "maxrss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    print(PREFIX + json.dumps(rec), file=sys.stderr, flush=True)


def _timed(fn, name: str):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _emit(name, time.perf_counter() - t0)
    return wrapper


def install() -> None:
    from measure import outputs, progress

    orig_stage = progress.Reporter.stage

    @contextlib.contextmanager
    def stage(self, name, total=None):
        t0 = time.perf_counter()
        try:
            with orig_stage(self, name, total) as advance:
                yield advance
        finally:
            _emit(name, time.perf_counter() - t0)

    progress.Reporter.stage = stage
    outputs.write_measure_outputs = _timed(outputs.write_measure_outputs, "write measure outputs")
    from ensemble.cli import commands, setup
    setup.load_data = commands.load_data = _timed(setup.load_data, "load data")
    from ensemble.mixture.fit import Mixture
    Mixture.to_json = _timed(Mixture.to_json, "write weights")


def main() -> int:
    t0 = time.perf_counter()
    from ensemble.cli import main as cli_main
    _emit("import", time.perf_counter() - t0)
    install()
    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
