"""A second lens on the gap: can a classifier tell a simulator's users from real users?

A classifier two-sample test. For each simulator, a logistic regression is
trained to separate its conversations from real users' on the same facets
the JS measure reads: the one-hot cluster ids of every facet's shared
codebook, plus a few principal components of each facet's description
embeddings (what the clusters cut away). Its out-of-fold ROC AUC says how
well the two populations can be told apart: 0.5 is indistinguishable, 1.0
is perfectly separable. The same classifier on two random halves of the
real users gives the floor, what "no difference" reads at this sample size.

The AUC answers a different question from JS: JS weighs how much of the
behaviour distribution differs, the AUC how reliably single conversations
give a simulator away. A simulator that differs in a rare but sharp
behaviour can rank well on JS and still be spotted (AUC well above 0.5);
the report flags such disagreements.

Cost is kept low on purpose (it runs inside every `measure`): one sparse
design matrix is built once for all rows, each simulator's fit sees at most
`max_per_class` conversations per side (a deterministic subsample, the same
real users for every simulator), liblinear solves each of the 5 folds, and
the AUC's bootstrap CI resamples the out-of-fold scores in one vectorized
pass (no refits; its width is stretched for what that leaves out, see
`discriminate`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["DiscriminatorConfig", "SeparatingFeature", "DiscriminatorResult", "FeatureSpace",
           "build_features", "discriminate", "discriminate_all", "real_vs_real", "auc", "auc_bootstrap",
           "disagreements", "results_state", "results_from_state"]


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Settings of the discriminator; the defaults are what `measure` uses.

    Parameters
    ----------
    n_folds : cross-validation folds (stratified).
    n_components : principal components of each facet's embeddings added to
        the cluster one-hots (0: one-hots only).
    C : inverse L2 regularization strength of the logistic regression.
    max_per_class : conversations per side a fit sees at most (a seeded
        subsample beyond it keeps the cost bounded at paper scale).
    n_boot : bootstrap replicates of the out-of-fold scores for the CI.
    top : separating cluster features reported per simulator.
    n_floor : random real-user splits averaged for the real-vs-real floor.
    ci_inflation : factor the bootstrap CI's half-widths are stretched by
        around the AUC. The bootstrap resamples out-of-fold scores without
        refitting, so it leaves out how much the fitted models themselves
        vary; on real-vs-real splits the AUC scattered 1.23-1.32 times the
        bootstrap SE (ShareGPT 150 and 400 per side, demo 200 per side; see
        `discriminate`). Refitting inside the bootstrap would cost 30-100x.
    seed : seeds the subsample, the folds, the solver and the bootstrap.
    """
    n_folds: int = 5
    n_components: int = 2
    C: float = 0.1
    max_per_class: int = 1000
    n_boot: int = 200
    top: int = 5
    n_floor: int = 3
    ci_inflation: float = 1.3
    seed: int = 0


@dataclass(frozen=True)
class SeparatingFeature:
    """One cluster that tells the two populations apart.

    `coef` is the fold-averaged logistic weight (log-odds; positive: the
    cluster marks the simulator, negative: real users); the shares are the
    cluster's share of each population's conversations in the fitted sample.
    """
    facet: str
    cluster: int
    coef: float
    share_real: float
    share_sim: float

    @property
    def leans(self) -> str:
        return "simulator" if self.coef > 0 else "real users"

    def to_dict(self) -> dict:
        # Display precision: the coefficients rest on embedding components,
        # whose last bits depend on how texts were batched for the model (a
        # run resumed after a kill batches differently); rounding keeps the
        # outputs byte-stable.
        return {"facet": self.facet, "cluster": int(self.cluster), "coef": round(float(self.coef), 3),
                "share_real": float(self.share_real), "share_sim": float(self.share_sim),
                "leans": self.leans}


def _r4(x) -> float:
    """AUCs to 4 decimals in outputs (see SeparatingFeature.to_dict)."""
    return round(float(x), 4)


@dataclass(frozen=True)
class DiscriminatorResult:
    """Out-of-fold ROC AUC of one classifier, with its 95% bootstrap CI."""
    auc: float
    ci: tuple[float, float]
    n_real: int
    n_sim: int
    top_features: tuple[SeparatingFeature, ...] = ()

    def to_dict(self) -> dict:
        return {"auc": _r4(self.auc), "auc_ci": [_r4(self.ci[0]), _r4(self.ci[1])],
                "n_real": int(self.n_real), "n_sim": int(self.n_sim),
                "top_features": [f.to_dict() for f in self.top_features]}


@dataclass
class FeatureSpace:
    """The design matrix of every conversation, built once and shared.

    `X` (n_rows, n_features) CSR float64: for every facet its k cluster
    one-hots, then `n_components` standardized principal components of its
    description embedding. `onehot_of[j]` is (facet, cluster) for one-hot
    column j and None for a component column.
    """
    X: sp.csr_matrix
    onehot_of: list[tuple[str, int] | None] = field(default_factory=list)

    @property
    def n_onehot(self) -> int:
        return sum(o is not None for o in self.onehot_of)


def _components(vectors: np.ndarray, index: np.ndarray, m: int, fit_rows: np.ndarray | None,
                max_texts: int = 2000) -> np.ndarray:
    """(n_rows, m) standardized leading principal components of the rows' texts.

    The PCA is fit on the distinct texts weighted by how many rows carry
    them (the same PCA as on the repeated rows, at the cost of the distinct
    ones); beyond `max_texts` distinct texts a seeded subset of them is used.
    """
    rows = index if fit_rows is None else index[fit_rows]
    w = np.bincount(rows, minlength=vectors.shape[0]).astype(np.float64)
    used = np.flatnonzero(w > 0)
    if len(used) > max_texts:
        used = np.sort(np.random.default_rng(0).choice(used, size=max_texts, replace=False))
    V = vectors[used].astype(np.float64)
    wu = w[used] / w[used].sum()
    mean = wu @ V
    Vc = V - mean
    # float32 for the one d x d product: components only need a few digits.
    cov = ((Vc * wu[:, None]).T.astype(np.float32) @ Vc.astype(np.float32)).astype(np.float64)
    if not np.any(cov):   # every row has the same text: no direction to project on
        return np.zeros((len(index), m))
    from scipy.sparse.linalg import ArpackError, eigsh
    evals = None
    if m < cov.shape[0] - 1 and len(used) > m + 1:
        # Lanczos for the m leading pairs only; a fixed start vector keeps it deterministic.
        try:
            evals, evecs = eigsh(cov, k=m, which="LA", v0=np.ones(cov.shape[0]))
        except ArpackError:  # a covariance of too low rank for Lanczos: the full solve below
            evals = None
    if evals is None:
        evals, evecs = np.linalg.eigh(cov)
        evals, evecs = evals[-m:], evecs[:, -m:]
    order = np.argsort(evals)[::-1]
    comps = evecs[:, order]
    # Fixed signs (largest loading positive) so refits give the same axes.
    signs = np.sign(comps[np.argmax(np.abs(comps), axis=0), np.arange(comps.shape[1])])
    comps = comps * np.where(signs == 0, 1.0, signs)
    scale = np.sqrt(np.clip(evals[order], 1e-12, None))
    per_text = ((vectors.astype(np.float64) - mean) @ comps) / scale
    # Fewer directions than m (few distinct texts): the empty ones carry nothing
    # but float32 rounding of the covariance (about 1e-7 of its trace).
    per_text[:, evals[order] <= 1e-6 * float(np.trace(cov))] = 0.0
    return per_text[index]


def build_features(labels: dict[str, np.ndarray], k: dict[str, int],
                   embeddings: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                   n_components: int = 2, fit_rows: np.ndarray | None = None) -> FeatureSpace:
    """One sparse design matrix for every conversation.

    Parameters
    ----------
    labels : facet -> (n,) int cluster ids of every conversation.
    k : facet -> codebook size.
    embeddings : facet -> (vectors (n_texts, d), index (n,) row -> text);
        None or a missing facet: one-hots only for it.
    n_components : principal components per facet.
    fit_rows : rows the PCA is fit on (None: all).

    Returns
    -------
    FeatureSpace
    """
    facets = list(labels)
    n = len(labels[facets[0]])
    # Every row has the same number of entries (one one-hot per facet plus
    # its components), so the CSR arrays are built directly, column blocks
    # side by side, without a sparse concatenation.
    cols, vals, onehot_of = [], [], []
    offset = 0
    for f in facets:
        cols.append(offset + np.asarray(labels[f], dtype=np.int64)[:, None])
        vals.append(np.ones((n, 1)))
        onehot_of += [(f, c) for c in range(int(k[f]))]
        offset += int(k[f])
        if embeddings and f in embeddings and n_components > 0:
            vectors, index = embeddings[f]
            m = min(int(n_components), vectors.shape[1])
            vals.append(_components(vectors, np.asarray(index), m, fit_rows))
            cols.append(np.broadcast_to(offset + np.arange(m), (n, m)))
            onehot_of += [None] * m
            offset += m
    C, V = np.hstack(cols), np.hstack(vals)
    X = sp.csr_matrix((V.ravel(), C.ravel(), np.arange(n + 1) * C.shape[1]), shape=(n, offset))
    return FeatureSpace(X=X, onehot_of=onehot_of)


# ------------------------------------------------------------------ AUC

def auc(scores: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties count half) of scores for labels y in {0, 1}."""
    return float(auc_bootstrap(scores, y, n_boot=0)[0])


def auc_bootstrap(scores: np.ndarray, y: np.ndarray, n_boot: int = 200,
                  seed: int = 0) -> tuple[float, np.ndarray]:
    """The AUC and `n_boot` bootstrap replicates of it, resampling each class.

    Vectorized: scores are ranked once; each replicate only recounts how many
    draws of each class fall on each distinct score, so the AUC of all
    replicates is two (n_boot, n_distinct) count tables and one cumulative sum.
    """
    y = np.asarray(y).astype(bool)
    _, inv = np.unique(np.asarray(scores, dtype=np.float64), return_inverse=True)
    u = int(inv.max()) + 1
    pos, neg = inv[y], inv[~y]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("the AUC needs both classes")

    def value(pc: np.ndarray, nc: np.ndarray) -> np.ndarray:
        below = np.cumsum(nc, axis=-1) - nc  # negatives strictly below each score
        return (pc * (below + 0.5 * nc)).sum(axis=-1) / (pc.sum(axis=-1) * nc.sum(axis=-1))

    point = float(value(np.bincount(pos, minlength=u).astype(np.float64),
                        np.bincount(neg, minlength=u).astype(np.float64)))
    if n_boot <= 0:
        return point, np.zeros(0)
    rng = np.random.default_rng([int(seed), 3])

    def counts(cls: np.ndarray) -> np.ndarray:
        idx = rng.integers(0, len(cls), size=(n_boot, len(cls)), dtype=np.int32)
        flat = cls.astype(np.int64)[idx] + (np.arange(n_boot, dtype=np.int64) * u)[:, None]
        return np.bincount(flat.ravel(), minlength=n_boot * u).reshape(n_boot, u).astype(np.float64)

    return point, value(counts(pos), counts(neg))


# ----------------------------------------------------------- the classifier

def _folds(y: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified fold id of every row."""
    fold = np.empty(len(y), dtype=np.int64)
    for cls in (False, True):
        rows = np.flatnonzero(y == cls)
        fold[rng.permutation(rows)] = np.arange(len(rows)) % n_folds
    return fold


def _subsample(rows: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= cap:
        return rows
    return np.sort(rng.choice(rows, size=cap, replace=False))


def discriminate(space: FeatureSpace, real_rows: np.ndarray, sim_rows: np.ndarray,
                 config: DiscriminatorConfig = DiscriminatorConfig()) -> DiscriminatorResult:
    """Cross-validated discriminator between two sets of rows of `space`.

    Parameters
    ----------
    space : the shared design matrix (`build_features`).
    real_rows, sim_rows : row indices of the two populations (label 0 and 1).
    config : DiscriminatorConfig.

    Returns
    -------
    DiscriminatorResult
        Out-of-fold AUC (each conversation scored by the model that did not
        see it), its 95% percentile bootstrap CI, and the clusters with the
        largest fold-averaged weight times share of conversations.

    Notes
    -----
    The bootstrap resamples the out-of-fold scores, not the whole fit, so
    by itself it leaves out how much the folds' models vary: on random
    real-vs-real splits the AUC scattered with sd 0.037 where the bootstrap
    SE was 0.028 (demo, 200 per side; 26 of 30 CIs held 0.5), 0.040 vs
    0.033 (ShareGPT, 150 per side; 35 of 40) and 0.027 vs 0.021 (ShareGPT,
    400 per side; 33 of 40). The CI's half-widths are therefore stretched by
    `config.ci_inflation` (1.3, about the largest of those ratios); then 36
    and 38 of the 40 ShareGPT CIs held 0.5.
    """
    return _discriminate(space, real_rows, sim_rows, config)[0]


def _discriminate(space: FeatureSpace, real_rows: np.ndarray, sim_rows: np.ndarray,
                  config: DiscriminatorConfig) -> tuple[DiscriminatorResult, np.ndarray]:
    """`discriminate`, and the AUC's bootstrap replicates."""
    from sklearn import config_context
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng([int(config.seed), 5])
    real_rows = _subsample(np.asarray(real_rows), config.max_per_class, rng)
    sim_rows = _subsample(np.asarray(sim_rows), config.max_per_class, rng)
    rows = np.concatenate([real_rows, sim_rows])
    y = np.r_[np.zeros(len(real_rows), bool), np.ones(len(sim_rows), bool)]
    n_folds = int(min(config.n_folds, len(real_rows), len(sim_rows)))
    if n_folds < 2:
        raise ValueError(f"the discriminator needs at least 2 conversations per side, got "
                         f"{len(real_rows)} and {len(sim_rows)}")
    X = space.X[rows]
    fold = _folds(y, n_folds, rng)
    scores = np.empty(len(y))
    coef = np.zeros(X.shape[1])
    for j in range(n_folds):
        train = fold != j
        model = LogisticRegression(solver="liblinear", C=config.C, tol=1e-3,
                                   random_state=int(config.seed))
        # The inputs are ours and valid: skip sklearn's per-call parameter checks (a
        # few ms each, which add up over 5 folds x every simulator).
        with warnings.catch_warnings(), config_context(skip_parameter_validation=True, assume_finite=True):
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X[train], y[train])
        scores[~train] = X[~train] @ model.coef_[0] + model.intercept_[0]  # decision_function, unchecked
        coef += model.coef_[0] / n_folds
    point, boot = auc_bootstrap(scores, y, config.n_boot, config.seed)
    lo, hi = _ci(boot, point)
    k = max(1.0, float(config.ci_inflation))
    ci = (max(0.0, point - k * (point - lo)), min(1.0, point + k * (hi - point)))
    return DiscriminatorResult(auc=point, ci=ci, n_real=len(real_rows), n_sim=len(sim_rows),
                               top_features=_top(space, X, y, coef, config.top)), boot


def _ci(boot: np.ndarray, point: float) -> tuple[float, float]:
    lo, hi = np.percentile(boot, [2.5, 97.5]) if len(boot) else (point, point)
    return float(lo), float(hi)


def _top(space: FeatureSpace, X: sp.csr_matrix, y: np.ndarray, coef: np.ndarray,
         top: int) -> tuple[SeparatingFeature, ...]:
    cols = np.array([j for j, o in enumerate(space.onehot_of) if o is not None])
    if top <= 0 or len(cols) == 0:
        return ()
    Xo = X[:, cols]
    share_real = np.asarray(Xo[np.flatnonzero(~y)].mean(axis=0)).ravel()
    share_sim = np.asarray(Xo[np.flatnonzero(y)].mean(axis=0)).ravel()
    # A weight matters as much as the conversations it applies to.
    strength = np.abs(coef[cols]) * np.maximum(share_real, share_sim)
    order = np.lexsort((cols, -strength))[:top]
    return tuple(SeparatingFeature(facet=space.onehot_of[cols[i]][0], cluster=space.onehot_of[cols[i]][1],
                                   coef=float(coef[cols[i]]), share_real=float(share_real[i]),
                                   share_sim=float(share_sim[i]))
                 for i in order if strength[i] > 0)


def real_vs_real(space: FeatureSpace, real_rows: np.ndarray, n_half: int | None = None,
                 config: DiscriminatorConfig = DiscriminatorConfig()) -> DiscriminatorResult:
    """The floor: the same discriminator between two random halves of real users.

    `n_half` (default: half the real users) sets the size of each half, so
    the floor is read at the simulators' sample size. One split's AUC
    scatters by a few hundredths around 0.5 at a few hundred conversations,
    so the floor averages `config.n_floor` splits; its CI pools their
    bootstrap replicates (the split-to-split scatter included).
    """
    real_rows = np.asarray(real_rows)
    half = len(real_rows) // 2 if n_half is None else min(int(n_half), len(real_rows) // 2)
    runs = []
    for r in range(max(1, int(config.n_floor))):
        perm = np.random.default_rng([int(config.seed), 6, r]).permutation(real_rows)
        runs.append(_discriminate(space, np.sort(perm[:half]), np.sort(perm[half:2 * half]), config))
    point = float(np.mean([res.auc for res, _ in runs]))
    return DiscriminatorResult(auc=point, ci=_ci(np.concatenate([b for _, b in runs]), point),
                               n_real=half, n_sim=half, top_features=runs[0][0].top_features)


def discriminate_all(space: FeatureSpace, real_rows: np.ndarray, sim_rows: dict[str, np.ndarray],
                     config: DiscriminatorConfig = DiscriminatorConfig(),
                     n_half: int | None = None) -> tuple[dict[str, DiscriminatorResult], DiscriminatorResult | None]:
    """Every simulator against the same real users, and the real-vs-real floor.

    Returns
    -------
    (results, floor)
        results : simulator -> DiscriminatorResult (simulators with fewer
        than 2 conversations are left out); floor : real halves of `n_half`
        (None when there are fewer than 4 real users).
    """
    results = {}
    for s, rows in sim_rows.items():
        if len(rows) >= 2 and len(real_rows) >= 2:
            results[s] = discriminate(space, real_rows, rows, config)
    half = len(real_rows) // 2 if n_half is None else min(int(n_half), len(real_rows) // 2)
    floor = real_vs_real(space, real_rows, half, config) if half >= 2 else None
    return results, floor


def results_state(results: dict[str, DiscriminatorResult], floor: DiscriminatorResult | None) -> dict:
    """`discriminate_all`'s answer as plain JSON, every float exact (for a
    cache: `to_dict` rounds for display)."""
    def one(r: DiscriminatorResult) -> dict:
        return {"auc": float(r.auc), "ci": [float(r.ci[0]), float(r.ci[1])], "n_real": int(r.n_real),
                "n_sim": int(r.n_sim),
                "top": [[t.facet, int(t.cluster), float(t.coef), float(t.share_real), float(t.share_sim)]
                        for t in r.top_features]}
    return {"results": {s: one(r) for s, r in results.items()}, "floor": None if floor is None else one(floor)}


def results_from_state(state: dict) -> tuple[dict[str, DiscriminatorResult], DiscriminatorResult | None]:
    """The inverse of `results_state`; a malformed state raises (KeyError, TypeError, ValueError)."""
    def one(d: dict) -> DiscriminatorResult:
        top = tuple(SeparatingFeature(str(f), int(c), float(w), float(a), float(b)) for f, c, w, a, b in d["top"])
        return DiscriminatorResult(auc=float(d["auc"]), ci=(float(d["ci"][0]), float(d["ci"][1])),
                                   n_real=int(d["n_real"]), n_sim=int(d["n_sim"]), top_features=top)
    floor = state["floor"]
    return {str(s): one(d) for s, d in state["results"].items()}, (None if floor is None else one(floor))


def disagreements(js: dict[str, tuple[float, tuple[float, float]]],
                  aucs: dict[str, tuple[float, tuple[float, float]]]) -> list[tuple[str, str]]:
    """Pairs of simulators the two lenses order differently, both resolved.

    `js` and `aucs` map simulator -> (value, (ci_lo, ci_hi)). A pair (a, b)
    is returned when JS puts a closer to real users than b with the JS CIs
    apart, while the classifier tells a from real users more easily than b
    with the AUC CIs apart; a is the one JS ranks closer. Pairs come in JS
    order of a, then b.
    """
    names = sorted((s for s in js if s in aucs), key=lambda s: (js[s][0], s))
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            js_apart = js[a][1][1] < js[b][1][0]
            auc_apart = aucs[a][1][0] > aucs[b][1][1]
            if js_apart and auc_apart:
                out.append((a, b))
    return out
