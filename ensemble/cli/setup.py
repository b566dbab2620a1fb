"""What every command that loads data shares: the consoles, the loading
options, the data and its metadata, the fit settings checked before any work,
and the measurement stage (used by `commands` and by the sweep's command)."""
from __future__ import annotations

import os

from pathlib import Path

from ensemble._api import costs_from
from ensemble.cli import settings, terminal
from ensemble.mixture.fit import check_fit_config
from measure._api import check_sources, default_cache_dir, estimate_extraction, load_conversations, measure_gap
from measure.errors import ConfigError
from measure.pipeline import MeasureConfig, Measurement
from measure.progress import Reporter

console = terminal.stdout_console()


def reporter_for(args) -> Reporter:
    return Reporter(console=terminal.stdout_console(stderr=True), enabled=not getattr(args, "quiet", False))


def results_console(args):
    """Where tables and messages go: stdout, or stderr when --json keeps stdout for the result."""
    return terminal.stdout_console(stderr=True) if getattr(args, "json", False) else console


def log_verbose(args, reporter: Reporter, **facts) -> None:
    """--verbose: the settings and places a run used, one line each."""
    if getattr(args, "verbose", False):
        for name, value in facts.items():
            reporter.log(f"{name.replace('_', ' ')}: {value}")


def loading_options(args=None) -> dict:
    """`load_conversations`' options from the data flags every subcommand shares."""
    return {"real": getattr(args, "real", None), "on_error": getattr(args, "on_error", "raise"),
            "min_conversations": getattr(args, "min_conversations", 2),
            "max_turn_chars": getattr(args, "max_turn_chars", None),
            "max_per_source": getattr(args, "max_per_source", None),
            "drop_empty_turns": getattr(args, "drop_empty_turns", False),
            "where": getattr(args, "where", None),
            "min_user_turns": getattr(args, "min_user_turns", None)}


def load_data(paths, args=None, reporter: Reporter | None = None):
    """Load, report what was skipped, and check there are real users and simulators."""
    if args is not None and hasattr(args, "extractor"):
        settings.representation(args)   # a bad --base-url is a usage error before any reading
    # Commands with a --cache keep parsed input files there (measure.parse_cache),
    # unless ENSEMBLE_FIT_PARSE_CACHE=off (the entries are about as big as the data).
    cache = None
    if (args is not None and hasattr(args, "cache")
            and os.environ.get("ENSEMBLE_FIT_PARSE_CACHE", "").strip().lower() != "off"):
        cache = cache_dir_for(args)
    ds = load_conversations(list(paths), **loading_options(args), cache_dir=cache)
    if reporter is not None:
        rep = ds.report
        if getattr(rep, "skipped", 0):
            reporter.warn(f"skipped {rep.skipped} bad records: " +
                          ", ".join(f"{n} {r}" for r, n in rep.reasons.most_common()))
        for w in getattr(rep, "warnings", [])[:10]:
            reporter.warn(w)
    check_sources(ds)
    return ds


def metadata_for(args, ds):
    if not getattr(args, "metadata", None):
        return None
    from measure.metadata import load_metadata
    return load_metadata(args.metadata, known=ds.simulators)


def cache_dir_for(args) -> Path:
    return getattr(args, "cache", None) or default_cache_dir()


def dry_run(args, ds, mconf: MeasureConfig) -> None:
    """--dry-run: what the LLM extractor would send, then stop."""
    est = estimate_extraction(ds, mconf, representation=settings.representation(args), cache_dir=cache_dir_for(args))
    console.print(f"dry run: {est}")
    raise SystemExit(0)


def measure_stage(args, ds, mconf: MeasureConfig, reporter: Reporter, metadata=None) -> Measurement:
    if getattr(args, "dry_run", False):
        dry_run(args, ds, mconf)
    return measure_gap(ds, mconf, representation=settings.representation(args), cache_dir=cache_dir_for(args),
                       metadata=metadata, progress=reporter)


def stage_times(reporter: Reporter) -> str:
    return ", ".join(f"{k} {v:.1f}s" for k, v in reporter.timings.items())


def demo_data(out: Path, reporter: Reporter) -> Path:
    from ensemble.demo.generator import write_demo
    path = out / "demo-data"
    reporter.log(f"no --data given: writing the embedded demo dataset to {path}")
    write_demo(path)
    return path


def fit_setup(args, cfg: dict):
    """The fit config, and the checks that need no data (costs need a metadata file)."""
    fconf = settings.fit_config(args, cfg)
    if (fconf.budget is not None or fconf.cost_penalty) and not getattr(args, "metadata", None):
        raise ConfigError("--budget/--cost-penalty need a --metadata file with costs")
    return fconf


def costs_for(args, fconf, ds, meta):
    """Costs from the metadata, checked against the fit's needs before any work."""
    costs = costs_from(meta)
    if (fconf.budget is not None or fconf.cost_penalty) and not costs:
        raise ConfigError(f"--budget/--cost-penalty need costs: {args.metadata} gives no simulator a 'cost'")
    check_fit_config(fconf, ds.simulators, costs)
    return costs
