"""The measurement pipeline, composed in one place, top to bottom:

    conversations -> facet texts -> embeddings -> shared codebooks -> labels
    -> per-source distributions -> divergences (+ bootstrap CI, noise floor,
    codebook-seed spread) -> pairwise matrix -> breakdowns

Every expensive step is cached on disk (facet texts, embeddings, codebooks),
so a rerun with the same inputs recomputes nothing but the cheap statistics.
"""
from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from . import divergence as dv
from .atomic import atomic_file, crash_point, file_lock, remove_stale_temps
from .codebook import Codebook, default_k
from .conversation import Conversation
from .distributions import histogram
from .errors import ConfigError, EnsembleFitError
from .compose import compose_mode, composed_facets, composition_key
from .facet_table import FacetTable, embed_columns, extract_facets
from .facets.base import BEHAVIOUR_FACETS
from .progress import QUIET, Reporter
from .results import MIN_CONVERSATIONS, REAL, TOO_FEW, NoiseFloor, SeedSpread, SimulatorGap
from .uncertainty import bootstrap_gaps, noise_floor

if TYPE_CHECKING:
    from .discriminator import DiscriminatorResult

DISCRIMINATOR_MAX_SIMULATORS = 200  # above: the classifier lens is skipped with a warning
# The one noise floor, in one sentence for the terminal legend and the report.
FLOOR_NOTE = ("noise floor: the gap between two random halves of real users at the simulators' sample "
              "size; x floor = gap / noise floor, so about 1 means as close to real users as real users "
              "are to each other")


@dataclass
class MeasureConfig:
    facets: tuple[str, ...] = BEHAVIOUR_FACETS
    k: dict[str, int] = field(default_factory=dict)  # per-facet cluster counts
    k_default: int | None = None      # for facets not in `k`; None = n/10 capped at 500
    pca_variance: float | None = 0.9  # fraction of variance kept; None = no PCA
    seed: int = 0
    n_bootstrap: int = 200
    n_floor: int = 50
    n_codebook_seeds: int = 3         # codebooks refit with this many seeds for the spread
    facet_weights: dict[str, float] | None = None  # None = equal
    heldout_fraction: float = 0.0     # share of real users kept out of codebooks (run: 0.3)
    minibatch_threshold: int = 20000
    discriminator: bool = True        # the classifier lens (measure/discriminator.py)
    allow_small: bool = False         # report sources below MIN_CONVERSATIONS as numbers
    mauve: bool = False               # MAUVE per simulator too (needs mauve-text, the bench extra)

    def __post_init__(self):
        # `MeasureConfig(k=50)` means one k for every facet, as `--k 50` does.
        if isinstance(self.k, numbers.Integral) and not isinstance(self.k, bool):
            if self.k_default is not None:
                raise ConfigError("give k as one number or k_default, not both")
            self.k, self.k_default = {}, self.k
        if not isinstance(self.k, dict) or any(
                isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in self.k.values()):
            raise ConfigError(f"k must be an integer >= 1 or a dict facet -> integer >= 1, got {self.k!r}")
        if self.k_default is not None and (isinstance(self.k_default, bool)
                                           or not isinstance(self.k_default, numbers.Integral)
                                           or self.k_default < 1):
            raise ConfigError(f"k_default must be an integer >= 1, got {self.k_default!r}")

    def weights(self, facets: Sequence[str] | None = None) -> dict[str, float]:
        facets = list(facets or self.facets)
        raw = {f: float((self.facet_weights or {}).get(f, 1.0 if not self.facet_weights else 0.0))
               for f in facets}
        total = sum(raw.values())
        if total <= 0 or any(v < 0 for v in raw.values()):
            raise ConfigError(f"facet weights must be >= 0 with a positive sum, got {raw}")
        return {f: v / total for f, v in raw.items()}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["facets"] = list(self.facets)
        return d


@dataclass
class Prepared:
    """Everything up to embeddings, for every kept conversation (a row)."""
    conversations: list[Conversation]
    table: FacetTable
    facets: list[str]
    sources: np.ndarray            # (n,) source name of each row
    is_real: np.ndarray            # (n,) bool
    heldout: np.ndarray            # (n,) bool: real rows kept out of every fit
    tasks: np.ndarray              # (n,) task or "" when absent
    real_names: list[str]
    simulators: list[str]
    embedder_key: str
    dropped: list[tuple[str, str, str, str]] = field(default_factory=list)
    # Provenance for measure.json: which extractor wrote the descriptions,
    # which model embedded them, which facets came from a file instead.
    representation: dict = field(default_factory=dict)

    @property
    def fit_real(self) -> np.ndarray:
        return self.is_real & ~self.heldout

    def rows_of(self, source: str) -> np.ndarray:
        if source == REAL:
            return np.flatnonzero(self.fit_real)
        # Comparing 130k Python strings costs ~10 ms, and the statistics ask
        # hundreds of times: group the rows once (keyed by the array's
        # identity, so assigning a new `sources` array regroups).
        cache = self.__dict__.get("_rows_cache")
        if cache is None or cache[0] is not self.sources:
            names, inverse = np.unique(self.sources.astype(str), return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            bounds = np.searchsorted(inverse[order], np.arange(len(names) + 1))
            cache = (self.sources, {str(n): order[bounds[i]:bounds[i + 1]] for i, n in enumerate(names)})
            self.__dict__["_rows_cache"] = cache
        rows = cache[1].get(source)
        return np.zeros(0, dtype=np.int64) if rows is None else rows.copy()

    def min_source_size(self) -> int:
        sizes = [len(self.rows_of(s)) for s in [REAL] + self.simulators]
        return min(sizes)


def prepare(conversations: Sequence[Conversation], real_names: Sequence[str], simulators: Sequence[str],
            extractor, embedder, facets: Sequence[str], heldout_fraction: float = 0.0, seed: int = 0,
            cache_dir: Path | None = None, reporter: Reporter = QUIET,
            precomputed_embeddings: str | Path | None = None) -> Prepared:
    facets = list(facets)
    with reporter.stage("describe facets"):
        table = extract_facets(conversations, extractor, facets, cache_dir=cache_dir, log=reporter.warn)
    # A conversation whose description failed for some facet is dropped from
    # every facet: a missing description must not become a spurious cluster.
    bad = np.zeros(len(conversations), dtype=bool)
    for col in table.columns.values():
        bad |= col.index < 0
    keep = np.flatnonzero(~bad)
    if len(keep) < len(conversations):
        reporter.warn(f"{int(bad.sum())} conversations dropped: facet extraction failed for them "
                      f"(see measure.json 'dropped')")
        conversations = [conversations[i] for i in keep]
        for col in table.columns.values():
            col.index = col.index[keep]
            if col.features is not None:
                col.features = col.features[keep]
    embedder_key = getattr(embedder, "key", "none")
    if precomputed_embeddings is not None:
        from .precomputed import attach, load_precomputed
        vectors, origin = load_precomputed(precomputed_embeddings)
        done = attach(table, conversations, vectors, origin)
        reporter.log(f"precomputed embeddings for {', '.join(done) or 'no facet'} from {origin}")
        st = Path(origin).stat()
        embedder_key += f"+precomputed:{Path(origin).resolve()}:{st.st_size}:{st.st_mtime_ns}"
        precomputed = {"file": str(origin), "facets": sorted(done)}
    else:
        precomputed = None
    # Rule descriptions get vectors composed from cached phrase vectors
    # (measure/compose.py): another representation, so another key.
    mode = compose_mode() if getattr(extractor, "name", None) == "rules" else "off"
    composed = composed_facets(mode, [f for f, c in table.columns.items() if c.embeddings is None])
    composition = composition_key(mode) if composed else None
    if composition:
        embedder_key += f"+{composition}"
    total_texts = sum(len(c.texts) for c in table.columns.values() if c.embeddings is None)
    encoded_before = getattr(embedder, "n_encoded", 0)
    cached_before = getattr(embedder, "n_cached", 0)
    with reporter.stage("embed descriptions", total=total_texts) as advance:
        embed_columns(table, embedder, progress=lambda f, adv, tot: advance(adv), compose=composed)
    if hasattr(embedder, "close"):
        embedder.close()  # encoding workers hold a model each: free them now
    if hasattr(embedder, "n_encoded"):
        reporter.log(f"embeddings: {embedder.n_encoded - encoded_before} texts encoded, "
                     f"{getattr(embedder, 'n_cached', 0) - cached_before} from the cache")
    sources = np.array([c.source for c in conversations], dtype=object)
    real_set = set(real_names)
    is_real = np.array([s in real_set for s in sources])
    tasks = np.array([c.task or "" for c in conversations], dtype=object)
    heldout = split_heldout(conversations, is_real, heldout_fraction, seed)
    prep = Prepared(conversations=list(conversations), table=table, facets=facets, sources=sources,
                    is_real=is_real, heldout=heldout, tasks=tasks, real_names=list(real_names),
                    simulators=list(simulators), embedder_key=embedder_key,
                    dropped=list(table.failures),
                    representation={"extractor": getattr(extractor, "cache_key", type(extractor).__name__),
                                    "embedding_model": getattr(embedder, "model_name", None),
                                    "embedding_key": getattr(embedder, "key", "none"),
                                    "embedding_composition": composition,
                                    "precomputed_embeddings": precomputed})
    if len(prep.rows_of(REAL)) < 2:
        raise EnsembleFitError("too few real-user conversations left to fit on "
                               f"({len(prep.rows_of(REAL))}); lower --heldout or add data")
    return prep


def split_heldout(conversations: Sequence[Conversation], is_real: np.ndarray, fraction: float,
                  seed: int) -> np.ndarray:
    """Hold out a share of real users, stratified by task, decided by a hash of
    (seed, id) so the split does not depend on file order."""
    heldout = np.zeros(len(conversations), dtype=bool)
    if fraction <= 0:
        return heldout
    by_task: dict[str, list[int]] = {}
    for i in np.flatnonzero(is_real):
        by_task.setdefault(conversations[i].task or "", []).append(int(i))
    for rows in by_task.values():
        order = sorted(rows, key=lambda i: hashlib.sha256(
            f"{seed}\x00{conversations[i].source}\x00{conversations[i].id}".encode()).hexdigest())
        n_out = int(round(fraction * len(order)))
        n_out = min(n_out, len(order) - 1)
        heldout[order[:n_out]] = True
    return heldout


# ---------------------------------------------------------------- codebooks

def resolve_k(prep: Prepared, config: MeasureConfig) -> dict[str, int]:
    """Each facet's k: as requested (--k) or n/10 of the smallest source.

    Then capped by the facet's distinct descriptions in the codebook pool
    (more centroids than distinct points only split hairs) and by the size
    of the smallest source (a source of n conversations cannot show more
    than n clusters), and never below 2: one cluster would make every
    source identical, a gap of 0 that only says nothing was measured.
    """
    n_min = prep.min_source_size()
    auto = config.k_default or default_k(n_min)
    pool = np.flatnonzero(~prep.heldout)
    out = {}
    for f in prep.facets:
        distinct = int(np.unique(prep.table.columns[f].index[pool]).size)
        out[f] = max(2, min(int(config.k.get(f, auto)), distinct, n_min))
    return out


def _codebook_key(prep: Prepared, facet: str, k: int, pca: float | None, seed: int,
                  minibatch_threshold: int) -> str:
    h = hashlib.sha256(json.dumps([prep.embedder_key, facet, k, pca, seed, minibatch_threshold,
                                   "codebook-v2"]).encode())
    h.update(_codebook_data(prep, facet))
    return h.hexdigest()[:24]


def _codebook_data(prep: Prepared, facet: str) -> bytes:
    """What a facet's codebook is fit on, as the bytes its key hashes: the
    pool's text rows, their sources and a digest of each text. Kept per facet
    (a run asks for it once per k and seed, ~50 ms each at paper scale) while
    the arrays it was made from are the same objects."""
    col = prep.table.columns[facet]
    memo = prep.__dict__.setdefault("_codebook_data", {})
    made_from = (col.index, col.texts, prep.sources, prep.heldout)
    hit = memo.get(facet)
    if hit is not None and all(a is b for a, b in zip(hit[0], made_from)):
        return hit[1]
    pool = np.flatnonzero(~prep.heldout)
    data = b"".join([col.index[pool].tobytes(), "\x00".join(prep.sources[pool]).encode()] +
                    [hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest()
                     for t in col.texts])
    memo[facet] = (made_from, data)
    return data


def fit_labels(prep: Prepared, facet: str, k: int, seed: int, pca_variance: float | None,
               minibatch_threshold: int = 20000, cache_dir: Path | None = None,
               memo: dict | None = None, warn=None, stats: dict | None = None) -> tuple[np.ndarray, int]:
    """Fit (or load) the facet's shared codebook; return labels of every row and effective k.

    The codebook is fit on all sources except held-out real users, balanced
    across sources by the Codebook itself (groups = source). A corrupt cache
    entry is reported through `warn`, refit and overwritten; a lock file in
    the codebook cache makes concurrent runs fit each codebook once.
    `stats`, when given, counts fresh fits ("fits") and their seconds ("fit_s").
    """
    key = _codebook_key(prep, facet, k, pca_variance, seed, minibatch_threshold)
    if memo is not None and key in memo:
        return memo[key]
    col = prep.table.columns[facet]
    book = _codebook(prep, facet, key, k, seed, pca_variance, minibatch_threshold, cache_dir, warn, stats)
    labels = book.predict(col.embeddings)[col.index].astype(np.int32)
    out = (labels, int(book.n_clusters_))
    if memo is not None:
        memo[key] = out
    return out


def fit_labels_merged(prep: Prepared, facet: str, k: int, k_fine: int, seed: int,
                      pca_variance: float | None, minibatch_threshold: int = 20000,
                      cache_dir: Path | None = None, memo: dict | None = None, warn=None,
                      stats: dict | None = None) -> tuple[np.ndarray, int]:
    """Labels at k from the facet's finest codebook (k_fine), its centroids merged.

    The k_fine codebook is fit (or loaded) once; a weighted Ward tree over its
    centroids (`codebook.ward_merges`, each centroid weighted by the pool
    weight it holds) is built once per memo; every k <= k_fine is then a cut
    of that tree, a lookup with no k-means. At k >= k_fine the labels are the
    k_fine codebook's own. Used by the sweep, where k varies per trial.
    """
    from .codebook import cut_merges, ward_merges

    memo = {} if memo is None else memo
    fine_key = _codebook_key(prep, facet, k_fine, pca_variance, seed, minibatch_threshold)
    col = prep.table.columns[facet]
    tree = memo.get(("merge-tree", fine_key))
    if tree is None:
        book = _codebook(prep, facet, fine_key, k_fine, seed, pca_variance, minibatch_threshold,
                         cache_dir, warn, stats)
        text_labels = book.predict(col.embeddings)
        rows, weights = _pool_weights(prep, col)
        held = np.bincount(text_labels[rows], weights=weights, minlength=int(book.n_clusters_))
        tree = (text_labels, ward_merges(book.cluster_centers_, held), int(book.n_clusters_))
        memo[("merge-tree", fine_key)] = tree
    text_labels, merges, n_fine = tree
    k_eff = max(1, min(int(k), n_fine))
    out = memo.get(("merged", fine_key, k_eff))
    if out is None:
        out = (cut_merges(merges, n_fine, k_eff)[text_labels][col.index].astype(np.int32), k_eff)
        memo[("merged", fine_key, k_eff)] = out
    return out


def _codebook(prep: Prepared, facet: str, key: str, k: int, seed: int, pca_variance: float | None,
              minibatch_threshold: int, cache_dir: Path | None, warn, stats: dict | None) -> Codebook:
    """The codebook under `key`: from the cache, or fit (and cached)."""
    col = prep.table.columns[facet]

    def fit() -> Codebook:
        import time
        t0 = time.perf_counter()
        book = _fit_codebook(prep, col, k, seed, pca_variance, minibatch_threshold)
        if stats is not None:
            stats["fits"] = stats.get("fits", 0) + 1
            stats["fit_s"] = stats.get("fit_s", 0.0) + time.perf_counter() - t0
        return book

    if cache_dir is None:
        return fit()
    folder = Path(cache_dir) / "codebooks"
    path = folder / f"{facet}-{key}.npz"
    book = _load_codebook(path, warn)  # the common case needs no lock
    if book is None:
        remove_stale_temps(folder)
        with file_lock(folder / ".lock"):
            book = _load_codebook(path, warn)  # written while we waited?
            if book is None:
                book = fit()
                try:
                    book.save(path)
                except OSError as exc:  # the cache only saves work: go on without it
                    (warn or _warn)(f"codebook cache: cannot write {path} "
                                    f"({exc.strerror or exc}); going on without caching")
                else:
                    crash_point("codebook")
    return book


def _warn(message: str) -> None:
    import warnings
    warnings.warn(message, stacklevel=3)


def _pool_weights(prep: Prepared, col) -> tuple[np.ndarray, np.ndarray]:
    """The codebook pool as distinct description texts with summed weights.

    The pool is every row except held-out real users; each row weighs
    n_pool / (n_sources * n_rows_of_its_source), so every source (real users
    pooled) has the same total weight, as Codebook(groups=...) would give.
    Rule-based descriptions repeat a lot (130k conversations have about 24k
    distinct texts over five facets, one facet 56), so the codebook is fit on
    the distinct texts with the summed weights of their rows: the same
    weighted PCA and the same k-means objective as on the repeated rows, at a
    fraction of the cost (docs/performance.md).
    Returns (rows of `col.embeddings`, their weights).
    """
    pool = np.flatnonzero(~prep.heldout)
    groups = np.where(prep.is_real[pool], REAL, prep.sources[pool])
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    row_w = len(pool) / (len(counts) * counts[inverse].astype(np.float64))
    text_w = np.bincount(col.index[pool], weights=row_w, minlength=len(col.texts))
    used = np.flatnonzero(text_w > 0)
    return used, text_w[used]


def _fit_codebook(prep: Prepared, col, k: int, seed: int, pca_variance: float | None,
                  minibatch_threshold: int) -> Codebook:
    rows, weights = _pool_weights(prep, col)
    book = Codebook(n_clusters=k, pca_variance=pca_variance, random_state=seed,
                    minibatch_threshold=minibatch_threshold)
    book.fit(col.embeddings[rows], sample_weight=weights)
    return book


def _load_codebook(path: Path, warn) -> Codebook | None:
    if not path.exists():
        return None
    try:
        return Codebook.load(path)
    except Exception as exc:  # corrupt cache entry: report, remove, refit
        (warn or _warn)(f"codebook cache: {path.name} is unreadable ({exc}); refitting it")
        try:
            path.unlink()
        except OSError:
            pass
        return None


# ---------------------------------------------------------------- statistics

def source_distributions(prep: Prepared, labels: dict[str, np.ndarray], k: dict[str, int],
                         rows_mask: np.ndarray | None = None) -> dict[str, dict[str, np.ndarray]]:
    """facet -> source -> probability vector; REAL is the pooled fit part."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for f in prep.facets:
        out[f] = {}
        for s in [REAL] + prep.simulators:
            rows = prep.rows_of(s)
            if rows_mask is not None:
                rows = rows[rows_mask[rows]]
            if len(rows):
                out[f][s] = histogram(labels[f][rows], k[f])
    return out


@dataclass
class Measurement:
    config: MeasureConfig
    prep: Prepared
    k: dict[str, int]
    facet_weights: dict[str, float]
    labels: dict[str, np.ndarray]
    dist: dict[str, dict[str, np.ndarray]]
    gap: dict[str, SimulatorGap]
    floor: NoiseFloor
    seed_spread: dict[str, SeedSpread]
    pairwise: dict
    by_task: dict
    by_family: dict
    # simulator -> the classifier lens; the same classifier on real halves
    discriminator: dict[str, DiscriminatorResult] = field(default_factory=dict)
    discriminator_floor: DiscriminatorResult | None = None
    # sources below MIN_CONVERSATIONS (REAL included), whatever allow_small says
    too_few: list[str] = field(default_factory=list)
    mauve: dict[str, float] = field(default_factory=dict)  # with config.mauve

    def unmeasured(self, sim: str) -> bool:
        """True when the simulator's row should read TOO_FEW instead of numbers."""
        return not self.config.allow_small and bool({sim, REAL} & set(self.too_few))

    @property
    def simulators(self) -> list[str]:
        return self.prep.simulators

    @property
    def ranking(self) -> list[str]:
        """Simulators, closest to real users (smallest overall JS) first."""
        return sorted(self.simulators, key=lambda s: (self.gap[s].js, s))

    def to_dict(self) -> dict:
        """The measure.json document (schema ensemble-fit/measure/v1)."""
        from .outputs import measure_json
        return measure_json(self)

    def to_json(self, path: str | Path) -> Path:
        """Write measure.json, byte-identical to the CLI's (atomically), and
        pairwise.npz beside it above `outputs.PAIRWISE_INLINE_MAX` sources."""
        from .outputs import write_measure_json
        write_measure_json(self, path)
        return Path(path)

    def write(self, out_dir: str | Path) -> dict:
        """Write measure.json, measure.csv and distributions.npz into `out_dir`."""
        from .outputs import write_measure_outputs
        return write_measure_outputs(self, out_dir)


def blas_threads():
    """Limit BLAS/OpenMP threads for the k-means and statistics stages.

    These stages work on small matrices, where extra threads only contend:
    on a busy 2-core machine one thread was 10x faster than the default, and
    one thread also makes floating-point reductions reproducible. Override
    with ENSEMBLE_FIT_THREADS.
    """
    import os

    from threadpoolctl import threadpool_limits
    return threadpool_limits(int(os.environ.get("ENSEMBLE_FIT_THREADS", "1")))


def measure(prep: Prepared, config: MeasureConfig, cache_dir: Path | None = None,
            metadata: dict | None = None, reporter: Reporter = QUIET, memo: dict | None = None) -> Measurement:
    with blas_threads():
        # One run fits each codebook once, even when the cache cannot keep it.
        return _measure(prep, config, cache_dir, metadata, reporter, {} if memo is None else memo)


def _measure(prep: Prepared, config: MeasureConfig, cache_dir: Path | None,
             metadata: dict | None, reporter: Reporter, memo: dict | None) -> Measurement:
    k_req = resolve_k(prep, config)
    fw = config.weights(prep.facets)
    labels: dict[str, np.ndarray] = {}
    k: dict[str, int] = {}
    with reporter.stage("fit shared codebooks", total=len(prep.facets)) as advance:
        for f in prep.facets:
            labels[f], k[f] = fit_labels(prep, f, k_req[f], config.seed, config.pca_variance,
                                         config.minibatch_threshold, cache_dir, memo, warn=reporter.warn)
            advance()
    dist = source_distributions(prep, labels, k)
    real_rows = prep.rows_of(REAL)
    real_labels = {f: labels[f][real_rows] for f in prep.facets}

    with reporter.stage("divergences, bootstrap and noise floor", total=len(prep.simulators)) as advance:
        gap = {}
        # Real users are resampled once and shared by all simulators, so the
        # comparison between simulators is paired.
        boots = bootstrap_gaps(real_labels, {s: {f: labels[f][prep.rows_of(s)] for f in prep.facets}
                                             for s in prep.simulators}, k, fw,
                               n_boot=max(2, config.n_bootstrap), seed=config.seed + 1000)
        for i, s in enumerate(prep.simulators):
            sim_rows = prep.rows_of(s)
            row: dict = {}
            for f in prep.facets:
                row[f] = dv.all_divergences(dist[f][REAL], dist[f][s])
            overall = sum(fw[f] * row[f]["js"] for f in prep.facets)
            boot = boots[s]
            for f in prep.facets:
                row[f]["js_ci"] = _pair(boot.ci(facet=f))
            row["overall"] = {"js": overall, "js_ci": _pair(boot.ci()),
                              "n": int(len(sim_rows))}
            gap[s] = row
            advance()
        n_sim = int(np.median([len(prep.rows_of(s)) for s in prep.simulators])) if prep.simulators else 0
        n_half = max(1, min(n_sim, len(real_rows) // 2)) if n_sim else None
        floor = noise_floor(real_labels, k, fw, n_half=n_half, n_rep=config.n_floor, seed=config.seed)
        floor_json = {"overall": {"js": floor.mean_overall, "js_p95": floor.p95_overall},
                      "n_half": int(floor.n_half)}
        for f in prep.facets:
            floor_json[f] = {"js": floor.mean[f], "js_p95": floor.p95[f]}

    disc, disc_floor = {}, None
    if config.discriminator and len(prep.simulators) > DISCRIMINATOR_MAX_SIMULATORS:
        reporter.warn(f"discriminator skipped: {len(prep.simulators)} simulators, more than "
                      f"{DISCRIMINATOR_MAX_SIMULATORS} (one classifier each, about 0.1 s apiece)")
    elif config.discriminator:
        with reporter.stage("discriminator (classifier per simulator)"):
            disc, disc_floor = discriminator_stage(prep, labels, k, config, n_half, cache_dir, reporter.warn)
        if disc_floor is not None:
            floor_json["discriminator_auc"] = disc_floor.to_dict()["auc"]
            floor_json["discriminator_auc_ci"] = disc_floor.to_dict()["auc_ci"]
    too_few = small_sample_warnings(prep, gap, config, reporter.warn)
    mauve = {}
    if config.mauve:
        from .mauve_lens import mauve_scores
        with reporter.stage("MAUVE per simulator"):
            mauve = mauve_scores({f: (c.embeddings, c.index) for f, c in prep.table.columns.items()
                                  if f in prep.facets}, real_rows,
                                 {s: prep.rows_of(s) for s in prep.simulators}, fw, seed=config.seed)

    seed_spread = codebook_seed_spread(prep, config, k_req, fw, cache_dir, reporter, memo)
    pairwise = pairwise_matrix(prep, dist, fw)
    by_task = task_breakdown(prep, labels, k, fw) if len(set(prep.tasks) - {""}) > 0 else {}
    by_family = family_breakdown(gap, metadata) if metadata else {}
    return Measurement(config=config, prep=prep, k=k, facet_weights=fw, labels=labels, dist=dist,
                       gap={s: SimulatorGap.from_dict(gap[s], prep.facets) for s in prep.simulators},
                       floor=NoiseFloor.from_dict(floor_json, prep.facets),
                       seed_spread=seed_spread, pairwise=pairwise,
                       by_task=by_task, by_family=by_family, discriminator=disc,
                       discriminator_floor=disc_floor, too_few=too_few, mauve=mauve)


def discriminator_stage(prep: Prepared, labels: dict[str, np.ndarray], k: dict[str, int],
                        config: MeasureConfig, n_half: int | None, cache_dir: Path | None = None,
                        warn=lambda m: None):
    """Every simulator's discriminator and the real-vs-real one, on one shared
    design matrix (cluster one-hots + embedding components of every facet).

    The answer is cached by the content of everything it reads (labels,
    embeddings, rows, settings): a warm run skips the classifiers, and
    scikit-learn's import with them.
    """
    from .discriminator import (DiscriminatorConfig, build_features, discriminate_all,
                                results_from_state, results_state)

    real_rows = prep.rows_of(REAL)
    if len(real_rows) < 4:
        return {}, None
    embeddings = {f: (c.embeddings, c.index) for f, c in prep.table.columns.items()
                  if f in prep.facets and c.embeddings is not None}
    dconf = DiscriminatorConfig(seed=config.seed)
    sim_rows = {s: prep.rows_of(s) for s in prep.simulators}
    path = None
    if cache_dir is not None:
        key = _discriminator_key(prep, labels, k, embeddings, sim_rows, dconf, n_half)
        path = Path(cache_dir) / "discriminator" / f"{key}.json"
        try:
            return results_from_state(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:  # torn or foreign: recompute
            warn(f"discriminator cache {path} is unreadable ({exc}); recomputing it")
    space = build_features(labels, k, embeddings, dconf.n_components, fit_rows=~prep.heldout)
    results, floor = discriminate_all(space, real_rows, sim_rows, dconf, n_half=n_half)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(path, "w", encoding="utf-8") as fh:
                json.dump(results_state(results, floor), fh)
        except OSError as exc:  # the cache only saves work
            warn(f"discriminator cache: cannot write {path} ({exc.strerror or exc}); going on without it")
    return results, floor


def _discriminator_key(prep: Prepared, labels: dict[str, np.ndarray], k: dict[str, int],
                       embeddings: dict[str, tuple[np.ndarray, np.ndarray]],
                       sim_rows: dict[str, np.ndarray], dconf, n_half: int | None) -> str:
    """Content key of the discriminator's inputs (and the scikit-learn version
    that fits it: another solver release may give other last digits)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        sklearn_version = version("scikit-learn")
    except PackageNotFoundError:
        sklearn_version = "?"
    h = hashlib.sha256(json.dumps({"v": 1, "sklearn": sklearn_version, "config": asdict(dconf),
                                   "n_half": n_half, "k": k, "facets": list(prep.facets),
                                   "embedded": sorted(embeddings)}, sort_keys=True).encode())
    def arr(a: np.ndarray) -> None:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    arr(prep.heldout)
    arr(prep.rows_of(REAL))
    for s, rows in sim_rows.items():
        h.update(s.encode("utf-8", "surrogatepass") + b"\x00")
        arr(rows)
    for f in prep.facets:
        arr(labels[f])
        if f in embeddings:
            arr(embeddings[f][0])
            arr(embeddings[f][1])
    return h.hexdigest()[:32]


def small_sample_warnings(prep: Prepared, gap: dict, config: MeasureConfig, warn) -> list[str]:
    """Sources below MIN_CONVERSATIONS, and a warning for them and for every
    gap whose 95% CI is wider than the gap itself."""
    too_few = [s for s in [REAL] + prep.simulators if len(prep.rows_of(s)) < MIN_CONVERSATIONS]
    if too_few:
        sizes = _some([f"{s} {len(prep.rows_of(s))}" for s in too_few])
        what = ("measured anyway (--allow-small)" if config.allow_small
                else f"their rows read '{TOO_FEW}' (--allow-small shows the numbers)")
        warn(f"fewer than {MIN_CONVERSATIONS} conversations ({sizes}): {what}")
    wide = [s for s in prep.simulators
            if gap[s]["overall"]["js_ci"][1] - gap[s]["overall"]["js_ci"][0] > gap[s]["overall"]["js"]]
    if wide:
        warn(f"the 95% CI is wider than the gap itself for {_some(wide)}: at this sample size "
             f"the gap is not resolved; more conversations narrow it")
    return too_few


def _some(names: list[str], shown: int = 10) -> str:
    """A list for a warning line: the first few names and how many more (thousands of sources happen)."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def _pair(ci) -> list[float]:
    lo, hi = ci
    return [float(lo), float(hi)]


def overall_js(dist_real: dict[str, np.ndarray], dist_sim: dict[str, np.ndarray], fw: dict[str, float]) -> float:
    return float(sum(w * dv.js(dist_real[f], dist_sim[f]) for f, w in fw.items()))


def codebook_seed_spread(prep: Prepared, config: MeasureConfig, k_req: dict[str, int], fw,
                         cache_dir, reporter: Reporter, memo) -> dict[str, SeedSpread]:
    """Refit every codebook with a few seeds; report each simulator's gap std."""
    n = max(1, config.n_codebook_seeds)
    per_seed: list[dict[str, float]] = []
    with reporter.stage("codebook-seed spread", total=n * len(prep.facets)) as advance:
        for j in range(n):
            seed = config.seed + j
            labels, k = {}, {}
            for f in prep.facets:
                labels[f], k[f] = fit_labels(prep, f, k_req[f], seed, config.pca_variance,
                                             config.minibatch_threshold, cache_dir, memo, warn=reporter.warn)
                advance()
            dist = source_distributions(prep, labels, k)
            per_seed.append({s: overall_js({f: dist[f][REAL] for f in prep.facets},
                                           {f: dist[f][s] for f in prep.facets}, fw)
                             for s in prep.simulators})
    out = {}
    for s in prep.simulators:
        vals = np.array([d[s] for d in per_seed])
        out[s] = SeedSpread(seeds=n, mean=float(vals.mean()), std=float(vals.std(ddof=1)) if n > 1 else 0.0)
    return out


def pairwise_matrix(prep: Prepared, dist, fw) -> dict:
    names = [REAL] + prep.simulators
    per_facet = {}
    overall = np.zeros((len(names), len(names)))
    for f in prep.facets:
        m = np.zeros((len(names), len(names)))
        P = np.stack([np.asarray(dist[f][a], dtype=np.float64) for a in names])
        # One row against the rest at a time: the same numbers as dv.js pair by
        # pair, without a Python call per pair (2,000 sources: 16M calls).
        for i in range(len(names) - 1):
            m[i, i + 1:] = dv.js_rows(P[i + 1:], P[i])
        m = m + m.T
        per_facet[f] = m
        overall += fw[f] * m
    return {"names": names, "js": overall, "per_facet": per_facet}


def task_breakdown(prep: Prepared, labels, k, fw) -> dict:
    out = {}
    for task in sorted(set(prep.tasks) - {""}):
        mask = prep.tasks == task
        dist = source_distributions(prep, labels, k, rows_mask=mask)
        if not all(REAL in dist[f] for f in prep.facets):
            continue
        out[task] = {"n_real": int((prep.fit_real & mask).sum()), "gap": {}}
        for s in prep.simulators:
            if all(s in dist[f] for f in prep.facets):
                per = {f: dv.js(dist[f][REAL], dist[f][s]) for f in prep.facets}
                out[task]["gap"][s] = {"overall": {"js": sum(fw[f] * per[f] for f in prep.facets)},
                                       **{f: {"js": v} for f, v in per.items()}}
    return out


def family_breakdown(gap: dict, metadata: dict) -> dict:
    out: dict[str, dict] = {"family": {}, "size": {}}
    for attr in ("family", "size"):
        groups: dict[str, list[float]] = {}
        for s, row in gap.items():
            info = metadata.get(s)
            val = getattr(info, attr, None) if info else None
            if val:
                groups.setdefault(str(val), []).append(row["overall"]["js"])
        out[attr] = {g: {"n": len(v), "mean_js": float(np.mean(v)), "min_js": float(np.min(v)),
                         "max_js": float(np.max(v))} for g, v in sorted(groups.items())}
    return out
