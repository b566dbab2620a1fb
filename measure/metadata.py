"""Simulator metadata (family, size, cost per conversation) from a TOML file.

    [[simulator]]
    name = "gpt-5.4-mini"
    family = "gpt"
    size = "mini"          # free text or a number of parameters in billions
    cost = 0.0021          # cost per conversation, any currency
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError


_KEYS = {"name", "family", "size", "cost"}


@dataclass(frozen=True)
class SimulatorInfo:
    name: str
    family: str | None = None
    size: str | None = None
    cost: float | None = None


def load_metadata(path: str | Path, known: list[str] | None = None) -> dict[str, SimulatorInfo]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=path) from None
    entries = data.get("simulator")
    if not isinstance(entries, list):
        raise InputError("expected a list of [[simulator]] tables", file=path, field="simulator")
    out: dict[str, SimulatorInfo] = {}
    for i, e in enumerate(entries):
        where = f"simulator[{i}]"
        if not isinstance(e, dict) or not isinstance(e.get("name"), str) or not e["name"]:
            raise InputError("each simulator needs a non-empty string 'name'", file=path, field=f"{where}.name")
        name = e["name"]
        if name in out:
            raise InputError(f"simulator '{name}' is listed twice", file=path, field=f"{where}.name")
        if known is not None and name not in known:
            raise InputError(f"unknown simulator '{name}' (the data has: {', '.join(known)})",
                             file=path, field=f"{where}.name")
        unknown = sorted(set(e) - _KEYS)
        if unknown:
            raise InputError(f"unknown key(s) {unknown} for simulator '{name}' (expected {', '.join(sorted(_KEYS))})",
                             file=path, field=f"{where}.{unknown[0]}")
        cost = e.get("cost")
        if cost is not None:
            if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost):
                raise InputError(f"cost must be a finite number, got {cost!r}", file=path, field=f"{where}.cost")
            if cost < 0:
                raise InputError(f"cost must be >= 0, got {cost}", file=path, field=f"{where}.cost")
        family = e.get("family")
        if family is not None and not isinstance(family, str):
            raise InputError(f"family must be a string, got {family!r}", file=path, field=f"{where}.family")
        size = e.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, (str, int, float))):
            raise InputError(f"size must be text or a number, got {size!r}", file=path, field=f"{where}.size")
        out[name] = SimulatorInfo(name=name, family=e.get("family"),
                                  size=None if size is None else str(size),
                                  cost=None if cost is None else float(cost))
    return out
