"""measure.json (schema ensemble-fit/measure/v1), its CSV table and the .npz
of per-source distributions."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from . import __version__
from .atomic import write_bytes, write_json, write_text
from .conversation import fingerprint
from .pipeline import MIN_CONVERSATIONS, REAL, Measurement
from .run_folder import measurement_run_id, run_id

MEASURE_SCHEMA = "ensemble-fit/measure/v1"
METRICS = ("js", "js_nats", "kl_forward", "kl_backward", "tv", "hellinger")


def measure_json(m: Measurement, extra: dict | None = None) -> dict:
    prep = m.prep
    fp = fingerprint(prep.conversations)
    counts = {REAL: int(len(prep.rows_of(REAL)))}
    counts.update({s: int(len(prep.rows_of(s))) for s in prep.simulators})
    out = {
        "schema": MEASURE_SCHEMA,
        "version": __version__,
        "real": prep.real_names,
        "simulators": prep.simulators,
        "facets": prep.facets,
        "k": m.k,
        "facet_weights": m.facet_weights,
        "n": counts,
        "n_heldout_real": int(prep.heldout.sum()),
        "ranking": m.ranking,
        "gap": {s: _gap_row(m, s) for s in prep.simulators},
        "noise_floor": m.floor.to_dict(),
        "too_few_conversations": {"min": MIN_CONVERSATIONS, "sources": list(m.too_few),
                                  "allow_small": bool(m.config.allow_small)},
        "codebook_seed_spread": {s: v.to_dict() for s, v in m.seed_spread.items()},
        "pairwise": {"names": m.pairwise["names"], "js": m.pairwise["js"],
                     "per_facet": m.pairwise["per_facet"]},
        "by_task": m.by_task,
        "by_family": m.by_family,
        "dropped": [{"id": d[0], "source": d[1], "facet": d[2], "reason": d[3]} for d in prep.dropped],
        "config": m.config.to_dict(),
        "representation": prep.representation,
        "data_fingerprint": fp,
        # Every output of the run carries it (weights.json, explain.json ...): `report` refuses mixed folders.
        "run_id": run_id(fp, m.config.to_dict(), prep.representation),
        "units": {"js": "bits", "js_nats": "nats", "kl_forward": "nats, KL(real || sim), alpha=1/k",
                  "kl_backward": "nats, KL(sim || real), alpha=1/k", "tv": "[0,1]", "hellinger": "[0,1]"},
    }
    if extra:
        out.update(extra)
    return out


def _gap_row(m: Measurement, s: str) -> dict:
    row = m.gap[s].to_dict()
    if s in m.discriminator:
        d = m.discriminator[s]
        row["discriminator"] = {"auc": d.auc, "auc_ci": list(d.ci), "n_real": d.n_real, "n_sim": d.n_sim,
                                "top_features": [f.to_dict() for f in d.top_features]}
    if s in m.mauve:
        row["mauve"] = m.mauve[s]
    if m.unmeasured(s):
        row["too_few_conversations"] = True
    return row


def ranking_csv(m: Measurement) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    facets = m.prep.facets
    w.writerow(["rank", "simulator", "n", "js", "js_ci_lo", "js_ci_hi", "floor_js", "seed_std",
                *[f"{f}_js" for f in facets]])
    for r, s in enumerate(m.ranking, 1):
        g = m.gap[s]
        w.writerow([r, s, g.n, f"{g.js:.6f}", f"{g.ci[0]:.6f}", f"{g.ci[1]:.6f}", f"{m.floor.js:.6f}",
                    f"{m.seed_spread[s].std:.6f}", *[f"{g.facets[f].js:.6f}" for f in facets]])
    return buf.getvalue()


def distributions_npz(m: Measurement) -> bytes:
    arrays = {}
    for f, per in m.dist.items():
        for s, p in per.items():
            arrays[f"{f}/{s}"] = p
    arrays["sources"] = np.array([REAL] + m.prep.simulators)
    arrays["facets"] = np.array(m.prep.facets)
    arrays["run_id"] = np.array(measurement_run_id(m))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write_measure_outputs(m: Measurement, out_dir: str | Path, extra: dict | None = None) -> dict:
    out_dir = Path(out_dir)
    data = measure_json(m, extra)
    write_json(out_dir / "measure.json", data)
    write_text(out_dir / "measure.csv", ranking_csv(m))
    write_bytes(out_dir / "distributions.npz", distributions_npz(m))
    return data
