"""The search space of a sweep: k per facet, facet weights, optional PCA and divergence."""
from __future__ import annotations

from dataclasses import dataclass

import optuna

from measure.pipeline import Prepared

K_LOW, K_CAP = 4, 500
PCA_RANGE = (0.5, 0.99)
DIVERGENCES = ("js", "kl_forward")


@dataclass
class SearchSpace:
    facets: list[str]
    k_low: int
    k_high: int
    tune_pca: bool = False
    tune_divergence: bool = False
    pca_low: float = PCA_RANGE[0]
    pca_high: float = PCA_RANGE[1]

    @classmethod
    def for_data(cls, prep: Prepared, default_k_: dict[str, int], tune_pca: bool = False,
                 tune_divergence: bool = False) -> "SearchSpace":
        # About three conversations per cluster in the smallest source at most;
        # widened to contain the defaults so the default trial is a valid point.
        high = max(K_LOW, min(K_CAP, prep.min_source_size() // 3))
        return cls(facets=list(prep.facets), k_low=min(K_LOW, *default_k_.values()),
                   k_high=max(high, *default_k_.values()), tune_pca=tune_pca,
                   tune_divergence=tune_divergence)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Settings:
    """One point of the search space, in the units the pipeline uses."""
    k: dict[str, int]
    facet_weights: dict[str, float]   # normalized to sum 1
    pca_variance: float | None
    divergence: str

    def params(self, space: SearchSpace) -> dict:
        """Optuna params that reproduce these settings (served to the default trial)."""
        top = max(self.facet_weights.values())
        p: dict = {f"k_{f}": int(self.k[f]) for f in space.facets}
        p.update({f"w_{f}": self.facet_weights[f] / top for f in space.facets})
        if space.tune_pca and self.pca_variance is not None:
            p["pca_variance"] = float(min(max(self.pca_variance, space.pca_low), space.pca_high))
        if space.tune_divergence:
            p["divergence"] = self.divergence
        return p

    @classmethod
    def from_params(cls, params: dict, space: SearchSpace, base: "Settings") -> "Settings":
        raw = {f: float(params[f"w_{f}"]) for f in space.facets}
        return cls(k={f: int(params[f"k_{f}"]) for f in space.facets},
                   facet_weights=normalize(raw),
                   pca_variance=float(params["pca_variance"]) if "pca_variance" in params else base.pca_variance,
                   divergence=str(params.get("divergence", base.divergence)))

    def to_dict(self) -> dict:
        return {"k": dict(self.k), "facet_weights": dict(self.facet_weights),
                "pca_variance": self.pca_variance, "divergence": self.divergence}


def normalize(raw: dict[str, float]) -> dict[str, float]:
    total = sum(raw.values())
    if total <= 0:  # every weight sampled at 0: read it as "no preference"
        return {f: 1.0 / len(raw) for f in raw}
    return {f: v / total for f, v in raw.items()}


def suggest(trial: optuna.Trial, space: SearchSpace, base: Settings) -> Settings:
    """The search space, in the order Optuna sees it."""
    for f in space.facets:
        trial.suggest_int(f"k_{f}", space.k_low, space.k_high, log=True)
    # One float per facet in [0, 1], normalized: simple, and every facet's
    # importance is readable from its own parameter.
    for f in space.facets:
        trial.suggest_float(f"w_{f}", 0.0, 1.0)
    if space.tune_pca:
        trial.suggest_float("pca_variance", space.pca_low, space.pca_high)
    if space.tune_divergence:
        trial.suggest_categorical("divergence", list(DIVERGENCES))
    return Settings.from_params(trial.params, space, base)


# ------------------------------------------------------------------ objective
