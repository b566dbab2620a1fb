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
import reprlib
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from measure.errors import InputError

SCHEMA = "ensemble-fit/weights/v1"
SUM_TOL = 1e-6
MAX_DEPTH = 64          # for the free-form objective/heldout/config objects
MAX_BYTES = 64 << 20    # a weights file is a few kB; refuse to parse a huge one


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60


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
    # reprlib: a value nested thousands deep or megabytes long prints short.
    return ", ".join(f"{k}={_REPR.repr(v)}" for k, v in items)


def _show_short(items) -> str:
    # A 5,000-digit integer is not worth printing (and int -> str has a digit limit).
    return ", ".join(f"{k}=<{v.bit_length()}-bit integer>" for k, v in items)


def _check_names(names: list[str], kind: str, field_name: str, file: str | None) -> None:
    """Reject names a terminal or a person would misread: control or invisible
    characters, and two names that differ only in Unicode normal form."""
    for name in names:
        bad = [c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Cs")]
        if bad:
            raise WeightsError(f"{kind} name {name!r} contains control or invisible "
                               f"characters {''.join(bad)!r}", file=file, field=field_name)
    seen: dict[str, str] = {}
    for name in names:
        key = unicodedata.normalize("NFC", name)
        if key in seen:
            raise WeightsError(f"{kind} names {seen[key]!r} and {name!r} differ only in "
                               "Unicode normal form", file=file, field=field_name)
        seen[key] = name


def _check_depth(value: Any, limit: int, file: str | None, field_name: str) -> None:
    """Iterative, so a deeply nested value is an error rather than a RecursionError."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > limit:
            raise WeightsError(f"nested more than {limit} levels deep", file=file,
                               field=field_name)
        if isinstance(v, Mapping):
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)


def _object_field(doc: Mapping, key: str, file: str | None) -> dict[str, Any]:
    """An optional JSON-object field (objective, heldout, config): absent or null
    is {}, anything else that is not an object is an error naming the field."""
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise WeightsError(f"must be a JSON object, got {type(value).__name__}", file=file,
                           field=key)
    _check_depth(value, MAX_DEPTH, file, key)
    return dict(value)


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
    _check_names(list(weights), "simulator", field_name, file)
    not_numbers = [(k, v) for k, v in weights.items()
                   if isinstance(v, bool) or not isinstance(v, (int, float))]
    if not_numbers:
        raise WeightsError(f"weights must be numbers: {_show(not_numbers)}",
                           file=file, field=field_name)
    # An int beyond float range (10**400) is as wrong as 1e308: both are > 1.
    huge = [(k, v) for k, v in weights.items() if isinstance(v, int) and abs(v) > 2]
    if huge:
        raise WeightsError(f"weights must be between 0 and 1: {_show_short(huge)}", file=file,
                           field=field_name)
    out = {k: float(v) for k, v in weights.items()}
    nonfinite = [(k, v) for k, v in out.items() if not math.isfinite(v)]
    if nonfinite:
        raise WeightsError(f"weights must be finite: {_show(nonfinite)}", file=file,
                           field=field_name)
    negative = [(k, v) for k, v in out.items() if v < 0]
    if negative:
        raise WeightsError(f"weights must be >= 0: {_show(negative)}", file=file,
                           field=field_name)
    # Checked before summing: two weights of 1e308 would overflow the sum.
    too_big = [(k, v) for k, v in out.items() if v > 1.0 + tol]
    if too_big:
        raise WeightsError(f"weights must be <= 1: {_show(too_big)}", file=file,
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
        if not isinstance(task, str) or not task:
            raise WeightsError(f"task names must be non-empty strings, got {task!r}",
                               file=file, field="per_task")
        w = validate_weights(w, where, file)
        unknown = sorted(set(w) - known)
        if unknown:
            raise WeightsError(f"simulators missing from the global weights: {unknown}",
                               file=file, field=where)
        out[task] = w
    _check_names(list(out), "task", "per_task", file)
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
    if fp is not None and not isinstance(fp, str):
        raise WeightsError(f"must be a string, got {type(fp).__name__}", file=file,
                           field="data_fingerprint")
    return WeightsFile(weights=weights, per_task=per_task,
                       objective=_object_field(doc, "objective", file),
                       heldout=_object_field(doc, "heldout", file),
                       config=_object_field(doc, "config", file),
                       data_fingerprint=fp, schema=schema)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise WeightsError(f"duplicate key {key!r}", field=key)
        seen[key] = value
    return seen


def load_weights(path: str | Path) -> WeightsFile:
    """Read and validate a weights file.

    Parameters
    ----------
    path : str or Path
        A `weights.json` written by `ensemble-fit run` (schema ensemble-fit/weights/v1).

    Returns
    -------
    WeightsFile
        Validated weights, per-task weights and the metadata objects.

    Raises
    ------
    WeightsError
        For anything wrong with the file, naming the file and, where there is
        one, the line or the field.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise WeightsError(f"cannot read: {exc.strerror or exc}", file=str(path)) from exc
    if len(raw) > MAX_BYTES:
        raise WeightsError(f"larger than {MAX_BYTES >> 20} MiB; not a weights file",
                           file=str(path))
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise WeightsError("is UTF-16 text; save it as UTF-8", file=str(path))
    try:
        text = raw.decode("utf-8-sig")          # a UTF-8 byte-order mark is harmless
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise WeightsError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", file=str(path),
                           line=line) from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise WeightsError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
    except RecursionError:
        raise WeightsError("invalid JSON: nested too deeply", file=str(path)) from None
    except WeightsError as exc:                 # a duplicate key, raised while parsing
        raise WeightsError(exc.message, file=str(path), field=exc.field) from None
    except ValueError as exc:                   # e.g. an integer with too many digits
        if "digits" in str(exc):
            raise WeightsError("invalid JSON: a number too large (more than "
                               f"{sys.get_int_max_str_digits():,} digits)", file=str(path)) from None
        raise WeightsError(f"invalid JSON: {exc}", file=str(path)) from None
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
