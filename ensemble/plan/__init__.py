"""Plan the generation budget: how many conversations each simulator needs,
and which to generate next (`ensemble-fit plan`).

    from ensemble.plan import plan, PlanConfig
    p = plan(measurement, PlanConfig(budget=2000))
    p.to_json()            # plan.json, schema ensemble-fit/plan/v1
"""
from .allocate import Allocation, allocate
from .curves import Curves, estimate
from .pilot import Pilot, pilot_from
from .planner import PLAN_SCHEMA, Plan, PlanConfig, RealPlan, SimulatorPlan, plan, plan_pilot
from .report import markdown, table

__all__ = ["PLAN_SCHEMA", "Allocation", "Curves", "Pilot", "Plan", "PlanConfig", "RealPlan", "SimulatorPlan",
           "allocate", "estimate", "markdown", "pilot_from", "plan", "plan_pilot", "table"]
