"""The pilot sample as the planner sees it: cluster labels per facet and the
rows of every source. Built from a Measurement, or sliced from a larger one
(the budget simulation reuses one labelled pool for all its subsamples)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from measure.pipeline import REAL, Measurement


@dataclass
class Pilot:
    """Labels on fixed codebooks and the rows of each source.

    `rows[REAL]` are the real users the mixture is fit to (held-out users
    excluded); `rows[s]` the conversations of simulator `s`.
    """
    facets: list[str]
    k: dict[str, int]
    facet_weights: dict[str, float]
    labels: dict[str, np.ndarray]          # facet -> (n_rows,) cluster label
    rows: dict[str, np.ndarray]            # source -> row indices into labels
    simulators: list[str]

    def n(self, source: str) -> int:
        return int(len(self.rows[source]))

    def hist(self, facet: str, rows: np.ndarray) -> np.ndarray:
        counts = np.bincount(self.labels[facet][rows], minlength=self.k[facet]).astype(np.float64)
        return counts / max(1, len(rows))

    def histograms(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(P, q): facet -> (S, k) simulator rows in `simulators` order, facet -> (k,) real."""
        P = {f: np.vstack([self.hist(f, self.rows[s]) for s in self.simulators]) for f in self.facets}
        q = {f: self.hist(f, self.rows[REAL]) for f in self.facets}
        return P, q

    def subset(self, rows: dict[str, np.ndarray]) -> "Pilot":
        """The same labels with other rows per source (e.g. a subsample)."""
        missing = [s for s in [REAL] + self.simulators if s not in rows]
        if missing:
            raise ValueError(f"subset needs rows for every source; missing {missing}")
        return Pilot(facets=self.facets, k=self.k, facet_weights=self.facet_weights, labels=self.labels,
                     rows={s: np.asarray(r, dtype=np.int64) for s, r in rows.items()},
                     simulators=list(self.simulators))


def pilot_from(m: Measurement, facet_weights: dict[str, float] | None = None) -> Pilot:
    """The planner's view of a measurement (its codebooks and labels as they are)."""
    prep = m.prep
    fw = dict(facet_weights or m.facet_weights)
    total = sum(fw.values())
    fw = {f: float(v) / total for f, v in fw.items()}
    rows = {REAL: prep.rows_of(REAL), **{s: prep.rows_of(s) for s in prep.simulators}}
    return Pilot(facets=list(prep.facets), k=dict(m.k), facet_weights=fw,
                 labels={f: np.asarray(m.labels[f], dtype=np.int64) for f in prep.facets},
                 rows=rows, simulators=list(prep.simulators))
