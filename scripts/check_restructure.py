#!/usr/bin/env python
"""Check that two commits give byte-identical `ensemble-fit run` outputs.

Each commit's tree is exported with `git archive` into a work folder and run
from there (PYTHONPATH set to that tree, the current folder kept off
sys.path, the Hub offline, a fresh cache per commit). The script then
compares measure.json, weights.json, measure.csv and distributions.npz byte
for byte and prints one line per file per dataset; where bytes differ it says
where (JSON: the first differing key path and both values; CSV: the first
differing line; NPZ: the first differing array). Exit 0 when everything is
identical, 1 when anything differs, 2 when a run fails.

Without --data the dataset is the demo written by the BEFORE tree's own
`ensemble-fit demo` (and the AFTER tree's demo output is compared with it).

    .venv/bin/python scripts/check_restructure.py                 # 938c0c2 vs b7437b0, demo data
    .venv/bin/python scripts/check_restructure.py --data DIR --work /tmp/restructure/work
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUT_FILES = ("measure.json", "weights.json", "measure.csv", "distributions.npz")
PACKAGES = ("measure", "ensemble")

# Runs one CLI entry point from an exported tree and refuses to count a run
# that imported any project module from somewhere else.
RUNNER = r"""
import importlib, sys
tree, module, func, *argv = sys.argv[1:]
packages = {packages!r}

def stray():
    return sorted(
        f"{{name}} -> {{mod.__file__}}" for name, mod in list(sys.modules.items())
        if name.split(".")[0] in packages and getattr(mod, "__file__", None)
        and not mod.__file__.startswith(tree))

for name in packages:
    importlib.import_module(name)
main = getattr(importlib.import_module(module), func)
rc = main(argv) if not stray() else None
bad = stray()
if bad:
    print("modules imported from outside " + tree + ":", *bad, sep="\n  ", file=sys.stderr)
    sys.exit(3)
sys.exit(rc or 0)
""".format(packages=PACKAGES)


def resolve_commit(repo: Path, rev: str) -> str:
    """Full hash of `rev` in `repo`."""
    out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def export_tree(repo: Path, commit: str, dest: Path) -> Path:
    """Write the files of `commit` (no working-tree changes) into a fresh `dest`."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def entry_point(tree: Path, script: str = "ensemble-fit") -> tuple[str, str]:
    """(module, function) of the console script as the tree's pyproject.toml declares it."""
    project = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    module, _, func = project["scripts"][script].partition(":")
    return module, func


def run_cli(tree: Path, argv: list[str], log: Path, python: str) -> tuple[int, float]:
    """Run the tree's CLI with `argv`; stdout and stderr go to `log`. Returns (exit code, seconds)."""
    module, func = entry_point(tree)
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    cmd = [python, "-P", "-c", RUNNER, str(tree) + os.sep, module, func, *argv]
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        rc = subprocess.run(cmd, cwd=log.parent, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    return rc, time.perf_counter() - start


def run_argv(data: Path, out: Path, cache: Path, bootstrap: int, codebook_seeds: int,
             extra: list[str]) -> list[str]:
    """The `run` command line used for every commit."""
    return ["run", "--data", str(data), "--out", str(out), "--cache", str(cache), "--quiet",
            "--bootstrap", str(bootstrap), "--codebook-seeds", str(codebook_seeds), "--no-report", *extra]


def demo_argv(out: Path, n_per_simulator: int, n_real: int) -> list[str]:
    return ["demo", "--out", str(out), "--n-per-simulator", str(n_per_simulator), "--n-real", str(n_real)]


def _short(value, width: int = 70) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _same_scalar(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def first_json_difference(a, b, path: str = "$"):
    """(path, a_value, b_value) of the first place two parsed JSON values differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{key}"
            if key not in a or key not in b:
                return sub, a.get(key, "<missing>"), b.get(key, "<missing>")
            found = first_json_difference(a[key], b[key], sub)
            if found:
                return found
        if list(a) != list(b):
            return f"{path} (key order)", list(a), list(b)
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_json_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{path} (length)", len(a), len(b)
        return None
    return None if _same_scalar(a, b) else (path, a, b)


def describe_json(before: bytes, after: bytes) -> str:
    found = first_json_difference(json.loads(before), json.loads(after))
    if found is None:
        return "same values, different bytes (formatting)"
    path, x, y = found
    return f"first at {path}: {_short(x)} -> {_short(y)}"


def describe_lines(before: bytes, after: bytes) -> str:
    a, b = before.decode("utf-8").splitlines(), after.decode("utf-8").splitlines()
    for i, (x, y) in enumerate(zip(a, b), start=1):
        if x != y:
            return f"first at line {i}: {_short(x)} -> {_short(y)}"
    if len(a) != len(b):
        return f"{len(a)} lines -> {len(b)} lines"
    return "same lines, different bytes (line endings)"


def describe_npz(before: Path, after: Path) -> str:
    import numpy as np

    with np.load(before, allow_pickle=False) as a, np.load(after, allow_pickle=False) as b:
        if sorted(a.files) != sorted(b.files):
            return f"arrays {sorted(set(a.files) ^ set(b.files))} in only one file"
        for name in a.files:
            x, y = a[name], b[name]
            if x.shape != y.shape or x.dtype != y.dtype:
                return f"array {name}: {x.dtype}{x.shape} -> {y.dtype}{y.shape}"
            if not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
                if x.dtype.kind in "iufc":
                    gap = float(np.nanmax(np.abs(x.astype(float) - y.astype(float))))
                    return f"array {name}: largest difference {gap:.3g}"
                return f"array {name} differs"
    return "same arrays, different bytes (zip metadata)"


def compare_file(before: Path, after: Path) -> str:
    """'identical', or 'DIFFERENT: <where>' for one output file."""
    if not before.exists() or not after.exists():
        missing = [str(p) for p in (before, after) if not p.exists()]
        return "DIFFERENT: missing " + ", ".join(missing)
    a, b = before.read_bytes(), after.read_bytes()
    if a == b:
        return "identical"
    if before.suffix == ".json":
        where = describe_json(a, b)
    elif before.suffix == ".npz":
        where = describe_npz(before, after)
    else:
        where = describe_lines(a, b)
    return f"DIFFERENT ({len(a)} -> {len(b)} bytes): {where}"


def compare_dirs(before: Path, after: Path, names) -> dict[str, str]:
    return {name: compare_file(before / name, after / name) for name in names}


def dataset_labels(paths: list[Path]) -> list[str]:
    """Short unique names for the datasets (folder names, numbered on a clash)."""
    labels = []
    for i, path in enumerate(paths):
        label = path.name or f"data{i}"
        labels.append(label if label not in labels else f"{label}-{i}")
    return labels


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="938c0c2", help="commit before the change (default 938c0c2)")
    ap.add_argument("--after", default="b7437b0", help="commit after the change (default b7437b0)")
    ap.add_argument("--data", action="append", type=Path, metavar="DIR",
                    help="dataset folder (repeatable; default: the BEFORE tree's demo data)")
    ap.add_argument("--work", type=Path, default=None,
                    help="work folder for trees, outputs, caches and logs (default: a new temp folder)")
    ap.add_argument("--bootstrap", type=int, default=50)
    ap.add_argument("--codebook-seeds", type=int, default=1)
    ap.add_argument("--run-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for `run` in both commits, e.g. --run-arg=--seed=3")
    ap.add_argument("--n-per-simulator", type=int, default=60, help="demo size (default 60)")
    ap.add_argument("--n-real", type=int, default=180, help="demo real users (default 180)")
    ap.add_argument("--python", default=sys.executable, help="interpreter with the dependencies")
    ap.add_argument("--repo", type=Path, default=REPO)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    work = (args.work or Path(tempfile.mkdtemp(prefix="check_restructure-"))).resolve()
    commits = {"before": resolve_commit(args.repo, args.before), "after": resolve_commit(args.repo, args.after)}
    trees = {side: export_tree(args.repo, sha, work / "trees" / sha[:12]) for side, sha in commits.items()}
    print(f"work {work}")
    for side, sha in commits.items():
        print(f"{side:6} {sha[:12]}  entry point {':'.join(entry_point(trees[side]))}")

    differs = False
    datasets = [p.resolve() for p in args.data or []]
    inside = [str(d) for d in datasets if work.is_relative_to(d)]
    if inside:
        print(f"--work {work} lies inside a dataset folder ({', '.join(inside)}); the loader would read it")
        return 2
    if not datasets:
        demo = {}
        for side in commits:
            out = work / "data" / f"demo-{side}"
            if out.exists():
                shutil.rmtree(out)
            log = work / "data" / f"demo-{side}.log"
            rc, secs = run_cli(trees[side], demo_argv(out, args.n_per_simulator, args.n_real), log, args.python)
            if rc:
                print(f"demo ({side}) failed with exit {rc}; see {log}")
                return 2
            demo[side] = out
        names = sorted(p.name for p in demo["before"].iterdir())
        for name, verdict in compare_dirs(demo["before"], demo["after"], names).items():
            print(f"demo-generator  {name:28} {verdict}")
            differs |= verdict != "identical"
        datasets = [demo["before"]]
        labels = ["demo"]
    else:
        labels = dataset_labels(datasets)

    for label, data in zip(labels, datasets):
        outs = {}
        for side, sha in commits.items():
            base = work / "runs" / label / sha[:12]
            for sub in ("out", "cache"):
                if (base / sub).exists():
                    shutil.rmtree(base / sub)
            cmd = run_argv(data, base / "out", base / "cache", args.bootstrap, args.codebook_seeds, args.run_arg)
            rc, secs = run_cli(trees[side], cmd, base / "run.log", args.python)
            print(f"{label}  {side} run {secs:.1f}s exit {rc}  (log {base / 'run.log'})")
            if rc:
                return 2
            outs[side] = base / "out"
        for name, verdict in compare_dirs(outs["before"], outs["after"], OUTPUT_FILES).items():
            print(f"{label}  {name:20} {verdict}")
            differs |= verdict != "identical"
    print("DIFFERENT" if differs else "all identical")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
