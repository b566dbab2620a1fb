"""Lazy re-exports for the package faces (PEP 562).

`measure` and `ensemble` re-export their public names without importing
them: the light `ensemble.sampler` reads its errors from `measure`, and a
training loop that imports it must not load numpy, torch, cvxpy or optuna.
"""
from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str], namespace: dict):
    """`(__getattr__, __dir__)` for `package` that import `exports[name]` on first use."""

    def __getattr__(name: str):
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            namespace[name] = value   # later lookups skip this function
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
