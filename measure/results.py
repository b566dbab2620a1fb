"""Typed results of a measurement: one simulator's gap, its per-facet
divergences, the real-vs-real noise floor and the codebook-seed spread.

JSON exists only at the edge: `to_dict()` gives the `measure.json` (schema
v1) shape, key for key and in the same order, so the file stays
byte-identical whether it is written by the CLI or by `Measurement.to_json`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

REAL = "real"  # the pooled real-user population in every output
# Below this many conversations (real users: in the fit split) a source's gap
# is mostly sampling noise at any k: its row reads "too few conversations to
# measure" instead of a number, unless --allow-small.
MIN_CONVERSATIONS = 20
TOO_FEW = "too few conversations to measure"


def _ci(pair) -> tuple[float, float]:
    lo, hi = pair
    return float(lo), float(hi)


@dataclass(frozen=True)
class FacetGap:
    """Divergences between real users and one simulator on one facet.

    `js` in bits (`js_nats` in nats), `ci` the bootstrap 95% interval of `js`,
    `kl_forward` = KL(real || simulator) and `kl_backward` = KL(simulator ||
    real) in nats with 1/k smoothing, `tv` and `hellinger` in [0, 1].
    """
    js: float
    ci: tuple[float, float]
    js_nats: float
    kl_forward: float
    kl_backward: float
    tv: float
    hellinger: float

    METRICS = ("js", "js_nats", "kl_forward", "kl_backward", "tv", "hellinger")

    @classmethod
    def from_dict(cls, row: dict) -> "FacetGap":
        return cls(ci=_ci(row["js_ci"]), **{k: float(row[k]) for k in cls.METRICS})

    def to_dict(self) -> dict:
        return {**{k: getattr(self, k) for k in self.METRICS}, "js_ci": list(self.ci)}


@dataclass(frozen=True)
class SimulatorGap:
    """One simulator's overall gap: the facet-weighted mean of the facets' JS (bits)."""
    js: float
    ci: tuple[float, float]
    n: int
    facets: dict[str, FacetGap]

    @classmethod
    def from_dict(cls, row: dict, facets) -> "SimulatorGap":
        o = row["overall"]
        return cls(js=float(o["js"]), ci=_ci(o["js_ci"]), n=int(o["n"]),
                   facets={f: FacetGap.from_dict(row[f]) for f in facets})

    def to_dict(self) -> dict:
        return {"overall": {"js": self.js, "js_ci": list(self.ci), "n": self.n},
                **{f: g.to_dict() for f, g in self.facets.items()}}


@dataclass(frozen=True)
class FacetFloor:
    js: float
    js_p95: float


@dataclass(frozen=True)
class NoiseFloor:
    """Real users against real users at the simulators' sample size.

    Two disjoint halves of `n_half` real conversations each are compared, many
    times; `js` is the mean overall JS (bits) and `js_p95` its 95th
    percentile. A simulator whose gap is within the floor cannot be told
    apart from real users at this sample size. `extra` keeps further
    real-vs-real figures (the discriminator's AUC) in output order.
    """
    js: float
    js_p95: float
    n_half: int
    facets: dict[str, FacetFloor]
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict, facets) -> "NoiseFloor":
        known = {"overall", "n_half", *facets}
        return cls(js=float(d["overall"]["js"]), js_p95=float(d["overall"]["js_p95"]),
                   n_half=int(d["n_half"]),
                   facets={f: FacetFloor(float(d[f]["js"]), float(d[f]["js_p95"])) for f in facets},
                   extra={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict:
        out = {"overall": {"js": self.js, "js_p95": self.js_p95}, "n_half": self.n_half}
        out.update({f: {"js": v.js, "js_p95": v.js_p95} for f, v in self.facets.items()})
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class SeedSpread:
    """A simulator's overall gap over codebooks refit with `seeds` seeds."""
    seeds: int
    mean: float
    std: float

    def to_dict(self) -> dict:
        return {"seeds": self.seeds, "mean": self.mean, "std": self.std}
