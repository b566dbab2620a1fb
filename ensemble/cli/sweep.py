"""`ensemble-fit sweep`: options to a study, run, write, print."""
from __future__ import annotations

import time
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial

from ensemble.tune.outputs import top_table
from ensemble.tune.storage import DEFAULT_STUDY, mask_url, n_complete, open_sweep_storage, storage_url
from ensemble.tune.study import DEFAULT_N_TRIALS, default_noise, noise_verdict
from ensemble.tune.yardstick import RESOLUTIONS
from measure.errors import ConfigError


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ensemble._api import sweep
    from ensemble.cli import settings, setup, terminal

    reporter = setup.reporter_for(args)
    cfg = settings.read_config(args.config)
    mconf = settings.measure_config(args, cfg, heldout_default=0.3)
    fconf = setup.fit_setup(args, cfg)
    opts = _sweep_options(args, cfg)
    if mconf.heldout_fraction <= 0:
        raise ConfigError("the sweep scores trials on held-out real users: --heldout must be > 0")
    out = Path(args.out)
    url = storage_url(out, opts.get("storage"))
    # Fail on a bad URL, an unwritable or emptied storage before loading and preparing.
    storage = open_sweep_storage(url, opts["study"], new_study=getattr(args, "new_study", False))
    results = setup.results_console(args)
    note = already_complete_note(storage, opts["study"], opts.get("n_trials"), url)
    if note:
        results.print(note)

    t0 = time.perf_counter()
    data = args.data or [setup.demo_data(out, reporter)]
    ds = setup.load_data(data, args, reporter)
    meta = setup.metadata_for(args, ds)
    costs = setup.costs_for(args, fconf, ds, meta)
    if getattr(args, "dry_run", False):
        setup.dry_run(args, ds, mconf)
    setup.log_verbose(args, reporter, measure_settings=mconf.to_dict(), fit_settings=vars(fconf),
                      sweep_settings=opts, storage=mask_url(url), cache=setup.cache_dir_for(args))
    n_trials = opts.get("n_trials")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not reporter.enabled, transient=True) as prog:
        task = None

        def on_trial(st: optuna.Study, trial: FrozenTrial) -> None:
            nonlocal task
            try:
                best = f"best {st.best_value:.4f}"
            except ValueError:
                best = "no complete trial yet"
            if task is None:
                task = prog.add_task("sweep", total=n_trials)
            prog.update(task, completed=n_complete(st), description=f"sweep ({best})")

        result = sweep(ds, n_trials=n_trials, timeout=opts.get("timeout"), storage=url, study_name=opts["study"],
                       measure_config=mconf, fit_config=fconf, representation=settings.representation(args),
                       cache_dir=setup.cache_dir_for(args), costs=costs, tune_pca=opts["tune_pca"],
                       tune_divergence=opts["tune_divergence"], resolutions=opts["resolutions"],
                       new_study=getattr(args, "new_study", False), on_trial=on_trial, progress=reporter)
    for e in result.errors[:3]:
        reporter.warn(f"a trial failed: {e}")
    if result.gave_up_waiting:
        reporter.warn(f"stopped waiting for {result.gave_up_waiting} trial(s) RUNNING in other workers; "
                      "rerun the command to complete the study if they never finish")
    summary = result.summary
    n_seeds = getattr(args, "noise_seeds", 3)
    if summary["best"] is not None and n_seeds:
        with reporter.stage(f"yardstick noise: default settings with {n_seeds} more seeds"):
            summary["default_noise"] = default_noise(result.context, summary["default"]["value"], n_seeds)
        summary["noise_verdict"] = noise_verdict(summary["improvement_over_default"], summary["default_noise"])
    with reporter.stage("refit the best settings"):
        result.write(out, meta)
    facets = result.context.prep.facets
    if summary["top"]:
        results.print(top_table(summary, facets))
    d, b = summary["default"]["value"], summary["best"]
    if b is not None:
        results.print(f"best trial {b['number']}: yardstick {b['value']:.4f} bits"
                      + (f" (default settings {d:.4f})" if d is not None else ""))
    for line in (summary.get("noise_verdict"), summary.get("importances_caveat") and
                 f"importances (plots/importances.png): {summary['importances_caveat']}"):
        if line:
            results.print(line)
    results.print(f"{summary['n_complete']} complete, {summary['n_failed']} failed "
                  f"({result.trials_run} run now); wrote {out}/sweep.json, "
                  f"weights.json, trials.csv, plots/ ({time.perf_counter() - t0:.1f}s)")
    if getattr(args, "json", False):
        terminal.print_json((out / "sweep.json").read_text(encoding="utf-8"))
    return 0


def already_complete_note(storage, study_name: str, n_trials: int | None, url: str) -> str | None:
    """A plain note when the study already holds the requested trials:
    --n-trials is the study's total, so such a rerun runs none."""
    if n_trials is None:
        return None
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:  # a new study
        return None
    done = n_complete(study)
    if done < n_trials:
        return None
    return (f"study '{study_name}' in {mask_url(url)} already has {done} complete trials and --n-trials "
            f"{n_trials} is the study's total (over every run), so no new trial will run; to add 20 more, "
            f"rerun with --n-trials {done + 20}")
