"""`ensemble-fit plan`: options -> PlanConfig, measure the pilot, plan, write
plan.json and plan.md, print the table."""
from __future__ import annotations

import time

from measure.atomic import write_json, write_text
from measure.errors import ConfigError

from .planner import PlanConfig, plan
from .report import markdown, table


def plan_config(args, seed: int, costs: dict[str, float] | None) -> PlanConfig:
    """The plan's settings from the command line, checked before any work."""
    cost_budget = getattr(args, "cost_budget", None)
    if cost_budget is not None and not costs:
        raise ConfigError("--cost-budget needs --metadata with a 'cost' for every simulator")
    cfg = PlanConfig(budget=cost_budget if cost_budget is not None else getattr(args, "budget", None),
                     budget_is_cost=cost_budget is not None,
                     target_ci=args.target_ci if getattr(args, "target_ci", None) is not None else 0.05,
                     objective=getattr(args, "objective", "both"), rounds=getattr(args, "rounds", 1),
                     n_boot=getattr(args, "plan_bootstrap", None) or 20,
                     negligible_weight=getattr(args, "negligible_weight", 0.02), seed=seed)
    cfg.check()
    return cfg


def light_measure(args, mconf) -> None:
    """The planner needs the pilot's labels, not measure's own statistics: its
    bootstrap replaces measure's gap CIs, so unless asked for, measure runs
    with 20 resamples, one codebook seed and no classifier lens (the warm
    demo plan: seconds instead of minutes on a busy machine)."""
    if getattr(args, "bootstrap", None) is None:
        mconf.n_bootstrap = 20
    if getattr(args, "codebook_seeds", None) is None:
        mconf.n_codebook_seeds = 1
    if hasattr(mconf, "discriminator"):
        mconf.discriminator = False


def run_plan(args, mconf, measure_pilot, costs, reporter, console) -> int:
    """Measure the pilot (through `measure_pilot()`), plan, write, print."""
    from measure.pipeline import blas_threads
    t0 = time.perf_counter()
    pconf = plan_config(args, mconf.seed, costs)
    light_measure(args, mconf)
    m = measure_pilot()
    if pconf.budget_is_cost:
        missing = [s for s in m.simulators if s not in costs]
        if missing:
            raise ConfigError(f"--cost-budget needs a cost for every simulator; {args.metadata} has none for: "
                              f"{', '.join(missing)}")
    with reporter.stage("plan: bootstrap at several sizes, allocation"), blas_threads():
        p = plan(m, pconf, costs=costs)
    write_json(args.out / "plan.json", p.to_json())
    write_text(args.out / "plan.md", markdown(p))
    console.print(table(p))
    b = p.budget
    console.print(f"{b['recommended_conversations']:,} new conversations recommended "
                  f"({b['to_dominated']:,} to dominated simulators); real users: "
                  f"{p.real.recommended_additional:,} more help")
    if p.rounds["rounds"] > 1:
        console.print(f"round 1 of {p.rounds['rounds']}: generate these, add them to --data and run plan "
                      f"again with --budget {p.rounds['remaining_after_this_round']:g}; cached descriptions "
                      f"and embeddings make a round cost seconds")
    console.print(f"wrote {args.out}/plan.json, plan.md ({time.perf_counter() - t0:.1f}s)")
    return 0
