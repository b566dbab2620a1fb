"""One function per subcommand: load, compose the pipeline, write, print."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ensemble._api import costs_from, fit_mixture
from ensemble.cli import settings, terminal
from ensemble.cli.setup import (cache_dir_for, console, costs_for, demo_data, fit_setup, load_data,
                                loading_options, log_verbose, measure_stage, metadata_for, reporter_for,
                                results_console, stage_times)
from measure.atomic import ensure_writable_dir
from measure._api import load_conversations


# ------------------------------------------------------------------ commands

def cmd_inspect(args) -> int:
    from measure.summary import render_summary, summarize
    ds = load_conversations(list(args.paths), **loading_options(args))
    summary = summarize(ds)
    render_summary(summary, console)
    # --strict: problems are a failure (1), distinct from an error (2)
    return 1 if getattr(args, "strict", False) and summary.problems else 0


def _measure_setup(args):
    """What `measure` and `plan` start from: settings, a writable --out, the data and its metadata."""
    reporter = reporter_for(args)
    cfg = settings.read_config(args.config)
    mconf = settings.measure_config(args, cfg, heldout_default=0.0)
    ensure_writable_dir(args.out)  # fail now, not after the measurement
    ds = load_data(args.data, args, reporter)
    return reporter, mconf, ds, metadata_for(args, ds)


def cmd_measure(args) -> int:
    reporter, mconf, ds, meta = _measure_setup(args)
    log_verbose(args, reporter, measure_settings=mconf.to_dict(), cache=cache_dir_for(args))
    m = measure_stage(args, ds, mconf, reporter, meta)
    data = m.write(args.out)
    out = results_console(args)
    out.print(terminal.ranking_table(data))
    out.print(f"wrote {args.out}/measure.json, measure.csv, distributions.npz")
    log_verbose(args, reporter, stage_times=stage_times(reporter))
    if getattr(args, "json", False):
        terminal.print_json((args.out / "measure.json").read_text(encoding="utf-8"))
    return 0


def cmd_run(args) -> int:
    reporter = reporter_for(args)
    t0 = time.perf_counter()
    cfg = settings.read_config(args.config)
    mconf = settings.measure_config(args, cfg, heldout_default=0.3)
    fconf = fit_setup(args, cfg)
    ensure_writable_dir(args.out)  # fail now, not after the measurement
    demo = not args.data
    data = [demo_data(args.out, reporter)] if demo else args.data
    ds = load_data(data, args, reporter)
    meta = metadata_for(args, ds)
    costs = costs_for(args, fconf, ds, meta)
    log_verbose(args, reporter, measure_settings=mconf.to_dict(), fit_settings=vars(fconf), cache=cache_dir_for(args))
    m = measure_stage(args, ds, mconf, reporter, meta)
    measure_data = m.write(args.out)
    mix = fit_mixture(m, fconf, costs=costs, progress=reporter)
    mix.to_json(args.out / "weights.json")
    wdata = mix.to_dict()
    out = results_console(args)
    out.print(terminal.ranking_table(measure_data))
    terminal.print_all(out, terminal.mixture_tables(wdata))
    if demo:
        _print_demo_recovery(data[0], wdata, out)
    paths = []
    if not args.no_report:
        from ensemble.report import print_explain_summary, write_report
        with reporter.stage("report"):
            paths = write_report(args.out, measurement=m, outcome=mix.outcome)
        print_explain_summary(out, json.loads((args.out / "explain.json").read_text()))
        out.print(f"report: {', '.join(str(p) for p in paths)}")
    out.print(f"wrote {args.out}/weights.json, measure.json, measure.csv "
              f"({time.perf_counter() - t0:.1f}s)")
    reporter.log("stage times: " + stage_times(reporter))
    if getattr(args, "json", False):
        # The files' own JSON, so stdout and the run folder agree to the digit.
        read = lambda name: json.loads((args.out / name).read_text(encoding="utf-8"))  # noqa: E731
        terminal.print_json({"out": str(args.out), "measure": read("measure.json"), "weights": read("weights.json"),
                             "report": [str(p) for p in paths if p.suffix == ".html"]})
    return 0


def _print_demo_recovery(demo_dir: Path, wdata: dict, out=None) -> None:
    truth = json.loads((demo_dir / "true_mixture.json").read_text())["expected_weights"]
    l1 = sum(abs(wdata["weights"].get(s, 0.0) - truth.get(s, 0.0)) for s in set(truth) | set(wdata["weights"]))
    (out or console).print(f"demo: planted mixture {', '.join(f'{s} {w:.2f}' for s, w in truth.items() if w > 0)}; "
                  f"recovered L1 error {l1:.3f}")


def cmd_sweep(args) -> int:
    from ensemble.cli.sweep import run_sweep_command
    return run_sweep_command(args)


def cmd_report(args) -> int:
    from ensemble.report import write_report
    assigned = getattr(args, "assigned", None)
    paths = write_report(args.run_dir, assigned=assigned)
    if assigned is not None:
        a = json.loads((args.run_dir / "assigned.json").read_text())
        console.print(f"assigned: {a['rows']} rows; predicted gap {a['predicted_js']:.4f} bits "
                      f"(fitted weights {a['fitted_js']:.4f}); realised mixture "
                      + ", ".join(f"{terminal.escape_control(s)} {w:.3f}" for s, w in a["realized"].items() if w))
    console.print(f"report: {', '.join(str(p) for p in paths)}")
    return 0


def cmd_assign(args) -> int:
    from ensemble.assign import assign_dataset
    res = assign_dataset(args.weights, args.data, args.out, seed=args.seed, column=args.column,
                         task_column=args.task_column, id_column=args.id_column,
                         fallback=args.fallback, fmt=args.data_format)
    if not args.quiet:
        console.print(terminal.assignment_table(res.to_json()))
    for note in res.notes:
        console.print(f"note: {terminal.escape_control(note)}")
    console.print(f"wrote {res.out} ({res.rows} rows, {res.rows - res.kept} newly assigned) "
                  f"and {res.summary_path}")
    return 0


def cmd_plan(args) -> int:
    from ensemble.plan.command import run_plan
    reporter, mconf, ds, meta = _measure_setup(args)
    rc = run_plan(args, mconf, lambda: measure_stage(args, ds, mconf, reporter, meta),
                  costs_from(meta), reporter, results_console(args))
    if getattr(args, "json", False):
        terminal.print_json((args.out / "plan.json").read_text(encoding="utf-8"))
    return rc


def cmd_demo(args) -> int:
    from ensemble.demo import write_demo
    write_demo(args.out, seed=args.seed, n_per_simulator=args.n_per_simulator, n_real=args.n_real,
               topic_pool=args.topic_pool)
    console.print(f"wrote demo data to {args.out}")
    return 0
