"""`ensemble-fit sweep`: options to a study, run, write, print."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from measure.atomic import write_json, write_text
from measure.errors import ConfigError, EnsembleFitError

from .objective import SweepContext
from .outputs import refit_best, top_table, write_plots
from .storage import DEFAULT_STUDY, n_complete, open_storage, storage_url
from .study import DEFAULT_N_TRIALS, open_study, run_study, summarize, trials_csv
from .yardstick import RESOLUTIONS


def _sweep_options(args, cfg: dict) -> dict:
    s = dict(cfg.get("sweep", {}))
    known = {"storage", "study", "n_trials", "timeout", "tune_pca", "tune_divergence", "resolutions"}
    bad = set(s) - known
    if bad:
        raise ConfigError(f"config [sweep]: unknown key(s) {sorted(bad)}")
    for key in ("storage", "study", "n_trials", "timeout"):
        if getattr(args, key, None) is not None:
            s[key] = getattr(args, key)
    for key in ("tune_pca", "tune_divergence"):
        s[key] = bool(getattr(args, key, False) or s.get(key, False))
    s.setdefault("study", DEFAULT_STUDY)
    if s.get("n_trials") is None and s.get("timeout") is None:
        s["n_trials"] = DEFAULT_N_TRIALS
    if s.get("n_trials") is not None and int(s["n_trials"]) < 1:
        raise ConfigError("--n-trials must be >= 1")
    s["resolutions"] = tuple(int(r) for r in s.get("resolutions", RESOLUTIONS))
    return s


def run_sweep_command(args) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from ensemble.cli import commands as jobs
    from ensemble.cli import settings, terminal

    console = terminal.stdout_console()
    reporter = jobs._reporter(args)
    cfg = settings.read_config(args.config)
    mconf = settings.measure_config(args, cfg, heldout_default=0.3)
    fconf = settings.fit_config(args, cfg)
    opts = _sweep_options(args, cfg)
    if mconf.heldout_fraction <= 0:
        raise ConfigError("the sweep scores trials on held-out real users: --heldout must be > 0")
    out = Path(args.out)
    url = storage_url(out, opts.get("storage"))
    storage = open_storage(url)   # fail on a bad URL before the slow preparation

    t0 = time.perf_counter()
    data = args.data or [jobs._demo_data(out, reporter)]
    ds = jobs.load_data(data, args, reporter)
    meta = jobs._metadata(args, ds)
    costs = {s: i.cost for s, i in (meta or {}).items() if i.cost is not None} or None
    if (fconf.budget is not None or fconf.cost_penalty) and not costs:
        raise ConfigError("--budget/--cost-penalty need a --metadata file with costs")
    cache = args.cache or settings.default_cache_dir()
    from measure.pipeline import prepare
    prep = prepare(ds.conversations, ds.real_sources, ds.simulators, jobs.build_extractor(args, cache),
                   jobs.build_embedder(args, cache), mconf.facets, heldout_fraction=mconf.heldout_fraction,
                   seed=mconf.seed, cache_dir=cache, reporter=reporter)
    with reporter.stage("yardstick codebooks"):
        ctx = SweepContext.build(prep, mconf, fconf, cache_dir=cache, costs=costs, tune_pca=opts["tune_pca"],
                                 tune_divergence=opts["tune_divergence"], resolutions=opts["resolutions"])
    t_prep = time.perf_counter() - t0

    # The settings `ensemble-fit run` would use are trial 0 of a new study.
    study = open_study(storage, opts["study"], seed=mconf.seed, default_params=ctx.default.params(ctx.space))
    n_trials = opts.get("n_trials")
    before = n_complete(study)
    if before:
        reporter.log(f"resuming study '{opts['study']}': {before} trials already complete")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not reporter.enabled, transient=True) as prog:
        task = prog.add_task("sweep", total=n_trials, completed=before)

        def on_trial(st: optuna.Study, trial: FrozenTrial) -> None:
            try:
                best = f"best {st.best_value:.4f}"
            except ValueError:
                best = "no complete trial yet"
            prog.update(task, completed=n_complete(st), description=f"sweep ({best})")

        stats = run_study(study, ctx, n_trials, opts.get("timeout"), on_trial=on_trial)

    if stats.errors and not stats.trial_seconds:
        raise EnsembleFitError(f"every trial of this run failed ({len(stats.errors)}); "
                               f"first error: {stats.errors[0]}")
    for e in stats.errors[:3]:
        reporter.warn(f"a trial failed: {e}")
    if stats.gave_up_waiting:
        reporter.warn(f"stopped waiting for {stats.gave_up_waiting} trial(s) RUNNING in other workers; "
                      "rerun the command to complete the study if they never finish")
    summary = summarize(study, ctx, url, n_trials)
    summary["timing"] = {"prepare_s": t_prep, "session_s": stats.seconds, "trials_this_run": stats.trials_run,
                         "trial_mean_s": float(np.mean(stats.trial_seconds)) if stats.trial_seconds else None,
                         "trial_first_s": stats.trial_seconds[0] if stats.trial_seconds else None}
    with reporter.stage("refit the best settings"):
        wdata = refit_best(ctx, summary, meta)
    write_json(out / "sweep.json", summary)
    write_text(out / "trials.csv", trials_csv(study, prep.facets))
    write_plots(study, summary, out / "plots")
    if wdata is not None:
        write_json(out / "weights.json", wdata)
    if summary["top"]:
        console.print(top_table(summary, prep.facets))
    d, b = summary["default"]["value"], summary["best"]
    if b is not None:
        console.print(f"best trial {b['number']}: yardstick {b['value']:.4f} bits"
                      + (f" (default settings {d:.4f})" if d is not None else ""))
    console.print(f"{summary['n_complete']} complete, {summary['n_failed']} failed; wrote {out}/sweep.json, "
                  f"weights.json, trials.csv, plots/ ({time.perf_counter() - t0:.1f}s)")
    return 0
