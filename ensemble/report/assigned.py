"""Close the loop: the mixture an assignment (or a sampler) realised, and its
predicted gap, next to the fitted mixture (`ensemble-fit report --assigned`).

The predicted gap of a weight vector w is the facet-weighted Jensen-Shannon
divergence (bits) between the mixture of the simulators' cluster histograms,
sum_s w_s P_f[s], and the real users' histogram q_f, both read from the run's
distributions.npz (real users: the fit split). The fitted weights go through
the same computation, so the two numbers differ only by the weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from measure.errors import EnsembleFitError, InputError

REAL = "real"          # the pooled real users' key in distributions.npz (measure.pipeline.REAL)


@dataclass(frozen=True)
class AssignedCheck:
    """The realised mixture of an assignment against the fitted one."""

    source: str
    rows: int
    counts: dict[str, int]
    realized: dict[str, float]
    fitted: dict[str, float]
    predicted_js: float          # facet-weighted JS (bits) of the realised mixture
    fitted_js: float             # the same for the fitted weights

    @property
    def max_share_difference(self) -> float:
        names = set(self.realized) | set(self.fitted)
        return max(abs(self.realized.get(s, 0.0) - self.fitted.get(s, 0.0)) for s in names)

    def to_json(self) -> dict:
        return {"source": self.source, "rows": self.rows, "counts": self.counts,
                "realized": self.realized, "fitted": self.fitted,
                "predicted_js": self.predicted_js, "fitted_js": self.fitted_js,
                "max_share_difference": self.max_share_difference}


def predicted_gap(weights: dict[str, float], dists: dict[str, np.ndarray], facets: list[str],
                  facet_weights: dict[str, float]) -> float:
    """Facet-weighted JS (bits) of the mixture `weights` against real users.

    Parameters
    ----------
    weights : dict
        Simulator -> weight (summing to 1).
    dists : dict
        distributions.npz content: "facet/source" -> histogram, REAL included.
    facets, facet_weights
        From measure.json (facet weights are normalised here).

    Raises
    ------
    EnsembleFitError
        When a simulator with positive weight has no histogram in the run.
    """
    from ensemble.mixture.optimizer import mixture_objective

    names = [s for s, w in weights.items() if w > 0]
    missing = sorted({s for s in names for f in facets if f"{f}/{s}" not in dists})
    if missing:
        raise EnsembleFitError(f"simulators not measured in this run: {', '.join(missing[:10])}")
    P = {f: np.vstack([dists[f"{f}/{s}"] for s in names]) for f in facets}
    q = {f: dists[f"{f}/{REAL}"] for f in facets}
    w = np.array([weights[s] for s in names], dtype=float)
    return float(mixture_objective(w / w.sum(), P, q, {f: facet_weights.get(f, 0.0) for f in facets}, "js"))


def check_assignment(assigned: str | Path, measure: dict, weights: dict,
                     dists: dict[str, np.ndarray], column: str = "simulator") -> AssignedCheck:
    """Counts of an assignment (dataset, its summary, or a sampler state) against a run.

    Parameters
    ----------
    assigned : path
        What `load_assignment_counts` reads.
    measure, weights : dict
        The run's measure.json and weights.json.
    dists : dict
        The run's distributions.npz.
    """
    from ensemble.assign import load_assignment_counts

    counts = load_assignment_counts(assigned, column=column)
    n = sum(counts.values())
    if n <= 0:
        raise InputError("no assigned rows", file=str(assigned))
    unknown = sorted(s for s, c in counts.items() if c and s not in weights["weights"])
    if unknown:
        raise InputError(f"simulators not in this run's weights: {', '.join(map(repr, unknown[:10]))}",
                         file=str(assigned))
    realized = {s: counts.get(s, 0) / n for s in weights["weights"]}
    facets = list(measure["facets"])
    fw = (weights.get("objective") or {}).get("facet_weights") or measure.get("facet_weights") or {}
    fw = {f: float(fw.get(f, 1.0)) for f in facets}
    return AssignedCheck(source=str(assigned), rows=n, counts={s: counts.get(s, 0) for s in weights["weights"]},
                         realized=realized, fitted=dict(weights["weights"]),
                         predicted_js=predicted_gap(realized, dists, facets, fw),
                         fitted_js=predicted_gap(weights["weights"], dists, facets, fw))


def assigned_blocks(check: AssignedCheck | None) -> list:
    """Report section: the realised mixture and its predicted gap beside the fitted one."""
    if check is None:
        return []
    from ensemble.report.blocks import Heading, Para, Table

    names = sorted(check.fitted, key=lambda s: (-check.fitted[s], s))
    rows = [[s, f"{check.fitted[s]:.4f}", str(check.counts.get(s, 0)), f"{check.realized.get(s, 0.0):.4f}",
             f"{check.realized.get(s, 0.0) - check.fitted[s]:+.4f}"]
            for s in names if check.fitted[s] > 0 or check.counts.get(s, 0)]
    diff = check.predicted_js - check.fitted_js
    return [Heading(2, "The mixture in training"),
            Para(f"{check.rows} episodes or rows were assigned ({check.source}). Their realised mixture, "
                 "over all tasks together, against the fitted global weights; with per-task mixtures the "
                 "realised shares also reflect how many rows each task has."),
            Table(["simulator", "fitted weight", "assigned", "realised share", "difference"], rows,
                  f"Largest difference in share: {check.max_share_difference:.4f}."),
            Table(["mixture", "predicted gap (JS, bits)"],
                  [["fitted weights", f"{check.fitted_js:.4f}"], ["realised mixture", f"{check.predicted_js:.4f}"],
                   ["difference", f"{diff:+.4f}"]],
                  "Facet-weighted JS between the mixture of the simulators' cluster shares and the real users "
                  "of the fit split (distributions.npz), the same computation for both rows.")]
