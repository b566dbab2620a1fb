"""Measurement core of ensemble-fit: loading, facets, embeddings, shared
codebooks, distributions and divergences. Never imports `ensemble`.

The public API, re-exported here::

    data = measure.load_conversations(["data/"])
    m = measure.measure_gap(data, measure.MeasureConfig(k_default=50, seed=0))
    m.ranking, m.gap["sim_a"].js, m.gap["sim_a"].ci, m.floor.js
    m.to_json("measure.json")

Names are resolved on first use, so `import measure` (and the light
`ensemble.sampler`, which reads its errors from here) loads no numerical
library.
"""
__version__ = "0.1.0"

from ._lazy import lazy_exports

_EXPORTS = {
    "load_conversations": "measure._api",
    "measure_gap": "measure._api",
    "prepare_data": "measure._api",
    "estimate_extraction": "measure._api",
    "default_cache_dir": "measure._api",
    "Representation": "measure._api",
    "Dataset": "measure.loaders",
    "MeasureConfig": "measure.pipeline",
    "Measurement": "measure.pipeline",
    "Prepared": "measure.pipeline",
    "SimulatorGap": "measure.results",
    "FacetGap": "measure.results",
    "NoiseFloor": "measure.results",
    "SeedSpread": "measure.results",
    "EnsembleFitError": "measure.errors",
    "InputError": "measure.errors",
    "ConfigError": "measure.errors",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
