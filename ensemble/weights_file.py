"""Read, validate and write `weights.json` (schema ensemble-fit/weights/v1).

    {"schema": "ensemble-fit/weights/v1",
     "weights": {simulator: w},                 # finite, >= 0, sum to 1 (1e-6)
     "per_task": {task: {simulator: w}},        # optional, same rules
     "objective": {...}, "heldout": {...}, "config": {...},
     "data_fingerprint": "..."}

Weights are validated, never renormalised: a file whose weights do not sum to
1 was produced by something else than the fit and should be looked at.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from measure.errors import InputError

SCHEMA = "ensemble-fit/weights/v1"
SUM_TOL = 1e-6


class WeightsError(InputError, ValueError):
    """Bad weights or a bad weights file."""


@dataclass
class WeightsFile:
    weights: dict[str, float]
    per_task: dict[str, dict[str, float]] = field(default_factory=dict)
    objective: dict[str, Any] = field(default_factory=dict)
    heldout: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str | None = None
    schema: str = SCHEMA

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": self.schema, "weights": self.weights,
                               "per_task": self.per_task}
        for key in ("objective", "heldout", "config"):
            out[key] = getattr(self, key)
        out["data_fingerprint"] = self.data_fingerprint
        return out


def _show(items) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in items)


def validate_weights(weights: Any, field_name: str = "weights", file: str | None = None,
                     tol: float = SUM_TOL) -> dict[str, float]:
    """Return {name: float} or raise WeightsError naming the offending values."""
    if not isinstance(weights, Mapping) or not weights:
        raise WeightsError("must be a non-empty mapping of simulator name -> weight, got "
                           f"{type(weights).__name__}", file=file, field=field_name)
    bad_names = [k for k in weights if not isinstance(k, str) or not k]
    if bad_names:
        raise WeightsError(f"simulator names must be non-empty strings: {bad_names}",
                           file=file, field=field_name)
    not_numbers = [(k, v) for k, v in weights.items()
                   if isinstance(v, bool) or not isinstance(v, (int, float))]
    if not_numbers:
        raise WeightsError(f"weights must be numbers: {_show(not_numbers)}",
                           file=file, field=field_name)
    out = {k: float(v) for k, v in weights.items()}
    nonfinite = [(k, v) for k, v in out.items() if not math.isfinite(v)]
    if nonfinite:
        raise WeightsError(f"weights must be finite: {_show(nonfinite)}", file=file,
                           field=field_name)
    negative = [(k, v) for k, v in out.items() if v < 0]
    if negative:
        raise WeightsError(f"weights must be >= 0: {_show(negative)}", file=file,
                           field=field_name)
    total = math.fsum(out.values())
    if abs(total - 1.0) > tol:
        raise WeightsError(f"weights must sum to 1 (within {tol:g}), got {total:.10g}: "
                           f"{_show(out.items())}", file=file, field=field_name)
    return out


def validate_per_task(per_task: Any, names, file: str | None = None
                      ) -> dict[str, dict[str, float]]:
    """Each task's weights obey the same rules and name only known simulators."""
    if per_task is None:
        return {}
    if not isinstance(per_task, Mapping):
        raise WeightsError(f"must be a mapping task -> weights, got {type(per_task).__name__}",
                           file=file, field="per_task")
    out = {}
    known = set(names)
    for task, w in per_task.items():
        where = f"per_task.{task}"
        if not isinstance(task, str):
            raise WeightsError(f"task names must be strings, got {task!r}", file=file,
                               field="per_task")
        w = validate_weights(w, where, file)
        unknown = sorted(set(w) - known)
        if unknown:
            raise WeightsError(f"simulators missing from the global weights: {unknown}",
                               file=file, field=where)
        out[task] = w
    return out


def parse_weights(doc: Any, file: str | None = None) -> WeightsFile:
    if not isinstance(doc, Mapping):
        raise WeightsError(f"top level must be a JSON object, got {type(doc).__name__}", file=file)
    schema = doc.get("schema")
    if schema != SCHEMA:
        raise WeightsError(f"unknown schema {schema!r}; expected {SCHEMA!r}", file=file,
                           field="schema")
    if "weights" not in doc:
        raise WeightsError("missing", file=file, field="weights")
    weights = validate_weights(doc["weights"], "weights", file)
    per_task = validate_per_task(doc.get("per_task"), weights, file)
    fp = doc.get("data_fingerprint")
    return WeightsFile(weights=weights, per_task=per_task,
                       objective=dict(doc.get("objective") or {}),
                       heldout=dict(doc.get("heldout") or {}),
                       config=dict(doc.get("config") or {}),
                       data_fingerprint=None if fp is None else str(fp), schema=schema)


def load_weights(path: str | Path) -> WeightsFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WeightsError(f"cannot read: {exc.strerror or exc}", file=str(path)) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WeightsError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from exc
    return parse_weights(doc, str(path))


def write_weights(path: str | Path, weights: Mapping[str, float],
                  per_task: Mapping[str, Mapping[str, float]] | None = None,
                  objective: Mapping[str, Any] | None = None,
                  heldout: Mapping[str, Any] | None = None,
                  config: Mapping[str, Any] | None = None,
                  data_fingerprint: str | None = None) -> WeightsFile:
    """Validate and write a weights file; returns what was written."""
    w = validate_weights(dict(weights))
    wf = WeightsFile(weights=w, per_task=validate_per_task(per_task, w),
                     objective=dict(objective or {}), heldout=dict(heldout or {}),
                     config=dict(config or {}), data_fingerprint=data_fingerprint)
    from measure.atomic import write_text
    write_text(path, json.dumps(wf.to_json(), indent=2) + "\n")  # unique temp, fsync, rename
    return wf
