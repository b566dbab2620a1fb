"""Paper-scale benchmark of the `ensemble-fit` CLI: wall time per stage and peak memory.

Runs, each as its own subprocess of the real CLI (through `_timed_cli.py`,
which only adds stage-time lines to stderr):

  1. measure, cold  - a fresh, empty cache: facets, embeddings, codebooks all computed
  2. measure, warm  - the same command again: everything comes from the cache
  3. run, warm      - measure (30% held-out real users: new codebooks) + mixture fit
  4. run, warm x2   - the same run again: codebooks cached too
  5. sweep          - `--n-trials N` Optuna trials (skipped with --trials 0)
  6. sweep2         - the same sweep again, in a fresh study, on the cache the
                      first one left (its one-time codebook work is cached)
  7. sweep-same     - the same sweep again, from a copy of the cache as it was
                      before step 5: the same work twice, so the two times
                      show how steady a sweep is (issue 20's "within 25%")

and prints a table of per-stage wall times, peak memory and the targets.
Peak memory is reported twice: the largest single process (wait4 ru_maxrss,
includes any worker processes as separate maxima) and the sampled sum of
the resident sizes of the whole process tree (workers included), which is
what the machine has to hold at once.

    .venv/bin/python scripts/gen_paper_scale.py --out data/paper-scale
    .venv/bin/python scripts/bench_paper_scale.py --data data/paper-scale --trials 100

Everything is written under --out (default /tmp/ensemble-fit-bench): one
folder per step, `bench.json` with all figures. The load average of the
machine is recorded before and after every step: timings on a shared machine
mean little without it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIM = ROOT / "scripts" / "_timed_cli.py"
PREFIX = "BENCH-STAGE "

TARGETS = {  # step -> (seconds, label); issue 20's targets (the first round's in brackets)
    "measure-cold": (120, "measure cold <= 120 s [600 s]"),
    "measure-warm": (60, "measure warm <= 60 s"),
    "run-warm": (15, "run warm <= 15 s [90 s]"),
    "run-warm2": (15, "run warm (codebooks cached) <= 15 s [90 s]"),
    "sweep": (300, "100-trial sweep <= 300 s [900 s]"),
    "sweep2": (300, "the same sweep again, fresh study, warm cache <= 300 s"),
    "sweep-same": (300, "the same sweep from the same starting cache <= 300 s, within 25%"),
}
RSS_TARGET_GIB = 4.0


# ------------------------------------------------------------ memory sampling

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # comm may hold spaces and parentheses: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _proc_kib(pid: int, name: str, key: str) -> int:
    """The `key:` line of /proc/PID/NAME, in KiB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/{name}") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_kib(pid: int) -> int:
    return _proc_kib(pid, "status", "VmRSS:")


def _pss_kib(pid: int) -> int:
    """Proportional set size: pages shared with other processes (a fork()ed
    worker's copy-on-write view of its parent) count as a share, not in full."""
    return _proc_kib(pid, "smaps_rollup", "Pss:")


def _tree(root: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_rss_kib(root: int) -> int:
    return sum(_rss_kib(p) for p in _tree(root))


class TreeSampler(threading.Thread):
    """Peak of the process tree's summed RSS (shared pages counted once per
    process: an upper bound) and summed PSS (what the machine holds)."""

    def __init__(self, pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kib = 0
        self.peak_pss_kib = 0
        self.samples: list[tuple[float, int, int]] = []  # (time, tree RSS KiB, tree PSS KiB or -1)
        self._halt = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self._halt.is_set():
            pids = _tree(self.pid)
            rss = sum(_rss_kib(p) for p in pids)
            self.peak_kib = max(self.peak_kib, rss)
            # PSS walks every page table: at multi-GiB processes reading it 4x a
            # second took a noticeable share of a core, so it is read every 2 s.
            pss = -1
            if tick % 8 == 0:
                pss = sum(_pss_kib(p) for p in pids)
                self.peak_pss_kib = max(self.peak_pss_kib, pss)
            self.samples.append((time.time(), rss, pss))
            tick += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


# ------------------------------------------------------------------ one step

def run_step(name: str, argv: list[str], log_dir: Path, env: dict) -> dict:
    log_dir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with open(log_dir / f"{name}.stdout", "w") as out, open(log_dir / f"{name}.stderr", "w") as err:
        proc = subprocess.Popen([sys.executable, str(SHIM), *argv], stdout=out, stderr=err, env=env, cwd=ROOT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
    wall = time.perf_counter() - t0
    stages: dict[str, float] = {}
    memory: dict[str, dict] = {}
    tail = []
    for line in (log_dir / f"{name}.stderr").read_text(errors="replace").splitlines():
        if line.startswith(PREFIX):
            rec = json.loads(line[len(PREFIX):])
            stages[rec["stage"]] = stages.get(rec["stage"], 0.0) + rec["s"]
            if "end" in rec:
                memory[rec["stage"]] = stage_memory(rec, sampler.samples)
        elif line.strip():
            tail.append(line)
    res = {"step": name, "argv": argv, "rc": proc.returncode, "wall_s": wall, "stages": stages,
           "max_process_rss_gib": usage.ru_maxrss / 2**20, "tree_rss_peak_gib": sampler.peak_kib / 2**20,
           "tree_pss_peak_gib": sampler.peak_pss_kib / 2**20, "stage_memory": memory,
           "user_cpu_s": usage.ru_utime, "sys_cpu_s": usage.ru_stime,
           "load_before": [round(x, 2) for x in load_before],
           "load_after": [round(x, 2) for x in os.getloadavg()]}
    if proc.returncode != 0:
        res["stderr_tail"] = tail[-15:]
    return res


def stage_memory(rec: dict, samples: list[tuple[float, int, int]]) -> dict:
    """Where a stage's memory went: the CLI process's RSS when the stage
    ended and its peak so far (from the shim), and the process tree's peak
    RSS and PSS sampled while the stage ran (describing and encoding
    workers included)."""
    start, end = rec["end"] - rec["s"], rec["end"]
    during = [(rss, pss) for t, rss, pss in samples if start - 0.3 <= t <= end + 0.3]
    pss = [p for _, p in during if p >= 0]
    return {"main_rss_end_gib": rec.get("rss_gib"), "main_peak_so_far_gib": rec.get("maxrss_gib"),
            "tree_rss_peak_gib": max((r for r, _ in during), default=0) / 2**20,
            "tree_pss_peak_gib": max(pss, default=0) / 2**20 if pss else None}


def print_step(r: dict) -> None:
    ok = "ok" if r["rc"] == 0 else f"FAILED rc={r['rc']}"
    print(f"\n== {r['step']} ({ok}): {r['wall_s']:.1f}s wall, {r['user_cpu_s'] + r['sys_cpu_s']:.0f}s CPU, "
          f"peak RSS {r['max_process_rss_gib']:.2f} GiB (largest process), "
          f"{r['tree_rss_peak_gib']:.2f} GiB (process tree, sampled), "
          f"{r.get('tree_pss_peak_gib', 0.0):.2f} GiB PSS (process tree, shared pages once); "
          f"load avg before {r['load_before'][0]:.1f}, after {r['load_after'][0]:.1f}")
    accounted = 0.0
    for stage, s in r["stages"].items():
        mem = r.get("stage_memory", {}).get(stage)
        where = ""
        if mem and mem.get("main_rss_end_gib") is not None:
            where = (f"   main {mem['main_rss_end_gib']:.2f} GiB at end (peak so far "
                     f"{mem['main_peak_so_far_gib']:.2f}), tree peak {mem['tree_rss_peak_gib']:.2f} RSS")
            if mem.get("tree_pss_peak_gib") is not None:
                where += f" / {mem['tree_pss_peak_gib']:.2f} PSS"
        print(f"   {stage:42s} {s:8.1f}s{where}")
        if stage not in ("sweep trials",):
            accounted += s
    tt = r.get("trial_times")
    if tt and tt["n"]:
        print(f"   trials: {tt['n']}, median {tt['median_s']:.2f}s, max {tt['max_s']:.2f}s; codebooks "
              f"{tt['codebook_total_s']:.1f}s in all (max {tt['codebook_max_s']:.2f}s a trial), "
              f"{tt['fresh_fits']} fresh k-means fits")
    for line in r.get("stderr_tail", []):
        print(f"   ! {line}")


def trial_times(csv_path: Path) -> dict:
    """Per-trial wall and codebook seconds from trials.csv: median, max, totals, fresh fits."""
    import csv
    import statistics
    rows = [r for r in csv.DictReader(csv_path.open()) if r["state"] == "COMPLETE"]
    dur = [float(r["duration_s"]) for r in rows if r.get("duration_s")]
    cb = [float(r["codebook_s"]) for r in rows if r.get("codebook_s")]
    fits = sum(int(r["codebook_fits"]) for r in rows if r.get("codebook_fits"))
    return {"n": len(rows), "median_s": statistics.median(dur) if dur else None,
            "max_s": max(dur) if dur else None, "total_s": sum(dur),
            "codebook_total_s": sum(cb), "codebook_max_s": max(cb) if cb else None, "fresh_fits": fits}


def summary_table(results: list[dict]) -> str:
    rows = ["| step | wall | CPU | target | met | peak RSS (tree) | load avg (1 min, before/after) |",
            "|---|---:|---:|---|---|---:|---|"]
    for r in results:
        tgt = TARGETS.get(r["step"])
        if tgt is None:
            target, met = "-", "-"
        else:
            target = tgt[1]
            if r["rc"] != 0:
                met = "failed"
            else:
                ratio = r["wall_s"] / tgt[0]
                met = (f"yes ({(1 - ratio) * 100:.0f}% under)" if ratio <= 1
                       else f"NO ({(ratio - 1) * 100:.0f}% over)")
        rows.append(f"| {r['step']} | {r['wall_s']:.1f}s | {r['user_cpu_s'] + r['sys_cpu_s']:.0f}s | {target} | {met} | "
                    f"{r['tree_rss_peak_gib']:.2f} GiB | {r['load_before'][0]:.1f} / {r['load_after'][0]:.1f} |")
    peak = max((r["tree_rss_peak_gib"] for r in results), default=0.0)
    rows.append(f"| all steps: peak RSS | {peak:.2f} GiB | | <= {RSS_TARGET_GIB:.0f} GiB | "
                f"{'yes' if peak <= RSS_TARGET_GIB else 'NO'} | | |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder written by gen_paper_scale.py")
    ap.add_argument("--cache", type=Path, default=None,
                    help="cache folder; emptied before the cold step (default OUT/cache)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/ensemble-fit-bench"))
    ap.add_argument("--trials", type=int, default=100, help="sweep trials (0 skips the sweep)")
    ap.add_argument("--steps", default="measure-cold,measure-warm,run-warm,run-warm2,sweep,sweep2,sweep-same",
                    help="comma-separated subset of steps to run")
    ap.add_argument("--keep-cache", action="store_true",
                    help="do not empty the cache before measure-cold (then it is not cold)")
    ap.add_argument("--extra", default="", help="extra CLI flags for every step, e.g. '--k 200'")
    args = ap.parse_args(argv)

    out = args.out.resolve()
    cache = (args.cache or out / "cache").resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    extra = args.extra.split()
    data = ["--data", str(args.data.resolve()), "--cache", str(cache), "--quiet"]
    plan = {
        "measure-cold": ["measure", *data, "--out", str(out / "measure-cold"), *extra],
        "measure-warm": ["measure", *data, "--out", str(out / "measure-warm"), *extra],
        "run-warm": ["run", *data, "--out", str(out / "run-warm"), "--no-report", *extra],
        "run-warm2": ["run", *data, "--out", str(out / "run-warm2"), "--no-report", *extra],
        "sweep": ["sweep", *data, "--out", str(out / "sweep"), "--n-trials", str(args.trials), *extra],
        # The same command and seed again, in a fresh study folder: its codebooks
        # are cached by the first, so it shows how much a trial's time depends on that.
        "sweep2": ["sweep", *data, "--out", str(out / "sweep2"), "--n-trials", str(args.trials), *extra],
        "sweep-same": ["sweep", *data, "--out", str(out / "sweep-same"), "--n-trials", str(args.trials), *extra],
    }
    unknown = [s for s in steps if s not in plan]
    if unknown:
        ap.error(f"unknown steps {unknown}; choose from {list(plan)}")
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()}")
    results = []
    sweeps = ("sweep", "sweep2", "sweep-same")
    snapshot = out / "cache-before-sweep"
    for step in steps:
        if step == "measure-cold" and not args.keep_cache and cache.exists():
            shutil.rmtree(cache)
        if step in sweeps:
            if args.trials <= 0:
                continue
            shutil.rmtree(out / step, ignore_errors=True)  # a fresh study, not a resumed one
        if step == "sweep" and "sweep-same" in steps:
            shutil.rmtree(snapshot, ignore_errors=True)
            shutil.copytree(cache, snapshot)               # the starting state, for sweep-same
        if step == "sweep-same" and snapshot.exists():
            shutil.rmtree(cache)
            shutil.copytree(snapshot, cache)
        r = run_step(step, plan[step], out / "logs", env)
        if step in sweeps and r["rc"] == 0:
            try:
                timing = json.loads((out / step / "sweep.json").read_text())["timing"]
                r["stages"]["sweep trials"] = timing["session_s"]
                r["sweep_timing"] = timing
                r["trial_times"] = trial_times(out / step / "trials.csv")
            except (OSError, KeyError, ValueError):
                pass
        results.append(r)
        print_step(r)
        (out / "bench.json").write_text(json.dumps(results, indent=2))
    print("\n" + summary_table(results))
    done = {r["step"]: r for r in results if r["step"] in sweeps and r["rc"] == 0}
    for other, what in (("sweep2", "the second on the cache the first left"),
                        ("sweep-same", "both from the same starting cache")):
        if "sweep" in done and other in done:
            a, b = done["sweep"]["wall_s"], done[other]["wall_s"]
            verdict = "met" if abs(a - b) <= 0.25 * min(a, b) else "MISSED"
            print(f"\ntwo sweeps, same seed ({what}): {a:.1f} s and {b:.1f} s, differ by "
                  f"{abs(a - b) / min(a, b) * 100:.0f}%" + (f" (target <= 25%: {verdict})" if other == "sweep-same" else
                                                           " (the difference is work the first one cached)"))
    print(f"\nfigures: {out / 'bench.json'}; logs: {out / 'logs'}")
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
