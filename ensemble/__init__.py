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
_EXPORTS = {
    "fit_mixture": "ensemble._api",
    "sweep": "ensemble._api",
    "SweepResult": "ensemble._api",
    "FitConfig": "ensemble.mixture.fit",
    "Mixture": "ensemble.mixture.fit",
    "Heldout": "ensemble.mixture.fit",
    "SimulatorSampler": "ensemble.sampler",
    "write_report": "ensemble.report",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ensemble' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
