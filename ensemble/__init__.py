"""ensemble-fit's mixture side: fit the simulator mixture closest to real
users, sweep the settings, report, and hand the weights to a training loop.

The public API, re-exported here (with `measure.load_conversations` and
`measure.measure_gap` for the measurement)::

    mix = ensemble.fit_mixture(m, ensemble.FitConfig(max_simulators=3))
    mix.weights, mix.heldout.mixture_js, mix.heldout.best_single
    mix.to_json("weights.json")
    sampler = ensemble.SimulatorSampler.from_file("weights.json", seed=0)
    result = ensemble.sweep(data, n_trials=50, storage="sqlite:///s.db")

Names are resolved on first use: `from ensemble.sampler import
SimulatorSampler` in a training loop must not pull in torch, cvxpy or optuna.
"""
from measure._lazy import lazy_exports

_EXPORTS = {
    "fit_mixture": "ensemble._api",
    "sweep": "ensemble._api",
    "SweepResult": "ensemble._api",
    "FitConfig": "ensemble.mixture.fit",
    "Mixture": "ensemble.mixture.fit",
    "Heldout": "ensemble.mixture.fit",
    "SimulatorSampler": "ensemble.sampler",
    "write_report": "ensemble.report",
    "assign_dataset": "ensemble.assign",
    "PlanConfig": "ensemble.plan",
    "Plan": "ensemble.plan",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
