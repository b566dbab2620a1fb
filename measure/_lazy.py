"""Lazy module attributes (PEP 562): re-exports for the package faces, and
values that are costly to build (compiled cue scanners).

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


def lazy_values(module: str, builders: dict, namespace: dict):
    """A module `__getattr__` that builds `builders[name]()` on first use and
    keeps it as a module global (later lookups do not come back here)."""

    def __getattr__(name: str):
        build = builders.get(name)
        if build is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = namespace[name] = build()
        return value

    return __getattr__
