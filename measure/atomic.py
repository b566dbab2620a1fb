"""Atomic file writes: a reader sees the old file or the new one, never half."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import EnsembleFitError


class OutputError(EnsembleFitError):
    """The output folder cannot be written (read-only, full, ...)."""


def write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def _round(obj, digits: int = 10):
    """Round floats so JSON is byte-stable across platforms' last-bit noise."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if obj == obj else None
    if isinstance(obj, dict):
        return {k: _round(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_round(v, digits) for v in obj]
    if hasattr(obj, "tolist"):
        return _round(obj.tolist(), digits)
    if hasattr(obj, "item"):
        return _round(obj.item(), digits)
    return obj


def write_json(path: str | Path, obj) -> Path:
    return write_text(path, json.dumps(_round(obj), indent=2, sort_keys=False, ensure_ascii=False) + "\n")
