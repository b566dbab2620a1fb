"""One function per subcommand: load, compose the pipeline, write, print."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ensemble.cli import settings, terminal
from measure.atomic import ensure_writable_dir
from measure.errors import ConfigError, EnsembleFitError
from measure.pipeline import MeasureConfig, Measurement, measure, prepare
from measure.progress import Reporter

console = terminal.stdout_console()


def _reporter(args) -> Reporter:
    return Reporter(console=terminal.stdout_console(stderr=True), enabled=not getattr(args, "quiet", False))


def loading_options(args=None) -> dict:
    """load_dataset's options from the data flags every subcommand shares."""
    from measure.loaders import DEFAULT_MAX_TURN_CHARS
    return {"real": getattr(args, "real", None), "on_error": getattr(args, "on_error", "raise"),
            "min_conversations": getattr(args, "min_conversations", 2),
            "max_turn_chars": getattr(args, "max_turn_chars", None) or DEFAULT_MAX_TURN_CHARS,
            "max_per_source": getattr(args, "max_per_source", None),
            "drop_empty_turns": getattr(args, "drop_empty_turns", False)}


def load_data(paths, args=None, reporter: Reporter | None = None):
    from measure.loaders import load_dataset
    ds = load_dataset(list(paths), **loading_options(args))
    if reporter is not None:
        rep = ds.report
        if getattr(rep, "skipped", 0):
            reporter.warn(f"skipped {rep.skipped} bad records: " +
                          ", ".join(f"{n} {r}" for r, n in rep.reasons.most_common()))
        for w in getattr(rep, "warnings", [])[:10]:
            reporter.warn(w)
    if not ds.real_sources:
        raise EnsembleFitError("no real-user source found: name it 'real' (or real:*, real_*) or pass --real NAME")
    if not ds.simulators:
        raise EnsembleFitError("no simulator source found: every source is marked as real users")
    return ds


def build_extractor(args, cache_dir: Path):
    if getattr(args, "extractor", "rules") == "llm":
        from measure.facets.llm import LLMFacetExtractor
        if not args.base_url or not args.llm_model:
            raise ConfigError("--extractor llm needs --base-url and --model")
        return LLMFacetExtractor(base_url=args.base_url, model=args.llm_model, cache_dir=cache_dir,
                                 concurrency=args.concurrency, request_budget=args.request_budget,
                                 max_failed_share=getattr(args, "max_failed_share", 0.05))
    from measure.facets.offline import RuleFacetExtractor
    return RuleFacetExtractor()


def build_embedder(args, cache_dir: Path, warn=None):
    from measure.embed import Embedder
    return Embedder(model=getattr(args, "embedding_model", None), cache_dir=cache_dir,
                    batch_size=getattr(args, "batch_size", 64), device=getattr(args, "device", "cpu"),
                    warn=warn)


def _metadata(args, ds):
    if not getattr(args, "metadata", None):
        return None
    from measure.metadata import load_metadata
    return load_metadata(args.metadata, known=ds.simulators)


def measure_stage(args, ds, mconf: MeasureConfig, reporter: Reporter, metadata=None) -> Measurement:
    cache = args.cache or settings.default_cache_dir()
    extractor = build_extractor(args, cache)
    if getattr(args, "dry_run", False):
        if not hasattr(extractor, "dry_run"):
            raise ConfigError("--dry-run applies to --extractor llm")
        est = extractor.dry_run(ds.conversations, tuple(f for f in mconf.facets if f != "raw_user_utterances"))
        console.print(f"dry run: {est}")
        raise SystemExit(0)
    embedder = build_embedder(args, cache, warn=reporter.warn)
    prep = prepare(ds.conversations, ds.real_sources, ds.simulators, extractor, embedder, mconf.facets,
                   heldout_fraction=mconf.heldout_fraction, seed=mconf.seed, cache_dir=cache, reporter=reporter,
                   precomputed_embeddings=getattr(args, "embeddings", None))
    if getattr(extractor, "stats", None) is not None and getattr(args, "extractor", "rules") == "llm":
        reporter.log(f"LLM extractor: {extractor.stats}")
    return measure(prep, mconf, cache_dir=cache, metadata=metadata, reporter=reporter)


# ------------------------------------------------------------------ commands

def cmd_inspect(args) -> int:
    from measure.loaders import load_dataset
    from measure.summary import render_summary, summarize
    ds = load_dataset(list(args.paths), **loading_options(args))
    render_summary(summarize(ds), console)
    return 0


def cmd_measure(args) -> int:
    from measure.outputs import write_measure_outputs
    reporter = _reporter(args)
    cfg = settings.read_config(args.config)
    mconf = settings.measure_config(args, cfg, heldout_default=0.0)
    ensure_writable_dir(args.out)  # fail now, not after the measurement
    ds = load_data(args.data, args, reporter)
    meta = _metadata(args, ds)
    m = measure_stage(args, ds, mconf, reporter, meta)
    data = write_measure_outputs(m, args.out)
    console.print(terminal.ranking_table(data))
    console.print(f"wrote {args.out}/measure.json, measure.csv, distributions.npz")
    return 0


def _demo_data(out: Path, reporter: Reporter) -> Path:
    from ensemble.demo.generator import write_demo
    path = out / "demo-data"
    reporter.log(f"no --data given: writing the embedded demo dataset to {path}")
    write_demo(path)
    return path


def cmd_run(args) -> int:
    from ensemble.mixture.fit import fit, weights_json, write_weights
    from measure.outputs import write_measure_outputs
    reporter = _reporter(args)
    t0 = time.perf_counter()
    cfg = settings.read_config(args.config)
    mconf = settings.measure_config(args, cfg, heldout_default=0.3)
    fconf = settings.fit_config(args, cfg)
    if (fconf.budget is not None or fconf.cost_penalty) and not getattr(args, "metadata", None):
        raise ConfigError("--budget/--cost-penalty need a --metadata file with costs")
    ensure_writable_dir(args.out)  # fail now, not after the measurement
    demo = not args.data
    data = [_demo_data(args.out, reporter)] if demo else args.data
    ds = load_data(data, args, reporter)
    meta = _metadata(args, ds)
    costs = {s: i.cost for s, i in (meta or {}).items() if i.cost is not None} or None
    if (fconf.budget is not None or fconf.cost_penalty) and not costs:
        raise ConfigError(f"--budget/--cost-penalty need costs: {args.metadata} gives no simulator a 'cost'")
    _check_fit_names(args, fconf, ds, costs)
    m = measure_stage(args, ds, mconf, reporter, meta)
    measure_data = write_measure_outputs(m, args.out)
    from measure.pipeline import blas_threads
    with reporter.stage("fit mixture, baselines, bootstrap"), blas_threads():
        outcome = fit(m, fconf, costs=costs, seed=mconf.seed)
    wdata = weights_json(m, outcome, fconf, mconf.to_dict())
    write_weights(args.out / "weights.json", wdata)
    console.print(terminal.ranking_table(measure_data))
    terminal.print_all(console, terminal.mixture_tables(wdata))
    if demo:
        _print_demo_recovery(data[0], wdata)
    if not args.no_report:
        from ensemble.report.render import write_report
        with reporter.stage("report"):
            paths = write_report(args.out, measurement=m, outcome=outcome)
        from ensemble.report.render import print_explain_summary
        print_explain_summary(console, json.loads((args.out / "explain.json").read_text()))
        console.print(f"report: {', '.join(str(p) for p in paths)}")
    console.print(f"wrote {args.out}/weights.json, measure.json, measure.csv "
                  f"({time.perf_counter() - t0:.1f}s)")
    reporter.log("stage times: " + ", ".join(f"{k} {v:.1f}s" for k, v in reporter.timings.items()))
    return 0


def _check_fit_names(args, fconf, ds, costs) -> None:
    """Problems the fit would only find after the whole measurement."""
    for flag, names in (("--include", fconf.include), ("--exclude", fconf.exclude)):
        unknown = [n for n in names or [] if n not in ds.simulators]
        if unknown:
            raise ConfigError(f"{flag} names simulator(s) not in the data: {', '.join(unknown)} "
                              f"(simulators: {', '.join(ds.simulators)})")
    if costs and (fconf.budget is not None or fconf.cost_penalty):
        missing = [s for s in ds.simulators if s not in costs]
        if missing:
            raise ConfigError(f"--budget/--cost-penalty need a cost for every simulator; {args.metadata} "
                              f"has none for: {', '.join(missing)}")


def _print_demo_recovery(demo_dir: Path, wdata: dict) -> None:
    truth = json.loads((demo_dir / "true_mixture.json").read_text())["expected_weights"]
    l1 = sum(abs(wdata["weights"].get(s, 0.0) - truth.get(s, 0.0)) for s in set(truth) | set(wdata["weights"]))
    console.print(f"demo: planted mixture {', '.join(f'{s} {w:.2f}' for s, w in truth.items() if w > 0)}; "
                  f"recovered L1 error {l1:.3f}")


def cmd_sweep(args) -> int:
    from ensemble.tune.command import run_sweep_command
    return run_sweep_command(args)


def cmd_report(args) -> int:
    from ensemble.report.render import write_report
    paths = write_report(args.run_dir)
    console.print(f"report: {', '.join(str(p) for p in paths)}")
    return 0


def cmd_demo(args) -> int:
    from ensemble.demo.generator import write_demo
    write_demo(args.out, seed=args.seed, n_per_simulator=args.n_per_simulator, n_real=args.n_real,
               topic_pool=args.topic_pool)
    console.print(f"wrote demo data to {args.out}")
    return 0
