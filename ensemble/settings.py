"""Resolve settings: defaults < TOML config file < command-line flags."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

from measure.errors import ConfigError
from measure.facets.base import ALL_FACETS, BEHAVIOUR_FACETS, RAW_FACET
from measure.pipeline import MeasureConfig

from .run import FitConfig


def default_cache_dir() -> Path:
    env = os.environ.get("ENSEMBLE_FIT_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ensemble-fit"


def read_config(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"measure", "fit", "sweep", "llm"}
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {sorted(unknown)}; expected measure, fit, sweep, llm")
    return data


def measure_config(args, cfg: dict, heldout_default: float = 0.0) -> MeasureConfig:
    m = dict(cfg.get("measure", {}))
    known = set(MeasureConfig.__dataclass_fields__) | {"include_raw"}
    bad = set(m) - known
    if bad:
        raise ConfigError(f"config [measure]: unknown key(s) {sorted(bad)}")
    facets = m.pop("facets", None)
    if getattr(args, "facets", None):
        facets = [f.strip() for f in args.facets.split(",") if f.strip()]
    facets = list(facets or BEHAVIOUR_FACETS)
    if getattr(args, "include_raw", False) or m.pop("include_raw", False):
        if RAW_FACET not in facets:
            facets.append(RAW_FACET)
    for f in facets:
        if f not in ALL_FACETS:
            raise ConfigError(f"unknown facet '{f}' (known: {', '.join(ALL_FACETS)})")
    k = {f: int(v) for f, v in dict(m.pop("k", {}) or {}).items()} if isinstance(m.get("k", {}), dict) else {}
    k_default = m.pop("k_default", None)
    if isinstance(cfg.get("measure", {}).get("k"), int):
        k_default = cfg["measure"]["k"]
    for facet, value in getattr(args, "k", None) or []:
        if facet is None:
            k_default = value
        else:
            k[facet] = value
    for f, v in k.items():
        if f not in facets:
            raise ConfigError(f"--k names facet '{f}', which is not measured")
        if v < 1:
            raise ConfigError(f"--k {f}={v}: k must be >= 1")
    if k_default is not None and k_default < 1:
        raise ConfigError(f"k must be >= 1, got {k_default}")
    fw = dict(m.pop("facet_weights", {}) or {})
    for f, w in getattr(args, "facet_weight", None) or []:
        fw[f] = w
    for f in fw:
        if f not in facets:
            raise ConfigError(f"facet weight for '{f}', which is not measured")
    pca = m.pop("pca_variance", 0.9)
    if getattr(args, "pca", None) is not None:
        pca = args.pca
    if pca is not None and (pca <= 0 or pca >= 1):
        pca = None
    heldout = m.pop("heldout_fraction", heldout_default)
    if getattr(args, "heldout", None) is not None:
        heldout = args.heldout
    if not 0 <= heldout < 1:
        raise ConfigError(f"--heldout must be in [0, 1), got {heldout}")
    conf = MeasureConfig(facets=tuple(facets), k=k, k_default=k_default, pca_variance=pca,
                         facet_weights=fw or None, heldout_fraction=heldout, **m)
    if getattr(args, "seed", None) is not None:
        conf.seed = args.seed
    if getattr(args, "bootstrap", None) is not None:
        conf.n_bootstrap = args.bootstrap
    if getattr(args, "codebook_seeds", None) is not None:
        conf.n_codebook_seeds = args.codebook_seeds
    conf.weights()  # validates facet weights early
    return conf


def fit_config(args, cfg: dict) -> FitConfig:
    f = dict(cfg.get("fit", {}))
    bad = set(f) - set(FitConfig.__dataclass_fields__)
    if bad:
        raise ConfigError(f"config [fit]: unknown key(s) {sorted(bad)}")
    conf = FitConfig(**f)
    for name in ("divergence", "max_simulators", "min_weight", "max_weight", "budget", "cost_penalty",
                 "weight_bootstrap"):
        v = getattr(args, name, None)
        if v is not None:
            setattr(conf, name, v)
    if getattr(args, "include", None):
        conf.include = list(args.include)
    if getattr(args, "exclude", None):
        conf.exclude = list(args.exclude)
    if getattr(args, "no_per_task", False):
        conf.per_task = False
    if conf.max_simulators is not None and conf.max_simulators < 1:
        raise ConfigError("--max-simulators must be >= 1")
    if not 0 <= conf.min_weight <= conf.max_weight <= 1:
        raise ConfigError(f"need 0 <= --min-weight <= --max-weight <= 1, got {conf.min_weight}, {conf.max_weight}")
    return conf
