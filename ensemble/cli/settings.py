"""Resolve settings: defaults < TOML config file < command-line flags."""
from __future__ import annotations

import math
import tomllib
from pathlib import Path

from ensemble.mixture.fit import FitConfig
from measure._api import Representation, default_cache_dir  # noqa: F401  (re-exported)
from measure.errors import ConfigError
from measure.facets.base import ALL_FACETS, BEHAVIOUR_FACETS, RAW_FACET
from measure.pipeline import MeasureConfig


def representation(args) -> Representation:
    """The extractor and embedding options, read once for every command that measures."""
    return Representation(
        extractor=getattr(args, "extractor", "rules"), base_url=getattr(args, "base_url", None),
        llm_model=getattr(args, "llm_model", None), concurrency=getattr(args, "concurrency", 8),
        request_budget=getattr(args, "request_budget", None),
        max_failed_share=getattr(args, "max_failed_share", 0.05),
        embedding_model=getattr(args, "embedding_model", None), device=getattr(args, "device", "cpu"),
        batch_size=getattr(args, "batch_size", 64), embeddings=getattr(args, "embeddings", None))


def read_config(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"measure", "fit", "sweep", "llm"}
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {sorted(unknown)}; expected measure, fit, sweep, llm")
    for table in ("measure", "fit", "sweep", "llm"):
        if table in data and not isinstance(data[table], dict):
            raise ConfigError(f"{path}: '{table}' must be a table ([{table}]), got {type(data[table]).__name__}")
    return data


# ------------------------------------------------------------ value checks
# Config-file values arrive with TOML types and flags with argparse types;
# both are checked here so a bad value is a one-line ConfigError, not a crash
# deep in the pipeline.

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(name: str, v, lo: int | None = None, none_ok: bool = False):
    if v is None and none_ok:
        return None
    if not _is_int(v) or (lo is not None and v < lo):
        want = "an integer" if lo is None else f"an integer >= {lo}"
        raise ConfigError(f"{name} must be {want}, got {v!r}")
    return v


def _num(name: str, v, lo: float | None = None, none_ok: bool = False):
    if v is None and none_ok:
        return None
    if not _is_num(v) or not math.isfinite(v) or (lo is not None and v < lo):
        want = "a finite number" if lo is None else f"a finite number >= {lo:g}"
        raise ConfigError(f"{name} must be {want}, got {v!r}")
    return float(v)


def _names(name: str, v) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"{name} must be a list of names, got {v!r}")
    return list(v)


def _bool(name: str, v) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{name} must be true or false, got {v!r}")
    return v


def _check_measure_table(m: dict) -> None:
    where = "config [measure]"
    if "facets" in m:
        _names(f"{where} facets", m["facets"])
    k = m.get("k")
    if isinstance(k, dict):
        for f, v in k.items():
            _int(f"{where} k.{f}", v, 1)
    elif k is not None:
        _int(f"{where} k", k, 1)
    _int(f"{where} k_default", m.get("k_default"), 1, none_ok=True)
    if "pca_variance" in m:
        _num(f"{where} pca_variance", m["pca_variance"], 0.0, none_ok=True)
    for key, lo in (("seed", 0), ("n_bootstrap", 1), ("n_floor", 1), ("n_codebook_seeds", 1),
                    ("minibatch_threshold", 1)):
        if key in m:
            _int(f"{where} {key}", m[key], lo)
    if "heldout_fraction" in m:
        _num(f"{where} heldout_fraction", m["heldout_fraction"], 0.0)
    for key in ("include_raw", "discriminator", "allow_small", "mauve"):
        if key in m:
            _bool(f"{where} {key}", m[key])
    fw = m.get("facet_weights")
    if fw is not None:
        if not isinstance(fw, dict):
            raise ConfigError(f"{where} facet_weights must be a table facet = weight, got {fw!r}")
        for f, v in fw.items():
            _num(f"{where} facet_weights.{f}", v, 0.0)


def _check_fit_table(f: dict) -> None:
    where = "config [fit]"
    if "divergence" in f and f["divergence"] not in ("js", "kl_forward"):
        raise ConfigError(f"{where} divergence must be 'js' or 'kl_forward', got {f['divergence']!r}")
    _int(f"{where} max_simulators", f.get("max_simulators"), 1, none_ok=True)
    _int(f"{where} realized_draws", f.get("realized_draws"), 1, none_ok=True)
    for key, lo in (("weight_bootstrap", 0), ("table_max_size", 1)):
        if key in f:
            _int(f"{where} {key}", f[key], lo)
    for key in ("min_weight", "max_weight", "cost_penalty"):
        if key in f:
            _num(f"{where} {key}", f[key], 0.0)
    _num(f"{where} budget", f.get("budget"), 0.0, none_ok=True)
    for key in ("include", "exclude"):
        if key in f:
            _names(f"{where} {key}", f[key])
    if "per_task" in f:
        _bool(f"{where} per_task", f["per_task"])


def measure_config(args, cfg: dict, heldout_default: float = 0.0) -> MeasureConfig:
    m = dict(cfg.get("measure", {}))
    known = set(MeasureConfig.__dataclass_fields__) | {"include_raw"}
    bad = set(m) - known
    if bad:
        raise ConfigError(f"config [measure]: unknown key(s) {sorted(bad)}")
    _check_measure_table(m)
    facets = m.pop("facets", None)
    if getattr(args, "facets", None) is not None:
        facets = [f.strip() for f in args.facets.split(",") if f.strip()]
        if not facets:
            raise ConfigError(f"--facets names no facet (known: {', '.join(ALL_FACETS)})")
    facets = list(dict.fromkeys(facets or BEHAVIOUR_FACETS))  # drop repeats, keep order
    include_raw = m.pop("include_raw", False)
    if getattr(args, "include_raw", False) or include_raw:
        if RAW_FACET not in facets:
            facets.append(RAW_FACET)
    for f in facets:
        if f not in ALL_FACETS:
            raise ConfigError(f"unknown facet '{f}' (known: {', '.join(ALL_FACETS)})")
    k_cfg = m.pop("k", None)  # a table {facet = k} or one k for every facet
    k = {f: int(v) for f, v in k_cfg.items()} if isinstance(k_cfg, dict) else {}
    k_default = m.pop("k_default", None)
    if _is_int(k_cfg):
        k_default = k_cfg
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
        raise ConfigError(f"--k must be >= 1, got {k_default}")
    fw = dict(m.pop("facet_weights", {}) or {})
    for f, w in getattr(args, "facet_weight", None) or []:
        fw[f] = w
    for f, w in fw.items():
        if f not in facets:
            raise ConfigError(f"facet weight for '{f}', which is not measured")
        _num(f"--facet-weight {f}", w, 0.0)
    pca = m.pop("pca_variance", 0.9)
    if getattr(args, "pca", None) is not None:
        pca = args.pca
    if pca is not None:
        _num("--pca", pca)
        if not 0 <= pca <= 1:
            raise ConfigError(f"--pca must be a fraction of variance in [0, 1] (0 or 1 disables PCA), got {pca}")
    if pca is not None and (pca <= 0 or pca >= 1):
        pca = None
    heldout = m.pop("heldout_fraction", heldout_default)
    if getattr(args, "heldout", None) is not None:
        heldout = args.heldout
    if not _is_num(heldout) or not 0 <= heldout < 1:
        raise ConfigError(f"--heldout must be in [0, 1), got {heldout}")
    conf = MeasureConfig(facets=tuple(facets), k=k, k_default=k_default, pca_variance=pca,
                         facet_weights=fw or None, heldout_fraction=heldout, **m)
    if getattr(args, "seed", None) is not None:
        conf.seed = _int("--seed", args.seed, 0)
    if getattr(args, "bootstrap", None) is not None:
        conf.n_bootstrap = _int("--bootstrap", args.bootstrap, 1)
    if getattr(args, "codebook_seeds", None) is not None:
        conf.n_codebook_seeds = _int("--codebook-seeds", args.codebook_seeds, 1)
    if getattr(args, "allow_small", False):
        conf.allow_small = True
    if getattr(args, "no_discriminator", False):
        conf.discriminator = False
    if getattr(args, "mauve", False):
        conf.mauve = True
    if conf.mauve:
        from measure.mauve_lens import check_available
        check_available()
    if _is_int(getattr(args, "batch_size", None)) and args.batch_size < 1:
        raise ConfigError(f"--batch-size must be an integer >= 1, got {args.batch_size}")
    if _is_int(getattr(args, "min_conversations", None)) and args.min_conversations < 1:
        raise ConfigError(f"--min-conversations must be an integer >= 1, got {args.min_conversations}")
    conf.weights()  # validates facet weights early
    return conf


def fit_config(args, cfg: dict) -> FitConfig:
    f = dict(cfg.get("fit", {}))
    bad = set(f) - set(FitConfig.__dataclass_fields__)
    if bad:
        raise ConfigError(f"config [fit]: unknown key(s) {sorted(bad)}")
    _check_fit_table(f)
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
    if conf.weight_bootstrap is not None and conf.weight_bootstrap < 0:
        raise ConfigError(f"--weight-bootstrap must be >= 0, got {conf.weight_bootstrap}")
    for name, flag in (("min_weight", "--min-weight"), ("max_weight", "--max-weight"),
                       ("cost_penalty", "--cost-penalty")):
        _num(flag, getattr(conf, name), 0.0)
    _num("--budget", conf.budget, 0.0, none_ok=True)
    if not 0 <= conf.min_weight <= conf.max_weight <= 1:
        raise ConfigError(f"need 0 <= --min-weight <= --max-weight <= 1, got {conf.min_weight}, {conf.max_weight}")
    return conf
