"""measure.json (schema ensemble-fit/measure/v1), its CSV table and the .npz
of per-source distributions."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import __version__
from .atomic import write_bytes, write_json, write_text
from .errors import EnsembleFitError
from .results import MIN_CONVERSATIONS, REAL
from .run_folder import data_fingerprint, measurement_run_id

if TYPE_CHECKING:   # pipeline imports this module to write its outputs
    from .pipeline import Measurement

MEASURE_SCHEMA = "ensemble-fit/measure/v1"
# Above this many sources (real users included) the pairwise JS matrices go to
# pairwise.npz and measure.json keeps their names and a summary: inline, 2,000
# sources made a 450 MB measure.json that nobody reads cell by cell.
PAIRWISE_INLINE_MAX = 200
PAIRWISE_NPZ = "pairwise.npz"
METRICS = ("js", "js_nats", "kl_forward", "kl_backward", "tv", "hellinger")


def measure_json(m: Measurement, extra: dict | None = None) -> dict:
    prep = m.prep
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
        "pairwise": pairwise_json(m),
        "by_task": m.by_task,
        "by_family": m.by_family,
        "dropped": [{"id": d[0], "source": d[1], "facet": d[2], "reason": d[3]} for d in prep.dropped],
        "config": m.config.to_dict(),
        "representation": prep.representation,
        "data_fingerprint": data_fingerprint(prep),
        # Every output of the run carries it (weights.json, explain.json ...): `report` refuses mixed folders.
        "run_id": measurement_run_id(m),
        "units": {"js": "bits", "js_nats": "nats", "kl_forward": "nats, KL(real || sim), alpha=1/k",
                  "kl_backward": "nats, KL(sim || real), alpha=1/k", "tv": "[0,1]", "hellinger": "[0,1]"},
    }
    if extra:
        out.update(extra)
    return out


def pairwise_json(m: Measurement) -> dict:
    """measure.json's ``pairwise``: the matrices inline up to PAIRWISE_INLINE_MAX
    sources; above, where they are (pairwise.npz: ``js``, ``per_facet/{facet}``)
    and the off-diagonal range of the overall JS."""
    names = list(m.pairwise["names"])
    if len(names) <= PAIRWISE_INLINE_MAX:
        return {"names": names, "js": m.pairwise["js"], "per_facet": m.pairwise["per_facet"]}
    js = np.asarray(m.pairwise["js"])
    off = js[~np.eye(len(names), dtype=bool)]
    return {"names": names, "file": PAIRWISE_NPZ,
            "arrays": {"js": "js", "per_facet": {f: f"per_facet/{f}" for f in m.pairwise["per_facet"]}},
            "note": f"{len(names)} sources: above {PAIRWISE_INLINE_MAX} the matrices are in {PAIRWISE_NPZ}",
            "summary": {"js_min": float(off.min()), "js_median": float(np.median(off)), "js_max": float(off.max())}}


def pairwise_npz(m: Measurement) -> bytes | None:
    """pairwise.npz when measure.json does not hold the matrices, else None."""
    if len(m.pairwise["names"]) <= PAIRWISE_INLINE_MAX:
        return None
    arrays = {"names": np.array(m.pairwise["names"]), "js": np.asarray(m.pairwise["js"]),
              "run_id": np.array(measurement_run_id(m))}
    arrays.update({f"per_facet/{f}": np.asarray(v) for f, v in m.pairwise["per_facet"].items()})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def read_pairwise(measure: dict, run_dir: str | Path, per_facet: bool = True) -> dict:
    """``{"names", "js", "per_facet"}`` of a measure.json, inline or from its
    pairwise.npz (``per_facet`` False: the overall matrix only, 1/9 the memory).

    Raises
    ------
    EnsembleFitError
        The npz is missing, unreadable, or from another run.
    """
    pw = measure["pairwise"]
    if "file" not in pw:
        return {"names": list(pw["names"]), "js": np.asarray(pw["js"], dtype=np.float64),
                "per_facet": {f: np.asarray(v, dtype=np.float64) for f, v in pw.get("per_facet", {}).items()}}
    path = Path(run_dir) / pw["file"]
    try:
        with np.load(path, allow_pickle=False) as z:
            if measure.get("run_id") and str(z["run_id"]) != measure["run_id"]:
                raise EnsembleFitError(f"{path} comes from another run than measure.json (run id "
                                       f"{z['run_id']} vs {measure['run_id']})")
            return {"names": [str(n) for n in z["names"]], "js": z["js"],
                    "per_facet": {f: z[key] for f, key in pw["arrays"]["per_facet"].items()} if per_facet else {}}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise EnsembleFitError(f"cannot read {path} (measure.json's pairwise matrices): {exc}") from None


def write_measure_json(m: Measurement, path: str | Path, extra: dict | None = None) -> dict:
    """measure.json at `path`, and pairwise.npz beside it when the matrices do not go inline."""
    path = Path(path)
    data = measure_json(m, extra)
    big = pairwise_npz(m)
    if big is not None:
        write_bytes(path.parent / PAIRWISE_NPZ, big)   # first: measure.json points to it
    write_json(path, data)
    return data


def _gap_row(m: Measurement, s: str) -> dict:
    row = m.gap[s].to_dict()
    if s in m.discriminator:
        d = m.discriminator[s]
        row["discriminator"] = d.to_dict()
    if s in m.mauve:
        row["mauve"] = m.mauve[s]
    if m.unmeasured(s):
        row["too_few_conversations"] = True
    return row


def ranking_csv(m: Measurement) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    facets = m.prep.facets
    # The classifier lens and the row's status come after the facet columns,
    # so readers that index the earlier columns by position keep working.
    w.writerow(["rank", "simulator", "n", "js", "js_ci_lo", "js_ci_hi", "floor_js", "seed_std",
                *[f"{f}_js" for f in facets], "auc", "auc_ci_lo", "auc_ci_hi", "floor_auc", "status"])
    floor_auc = "" if m.discriminator_floor is None else f"{m.discriminator_floor.auc:.4f}"
    for r, s in enumerate(m.ranking, 1):
        g = m.gap[s]
        d = m.discriminator.get(s)
        lens = ["", "", ""] if d is None else [f"{d.auc:.4f}", f"{d.ci[0]:.4f}", f"{d.ci[1]:.4f}"]
        w.writerow([r, s, g.n, f"{g.js:.6f}", f"{g.ci[0]:.6f}", f"{g.ci[1]:.6f}", f"{m.floor.js:.6f}",
                    f"{m.seed_spread[s].std:.6f}", *[f"{g.facets[f].js:.6f}" for f in facets],
                    *lens, floor_auc, "too_few_conversations" if m.unmeasured(s) else "ok"])
    return buf.getvalue()


def distributions_npz(m: Measurement) -> bytes:
    arrays = {}
    for f, per in m.dist.items():
        for s, p in per.items():
            arrays[f"{f}/{s}"] = p
    arrays["sources"] = np.array([REAL] + m.prep.simulators)
    arrays["facets"] = np.array(m.prep.facets)
    arrays["run_id"] = np.array(measurement_run_id(m))
    arrays["data_fingerprint"] = np.array(data_fingerprint(m.prep))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write_measure_outputs(m: Measurement, out_dir: str | Path, extra: dict | None = None) -> dict:
    out_dir = Path(out_dir)
    data = write_measure_json(m, out_dir / "measure.json", extra)
    write_text(out_dir / "measure.csv", ranking_csv(m))
    write_bytes(out_dir / "distributions.npz", distributions_npz(m))
    return data
