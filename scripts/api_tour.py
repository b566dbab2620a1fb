"""The Python API end to end, as in a notebook: load -> measure -> fit -> sample.

    python scripts/api_tour.py [OUT_DIR]

Writes the demo data, measures every simulator's gap to real users, fits
the mixture, writes measure.json and weights.json, and draws simulators for
100 training episodes. Uses only the public API (`measure`, `ensemble`).
"""
from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import ensemble  # noqa: E402
import measure  # noqa: E402
from ensemble.demo import write_demo  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    demo = write_demo(out / "demo-data", n_per_simulator=60, n_real=200)

    # 1. Load: real users are the source named "real"; every other source is a simulator.
    data = measure.load_conversations([demo])
    print(f"loaded {len(data.conversations)} conversations: real {data.real_sources}, "
          f"{len(data.simulators)} simulators")

    # 2. Measure: 30% of real users are held out for checking the mixture.
    config = measure.MeasureConfig(seed=0, heldout_fraction=0.3, n_bootstrap=50, n_codebook_seeds=1)
    m = measure.measure_gap(data, config, cache_dir=os.environ.get("ENSEMBLE_FIT_CACHE"))
    print(f"noise floor (real vs real): {m.floor.js:.4f} bits")
    for sim in m.ranking:
        g = m.gap[sim]
        print(f"  {sim:28s} gap {g.js:.4f} [{g.ci[0]:.4f}, {g.ci[1]:.4f}]  style {g.facets['style'].js:.4f}")
    m.to_json(out / "measure.json")

    # 3. Fit: at most three simulators.
    mix = ensemble.fit_mixture(m, ensemble.FitConfig(max_simulators=3, weight_bootstrap=10))
    print("mixture:", ", ".join(f"{s} {mix.weights[s]:.2f}" for s in mix.support))
    h = mix.heldout
    print(f"held-out JS: mixture {h.mixture_js:.4f}, best single {h.best_single.name} {h.best_single.js:.4f}")
    mix.to_json(out / "weights.json")

    # 4. Sample: which simulator plays the user in each training episode.
    sampler = ensemble.SimulatorSampler.from_file(out / "weights.json", seed=0)
    counts = Counter(sampler.draw() for _ in range(100))
    print("100 episodes:", dict(counts.most_common()))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="ensemble-fit-tour-")))
