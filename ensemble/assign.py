"""Assign a user simulator to every row of a training dataset (`ensemble-fit assign`).

RL frameworks (TRL, verifiers, verl, OpenRLHF) read a dataset of prompts or
tasks; the hand-off is one extra column naming the simulator that plays the
user in that row's episode. This module reads the dataset (JSONL, a JSON
array, Parquet, or a `datasets` save_to_disk folder), adds the column and
writes the same format back, with a summary JSON beside it.

How rows get simulators:
- rows are grouped by task (when the rows have a task column and the weights
  have per-task mixtures), each group drawing from its own stream of
  `SimulatorSampler` (low-discrepancy: each count within 1 of n*w);
- within a group, rows take the draws in the order of a seeded hash of their
  id (the id column, or a content hash of the row), so the assignment of a
  row depends on its id and the seed, never on its position;
- rows already in a previous OUT keep their simulator; new rows continue
  each group's stream from the counts of the kept rows.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from measure.atomic import atomic_dir, atomic_file, write_json
from measure.errors import ConfigError, InputError

from .sampler import SimulatorSampler
from .weights_file import load_weights

SUMMARY_SCHEMA = "ensemble-fit/assignment/v1"
SUMMARY_SUFFIX = ".assignment.json"
FORMATS = ("jsonl", "json", "parquet", "datasets")


class AssignError(InputError):
    """A dataset that cannot be assigned, located by file, row and field."""


# ------------------------------------------------------------------ results

@dataclass(frozen=True)
class GroupCounts:
    """Assigned counts of one stream: a task's mixture, or the global one (task None)."""

    task: str | None
    rows: int
    kept: int
    weights: dict[str, float]
    counts: dict[str, int]

    @property
    def max_deviation(self) -> float:
        """max over simulators of |count - rows * w|; below 1 for a fresh assignment."""
        return max(abs(self.counts[s] - self.rows * w) for s, w in self.weights.items())


@dataclass(frozen=True)
class Assignment:
    """What `assign_dataset` wrote."""

    out: Path
    summary_path: Path
    format: str
    column: str
    task_column: str | None          # None: every row used the global mixture
    id_column: str | None            # None: rows were identified by a content hash
    seed: int
    fallback: str | None
    rows: int
    kept: int
    fallback_rows: int
    groups: list[GroupCounts]
    weights_file: str
    weights_fingerprint: str
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        total: Counter = Counter()
        for g in self.groups:
            total.update(g.counts)
        names = list(self.groups[0].weights) if self.groups else []
        return {s: total.get(s, 0) for s in names}

    @property
    def realized(self) -> dict[str, float]:
        """The mixture the assignment realises over all rows."""
        n = max(self.rows, 1)
        return {s: c / n for s, c in self.counts.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SUMMARY_SCHEMA,
            "weights_file": self.weights_file, "weights_fingerprint": self.weights_fingerprint,
            "seed": self.seed, "format": self.format, "out": str(self.out),
            "column": self.column, "task_column": self.task_column,
            "id_column": self.id_column, "fallback": self.fallback,
            "rows": self.rows, "kept": self.kept, "new": self.rows - self.kept,
            "fallback_rows": self.fallback_rows,
            "counts": self.counts, "realized": self.realized,
            "groups": [{"task": g.task, "rows": g.rows, "kept": g.kept, "weights": g.weights,
                        "counts": g.counts, "expected": {s: g.rows * w for s, w in g.weights.items()},
                        "max_deviation": g.max_deviation} for g in self.groups],
            "notes": self.notes,
        }


# ------------------------------------------------------------------ formats

def detect_format(path: Path) -> str:
    """jsonl / json / parquet / datasets, from the path (a JSON array vs JSON lines by content)."""
    if path.is_dir():
        if (path / "state.json").exists() or (path / "dataset_dict.json").exists():
            return "datasets"
        raise AssignError("a folder that is not a `datasets` save_to_disk folder (no state.json)",
                          file=str(path))
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        return "json" if head.startswith(b"[") else "jsonl"
    raise AssignError("unknown dataset format; expected .jsonl, .json, .parquet or a "
                      "save_to_disk folder", file=str(path))


class _Table:
    """Rows of one dataset, read once, written back with one added column."""

    format: str

    def __init__(self, path: Path):
        self.path = path

    n: int
    columns: set[str]

    def column(self, name: str) -> list[Any]:
        raise NotImplementedError

    def rows(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def where(self, i: int) -> dict[str, Any]:
        """Location of row i for an error: a line for JSONL, a record index otherwise."""
        return {"file": str(self.path), "line": i + 1} if self.format == "jsonl" else \
            {"file": f"{self.path} (row {i})"}

    def write(self, out: Path, name: str, values: list[str]) -> None:
        raise NotImplementedError


def _read_json_value(text: str, path: Path, line: int | None):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssignError(f"invalid JSON: {exc.msg}", file=str(path),
                          line=line if line is not None else exc.lineno) from None
    except (RecursionError, ValueError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0][:120]
        raise AssignError(f"invalid JSON: {reason}", file=str(path), line=line) from None


class _JsonRows(_Table):
    def __init__(self, path: Path, fmt: str):
        super().__init__(path)
        self.format = fmt
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AssignError(f"not UTF-8 text (byte offset {exc.start})", file=str(path)) from None
        if fmt == "json":
            doc = _read_json_value(text, path, None)
            if not isinstance(doc, list):
                raise AssignError(f"a JSON dataset must be an array of objects, got "
                                  f"{type(doc).__name__}", file=str(path))
            self.data = doc
        else:
            self.data = [_read_json_value(line, path, i + 1)
                         for i, line in enumerate(text.split("\n")) if line.strip()]
            self.lines = [i + 1 for i, line in enumerate(text.split("\n")) if line.strip()]
        for i, row in enumerate(self.data):
            if not isinstance(row, dict):
                raise AssignError(f"each record must be a JSON object, got {type(row).__name__}",
                                  **self.where(i))
        self.n = len(self.data)
        self.columns = set().union(*(r.keys() for r in self.data)) if self.data else set()

    def where(self, i: int) -> dict[str, Any]:
        if self.format == "jsonl":
            return {"file": str(self.path), "line": self.lines[i]}
        return {"file": f"{self.path} (record {i})"}

    def column(self, name: str) -> list[Any]:
        return [r.get(name) for r in self.data]

    def rows(self) -> Iterator[dict[str, Any]]:
        return iter(self.data)

    def write(self, out: Path, name: str, values: list[str]) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = [{**r, name: v} for r, v in zip(self.data, values)]
        with atomic_file(out, "w", encoding="utf-8") as fh:
            if self.format == "json":
                fh.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
            else:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")


class _ArrowRows(_Table):
    """Parquet file or `datasets` folder: an Arrow table underneath."""

    def __init__(self, path: Path, fmt: str):
        super().__init__(path)
        self.format = fmt
        if fmt == "parquet":
            import pyarrow.parquet as pq
            try:
                self.table = pq.read_table(path)
            except Exception as exc:          # pyarrow raises several types for a bad file
                raise AssignError(f"cannot read Parquet: {str(exc)[:200]}", file=str(path)) from None
        else:
            import datasets
            try:
                ds = datasets.load_from_disk(str(path))
            except Exception as exc:
                raise AssignError(f"cannot load the datasets folder: {str(exc)[:200]}",
                                  file=str(path)) from None
            if isinstance(ds, datasets.DatasetDict):
                raise AssignError(f"a DatasetDict (splits: {', '.join(ds)}); pass one split's "
                                  f"folder, e.g. {path / next(iter(ds))}", file=str(path))
            self.dataset = ds
            self.table = ds.data.table
        self.n = self.table.num_rows
        self.columns = set(self.table.column_names)

    def column(self, name: str) -> list[Any]:
        if name not in self.columns:
            return [None] * self.n
        return self.table.column(name).to_pylist()

    def rows(self) -> Iterator[dict[str, Any]]:
        for batch in self.table.to_batches(max_chunksize=8192):
            yield from batch.to_pylist()

    def write(self, out: Path, name: str, values: list[str]) -> None:
        import pyarrow as pa
        out.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "parquet":
            import pyarrow.parquet as pq
            table = self.table.append_column(pa.field(name, pa.string()), pa.array(values, pa.string()))
            with atomic_file(out) as fh:
                pq.write_table(table, fh)
            return
        ds = self.dataset.add_column(name, values)
        from datasets.utils.tqdm import (are_progress_bars_disabled, disable_progress_bars,
                                         enable_progress_bars)
        quiet = are_progress_bars_disabled()
        disable_progress_bars()                         # our summary says what was written
        try:
            with atomic_dir(out) as tmp:               # save_to_disk writes a folder
                ds.save_to_disk(str(tmp))
        finally:
            if not quiet:
                enable_progress_bars()


def read_table(path: str | Path, fmt: str | None = None) -> _Table:
    """Read a dataset in any supported format (detected from the path unless given)."""
    path = Path(path)
    if not path.exists():
        raise AssignError("not found", file=str(path))
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return _JsonRows(path, fmt) if fmt in ("jsonl", "json") else _ArrowRows(path, fmt)


# ------------------------------------------------------------------ keys

def _jsonable(value: Any) -> Any:
    # Arrow rows can hold bytes, dates, decimals: give each a stable text form.
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": bytes(value).hex()}
    return {"$" + type(value).__name__: str(value)}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=_jsonable)


def row_keys(table: _Table, id_column: str | None, skip: str) -> list[str]:
    """One key per row: its id, or a content hash of the row without `skip`.

    Identical rows without ids are numbered in order (they are interchangeable,
    so which copy gets which simulator does not matter)."""
    if id_column is not None:
        keys = []
        first: dict[str, int] = {}
        for i, v in enumerate(table.column(id_column)):
            if v is None or isinstance(v, (dict, list, float, bool)):
                what = "missing" if v is None else f"must be a string or an integer, got {type(v).__name__}"
                raise AssignError(what, field=id_column, **table.where(i))
            key = "id:" + _canonical(v)
            if key in first:
                raise AssignError(f"duplicate id {str(v)[:80]!r} (also in row {first[key]})",
                                  field=id_column, **table.where(i))
            first[key] = i
            keys.append(key)
        return keys
    keys, seen = [], Counter()
    for row in table.rows():
        content = {k: v for k, v in row.items() if k != skip}
        digest = hashlib.sha256(_canonical(content).encode("utf-8")).hexdigest()
        seen[digest] += 1
        keys.append(f"row:{digest}:{seen[digest] - 1}")
    return keys


_FILE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
                  ".ndjson": "jsonl", ".json": "json"}


def _check_out_format(out: Path, fmt: str) -> None:
    """The output is written in the input's format: an --out whose suffix names
    another format would hold bytes its own readers refuse."""
    implied = _FILE_SUFFIXES.get(out.suffix.lower())
    if implied is None:
        return                              # a folder name or a suffix of the user's own
    same = implied == fmt or {implied, fmt} <= {"json", "jsonl"}
    if not same:
        raise ConfigError(f"--out {out} names a {implied} file, but the data is {fmt} and is "
                          f"written back in the same format; give --out a "
                          f"{'folder name' if fmt == 'datasets' else '.' + fmt} path")


def _order(seed: int, key: str) -> bytes:
    return hashlib.sha256(f"{seed}\0{key}".encode("utf-8")).digest()


# ------------------------------------------------------------------ assignment

def summary_path_for(out: str | Path) -> Path:
    """Where the summary JSON of an assignment written to `out` goes (beside it)."""
    out = Path(out)
    return out.with_name(out.name + SUMMARY_SUFFIX)


def _previous(out: Path, fmt: str, column: str, id_column: str | None, fingerprint: str,
              notes: list[str]) -> dict[str, str]:
    """key -> simulator of the rows a previous run wrote to `out` (empty if none)."""
    if not out.exists():
        return {}
    summary = summary_path_for(out)
    if summary.exists():
        try:
            prev = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AssignError(f"cannot read the previous assignment summary: {exc}",
                              file=str(summary)) from None
        if isinstance(prev, dict) and prev.get("weights_fingerprint") not in (None, fingerprint):
            raise AssignError("OUT was assigned with other weights or another seed; its rows "
                              "would keep a different mixture. Write to a new --out",
                              file=str(summary), field="weights_fingerprint")
    else:
        notes.append(f"no summary beside {out} ({summary.name}): cannot check that its rows "
                     "were assigned with these weights and this seed")
    table = read_table(out, fmt)
    if column not in table.columns:
        raise AssignError(f"exists but has no {column!r} column; not an earlier assignment "
                          "(choose another --out)", file=str(out))
    keys = row_keys(table, id_column if id_column in table.columns else None, skip=column)
    return dict(zip(keys, table.column(column)))


def assign_dataset(weights: str | Path, data: str | Path, out: str | Path, *, seed: int = 0,
                   column: str = "simulator", task_column: str = "task",
                   id_column: str | None = None, fallback: str | None = None,
                   fmt: str | None = None) -> Assignment:
    """Add a simulator column to a training dataset, balanced per task.

    Parameters
    ----------
    weights : path
        weights.json from `ensemble-fit run`.
    data : path
        JSONL, JSON array, Parquet file, or `datasets` save_to_disk folder.
    out : path
        Where to write the same format with the added column. If it holds an
        earlier assignment (same weights and seed), its rows keep their simulator.
    seed : int
        Orders rows within a task (by a hash of seed and id) and seeds the streams.
    column : str
        Name of the added column.
    task_column : str
        Column naming each row's task; used when present and the weights have
        per-task mixtures.
    id_column : str, optional
        Column identifying a row. Default: "id" when the data has it, else a
        content hash of the row.
    fallback : {None, "global"}
        Rows whose task has no per-task mixture: an error (None) or the global
        mixture ("global").
    fmt : str, optional
        Force the format instead of detecting it.

    Returns
    -------
    Assignment
        Counts per task against the weights, and where the outputs went.

    Examples
    --------
    >>> import json
    >>> from ensemble.assign import assign_dataset
    >>> from ensemble.weights_file import write_weights
    >>> _ = write_weights(tmp / "w.json", {"sim_a": 0.5, "sim_b": 0.5},
    ...                   per_task={"math": {"sim_a": 0.2, "sim_b": 0.8}})
    >>> rows = [{"id": f"t{i}", "task": "math", "prompt": f"p{i}"} for i in range(10)]
    >>> _ = (tmp / "tasks.jsonl").write_text("".join(json.dumps(r) + "\\n" for r in rows))
    >>> res = assign_dataset(tmp / "w.json", tmp / "tasks.jsonl", tmp / "out.jsonl", seed=0)
    >>> res.groups[0].task, res.groups[0].counts
    ('math', {'sim_a': 2, 'sim_b': 8})
    """
    weights, data, out = Path(weights), Path(data), Path(out)
    wf = load_weights(weights)
    sampler = SimulatorSampler(wf.weights, wf.per_task, seed=seed, fallback=fallback)
    if data.resolve() == out.resolve():
        raise ConfigError(f"--out must differ from --data ({data}); the input is read again "
                          "when rows are appended")
    table = read_table(data, fmt)
    fmt = table.format
    _check_out_format(out, fmt)
    notes: list[str] = []
    if not column:
        raise ConfigError("--column must be a non-empty name")
    if column in table.columns:
        raise AssignError(f"already has a {column!r} column; pass --column NAME for another name",
                          file=str(data), field=column)
    if id_column is None:
        id_column = "id" if "id" in table.columns else None
    elif id_column not in table.columns:
        raise AssignError(f"no column {id_column!r} (columns: {', '.join(sorted(table.columns)[:20])})",
                          file=str(data), field=id_column)

    use_tasks = task_column in table.columns and bool(wf.per_task)
    if task_column in table.columns and not wf.per_task:
        notes.append(f"the weights have no per-task mixtures: every row uses the global mixture "
                     f"(column {task_column!r} ignored)")
    if wf.per_task and task_column not in table.columns:
        notes.append(f"no {task_column!r} column: every row uses the global mixture")
    tasks: list[str | None] = [None] * table.n
    fallback_rows = 0
    if use_tasks:
        for i, t in enumerate(table.column(task_column)):
            if t is not None and not isinstance(t, str):
                raise AssignError(f"must be a string, got {type(t).__name__} {str(t)[:40]}",
                                  field=task_column, **table.where(i))
            if t in wf.per_task:
                tasks[i] = t
            elif fallback == "global":
                fallback_rows += 1
            else:
                missing = sorted({x for x in table.column(task_column)
                                  if isinstance(x, str) and x not in wf.per_task})
                n_missing = sum(1 for x in table.column(task_column) if x not in wf.per_task)
                what = "no task" if t is None else f"task {t!r:.80} has no per-task mixture"
                raise AssignError(f"{what} ({n_missing} such rows; unknown tasks: "
                                  f"{', '.join(repr(x) for x in missing[:10])}; known: "
                                  f"{', '.join(repr(x) for x in sorted(wf.per_task)[:10])}); "
                                  "pass --fallback global to give them the global mixture",
                                  field=task_column, **table.where(i))

    keys = row_keys(table, id_column, skip=column)
    prev = _previous(out, fmt, column, id_column, sampler.fingerprint(), notes)
    values: list[str | None] = [None] * table.n
    groups: dict[str | None, list[int]] = {}
    for i, t in enumerate(tasks):
        groups.setdefault(t, []).append(i)

    result_groups = []
    state = sampler.state_dict()
    kept_total = 0
    for task in sorted(groups, key=lambda t: (t is not None, t or "")):
        rows = groups[task]
        w = sampler.weights_for(task)
        kept = [i for i in rows if keys[i] in prev]
        counts = [0] * len(sampler.names)
        index = {s: j for j, s in enumerate(sampler.names)}
        for i in kept:
            sim = prev[keys[i]]
            if sim not in index or w[sim] <= 0:
                raise AssignError(f"earlier assignment {str(sim)[:80]!r} has no weight for "
                                  f"{'the global mixture' if task is None else f'task {task!r}'}; "
                                  "write to a new --out", file=str(out), field=column)
            counts[index[sim]] += 1
            values[i] = sim
        # Continue this group's stream from the kept rows' counts.
        state["streams"] = [{"task": task, "counts": counts}]
        sampler.load_state_dict(state)
        new = sorted((i for i in rows if keys[i] not in prev), key=lambda i: _order(seed, keys[i]))
        for i, sim in zip(new, sampler.draw_many(len(new), task=task)):
            values[i] = sim
        final = Counter(values[i] for i in rows)
        result_groups.append(GroupCounts(task=task, rows=len(rows), kept=len(kept), weights=w,
                                         counts={s: final.get(s, 0) for s in sampler.names}))
        kept_total += len(kept)
    if prev and kept_total < len(prev):
        notes.append(f"{len(prev) - kept_total} rows of the earlier assignment are no longer in the data")

    table.write(out, column, values)
    result = Assignment(out=out, summary_path=summary_path_for(out), format=fmt, column=column,
                        task_column=task_column if use_tasks else None, id_column=id_column,
                        seed=sampler.seed, fallback=fallback, rows=table.n, kept=kept_total,
                        fallback_rows=fallback_rows, groups=result_groups,
                        weights_file=str(weights), weights_fingerprint=sampler.fingerprint(),
                        notes=notes)
    write_json(result.summary_path, result.to_json())
    return result


def load_assignment_counts(path: str | Path, column: str = "simulator") -> dict[str, int]:
    """Assigned counts per simulator from an assignment summary, an assigned
    dataset (its summary beside it, or its column counted), or a saved
    `SimulatorSampler.state_dict()` JSON.

    Raises
    ------
    AssignError
        When the path is none of these.
    """
    path = Path(path)
    candidates = [path] if path.suffix == ".json" and path.is_file() else []
    candidates.append(summary_path_for(path))
    for p in candidates:
        if not p.is_file():
            continue
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("schema") == SUMMARY_SCHEMA:
            return _int_counts(doc.get("counts"), p)
        if isinstance(doc, dict) and doc.get("schema") == "ensemble-fit/sampler-state/v1":
            names, total = doc.get("names") or [], Counter()
            for s in doc.get("streams") or []:
                total.update(dict(zip(names, s.get("counts") or [])))
            return _int_counts({n: total.get(n, 0) for n in names}, p)
    table = read_table(path)
    if column not in table.columns:
        raise AssignError(f"no {column!r} column and no {SUMMARY_SUFFIX} summary beside it",
                          file=str(path))
    return dict(Counter(str(v) for v in table.column(column) if v is not None))


def _int_counts(counts: Any, path: Path) -> dict[str, int]:
    if not isinstance(counts, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in counts.items()):
        raise AssignError("counts must map simulator names to integers >= 0", file=str(path),
                          field="counts")
    return dict(counts)


def realized_weights(counts: dict[str, int]) -> dict[str, float]:
    """Counts as a mixture (shares summing to 1)."""
    n = sum(counts.values())
    if n <= 0:
        raise AssignError("the assignment has no rows")
    return {s: c / n for s, c in counts.items()}


def max_share_gap(a: dict[str, float], b: dict[str, float]) -> float:
    return max((abs(a.get(s, 0.0) - b.get(s, 0.0)) for s in set(a) | set(b)), default=math.nan)
