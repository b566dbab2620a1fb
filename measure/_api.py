"""The measurement as two functions: load conversations, measure the gap.

This module is where the measurement workflow is composed: every command
that loads data or measures (`inspect`, `measure`, `run`, `sweep`, `plan`)
goes through `load_conversations`, `prepare_data` and `measure_gap`, so an
option means the same thing everywhere.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .errors import ConfigError, EnsembleFitError
from .loaders import DEFAULT_MAX_TURN_CHARS, Dataset, load_dataset
from .pipeline import MeasureConfig, Measurement, Prepared, measure, prepare
from .progress import QUIET, Reporter


def default_cache_dir() -> Path:
    """Where descriptions, embeddings and codebooks are cached when no cache folder is given.

    Returns
    -------
    Path
        ``$ENSEMBLE_FIT_CACHE``, else ``$XDG_CACHE_HOME/ensemble-fit``, else
        ``~/.cache/ensemble-fit``. Entries are keyed by content (texts, model
        weights, settings), so one folder serves every dataset and run.

    Examples
    --------
    >>> import os, measure
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"ENSEMBLE_FIT_CACHE": str(tmp / "cache")}):
    ...     measure.default_cache_dir() == tmp / "cache"
    True
    """
    env = os.environ.get("ENSEMBLE_FIT_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ensemble-fit"


@dataclass
class Representation:
    """How a conversation becomes vectors: the facet extractor and the embedding model.

    Parameters
    ----------
    extractor : {"rules", "llm"}
        The offline rule-based extractor, or an OpenAI-compatible LLM server.
    base_url, llm_model : str, optional
        The LLM server and model (``extractor="llm"`` only).
    concurrency, request_budget, max_failed_share
        LLM request settings: parallel requests, the most requests a run may
        send, and the share of failed conversations that stops the run.
    embedding_model : str, optional
        A sentence-transformers model folder; default the bundled all-MiniLM-L6-v2.
    device, batch_size
        Where and in what batches the embedding model runs.
    embeddings : path, optional
        Precomputed embeddings (.npz, .npy folder or Parquet) keyed by conversation id and facet.
    """
    extractor: str = "rules"
    base_url: str | None = None
    llm_model: str | None = None
    concurrency: int = 8
    request_budget: int | None = None
    max_failed_share: float = 0.05
    embedding_model: str | None = None
    device: str = "cpu"
    batch_size: int = 64
    embeddings: str | Path | None = None

    def __post_init__(self):
        # A bad server address is a usage error: say so before any data is read.
        if self.extractor == "llm" and self.base_url:
            from .facets.http import check_base_url
            check_base_url(self.base_url)

    def build_extractor(self, cache_dir: Path):
        if self.extractor == "llm":
            from .facets.llm import LLMFacetExtractor
            if not self.base_url or not self.llm_model:
                raise ConfigError("--extractor llm needs --base-url and --model")
            return LLMFacetExtractor(base_url=self.base_url, model=self.llm_model, cache_dir=cache_dir,
                                     concurrency=self.concurrency, request_budget=self.request_budget,
                                     max_failed_share=self.max_failed_share)
        if self.extractor != "rules":
            raise ConfigError(f"unknown extractor {self.extractor!r}; choose 'rules' or 'llm'")
        from .facets.offline import RuleFacetExtractor
        return RuleFacetExtractor()

    def build_embedder(self, cache_dir: Path, warn=None):
        from .embed import Embedder
        return Embedder(model=self.embedding_model, cache_dir=cache_dir, batch_size=self.batch_size,
                        device=self.device, warn=warn)


def _reporter(progress: bool | Reporter) -> Reporter:
    if isinstance(progress, Reporter):
        return progress
    return Reporter(enabled=True) if progress else QUIET


def load_conversations(data: Any, real: Sequence[str] | None = None, on_error: str = "raise", *,
                       min_conversations: int = 2, max_turn_chars: int | None = None,
                       max_per_source: int | None = None, drop_empty_turns: bool = False,
                       where: Sequence[str] | None = None, min_user_turns: int | None = None,
                       cache_dir: str | Path | None = None) -> Dataset:
    """Read real and simulated conversations into one dataset.

    Parameters
    ----------
    data : path, hub id, datasets.Dataset, or a list of them
        Files or folders (JSONL, JSON, Parquet, their .gz; the format is
        detected per record), ``"hf:OWNER/NAME[@REV][:SPLIT][#NAME]"`` hub ids,
        ``save_to_disk`` folders, or ``datasets`` objects.
    real : list of str, optional
        The sources that are real users; default: ``real``, ``real:*``, ``real_*``.
    on_error : {"raise", "skip"}
        Stop at the first bad record (with file, line and field), or skip and count.
    min_conversations : int
        Smallest source kept.
    max_turn_chars : int, optional
        Longest user turn accepted.
    max_per_source : int, optional
        Keep a uniform sample of at most this many conversations per source, while streaming.
    drop_empty_turns : bool
        Drop empty user turns instead of rejecting their conversation.
    where : list of "FIELD=VALUE", optional
        Keep records whose field matches (e.g. ``"language=English"``).
    min_user_turns : int, optional
        Keep conversations with at least this many user turns.
    cache_dir : path, optional
        Keep each cleanly loaded JSON/JSONL file parsed under ``CACHE/parsed``,
        keyed by its bytes, and read it from there next time (about 3x faster
        than parsing). Default: no parse cache.

    Returns
    -------
    Dataset
        ``conversations``, ``real_sources``, ``simulators`` and ``report``
        (skipped records by reason, warnings).

    Examples
    --------
    >>> import measure
    >>> from ensemble.demo import write_demo
    >>> _ = write_demo(tmp / "demo", n_per_simulator=40, n_real=120)
    >>> data = measure.load_conversations(tmp / "demo")
    >>> data.real_sources, len(data.simulators)
    (['real'], 7)
    """
    return load_dataset(data, real=list(real) if real else None, on_error=on_error,
                        min_conversations=min_conversations,
                        max_turn_chars=max_turn_chars or DEFAULT_MAX_TURN_CHARS,
                        max_per_source=max_per_source, drop_empty_turns=drop_empty_turns,
                        where=list(where) if where else None, min_user_turns=min_user_turns,
                        cache_dir=cache_dir)


def check_sources(data: Dataset) -> None:
    """A measurement needs real users and at least one simulator."""
    if not data.real_sources:
        raise EnsembleFitError("no real-user source found: name it 'real' (or real:*, real_*) or pass --real NAME")
    if not data.simulators:
        raise EnsembleFitError("no simulator source found: every source is marked as real users")


def prepare_data(data: Dataset, config: MeasureConfig | None = None, *,
                 representation: Representation | None = None, cache_dir: str | Path | None = None,
                 progress: bool | Reporter = False) -> Prepared:
    """Describe every conversation's facets and embed the descriptions (both cached on disk).

    The step every measurement, fit, sweep and plan starts from; `measure_gap`
    calls it, and takes its result in place of a dataset (so several
    measurements of one dataset describe and embed it once). Real users are
    split into a fit part and a held-out part (``config.heldout_fraction``)
    here.

    Parameters
    ----------
    data : Dataset
        From `load_conversations`.
    config : MeasureConfig, optional
        Facets, seed and held-out fraction are read here.
    representation : Representation, optional
        Extractor (rules or LLM) and embedding model; default: rules and the
        packaged all-MiniLM-L6-v2.
    cache_dir : path, optional
        Default: `default_cache_dir()`.
    progress : bool or Reporter
        Show progress on stderr.

    Returns
    -------
    Prepared
        Per conversation (row): its source, task and split; per facet: the
        description texts and their embeddings.

    Examples
    --------
    >>> import measure
    >>> data = measure.load_conversations(tmp / "demo")
    >>> prep = measure.prepare_data(data, measure.MeasureConfig(heldout_fraction=0.3),
    ...                             cache_dir=tmp / "cache")
    >>> len(prep.conversations) == len(data.conversations), prep.facets[0]
    (True, 'requests')
    >>> m = measure.measure_gap(prep, measure.MeasureConfig(heldout_fraction=0.3, k_default=8,
    ...                         n_bootstrap=20, n_codebook_seeds=1), cache_dir=tmp / "cache")
    >>> sorted(m.ranking) == sorted(data.simulators)
    True
    """
    config = config or MeasureConfig()
    representation = representation or Representation()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    reporter = _reporter(progress)
    check_sources(data)
    extractor = representation.build_extractor(cache)
    embedder = representation.build_embedder(cache, warn=reporter.warn)
    prep = prepare(data.conversations, data.real_sources, data.simulators, extractor, embedder,
                   config.facets, heldout_fraction=config.heldout_fraction, seed=config.seed,
                   cache_dir=cache, reporter=reporter, precomputed_embeddings=representation.embeddings)
    if representation.extractor == "llm" and getattr(extractor, "stats", None) is not None:
        reporter.log(f"LLM extractor: {extractor.stats}")
    return prep


def estimate_extraction(data: Dataset, config: MeasureConfig | None = None, *,
                        representation: Representation | None = None, cache_dir: str | Path | None = None):
    """What the LLM extractor would send for this data (requests, tokens), sending nothing.

    Parameters
    ----------
    data : Dataset
        From `load_conversations`.
    config : MeasureConfig, optional
        The facets to extract.
    representation : Representation
        Must have ``extractor="llm"`` (and its base URL and model).
    cache_dir : path, optional
        Descriptions already cached here are not counted as requests.

    Returns
    -------
    DryRunEstimate
        Requests still needed (per facet), cached and deduplicated pairs, and
        estimated prompt and output tokens; ``str()`` gives one line.

    Examples
    --------
    >>> import measure
    >>> data = measure.load_conversations(tmp / "demo")
    >>> rep = measure.Representation(extractor="llm", base_url="http://127.0.0.1:9/v1",
    ...                              llm_model="any-model")
    >>> est = measure.estimate_extraction(data, representation=rep, cache_dir=tmp / "cache")
    >>> est.requests == len(data.conversations) * 5, est.prompt_tokens > 0
    (True, True)
    """
    config = config or MeasureConfig()
    representation = representation or Representation()
    if representation.extractor != "llm":
        raise ConfigError("--dry-run applies to --extractor llm")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    extractor = representation.build_extractor(cache)
    return extractor.dry_run(data.conversations, tuple(f for f in config.facets if f != "raw_user_utterances"))


def measure_gap(data: Dataset | Prepared, config: MeasureConfig | None = None, *,
                representation: Representation | None = None, cache_dir: str | Path | None = None,
                metadata: str | Path | dict | None = None, progress: bool | Reporter = False) -> Measurement:
    """Measure how far every simulator's users behave from real users.

    Facet descriptions are embedded, quantized with one shared k-means
    codebook per facet, and compared as distributions: Jensen-Shannon
    divergence (bits) per facet and overall, with bootstrap CIs, a
    real-vs-real noise floor and the spread over codebook seeds.

    Parameters
    ----------
    data : Dataset or Prepared
        From `load_conversations`, or already described and embedded by `prepare_data`.
    config : MeasureConfig, optional
        Facets, k, PCA, seed, bootstrap sizes, facet weights, held-out share.
    representation : Representation, optional
        Extractor and embedding model; default the rules and the bundled model.
    cache_dir : path, optional
        Where descriptions, embeddings and codebooks are cached (default `default_cache_dir()`).
    metadata : path or dict, optional
        Simulator metadata (family, size, cost), a TOML file or ``load_metadata``'s result.
    progress : bool or Reporter
        Show stages and progress bars on stderr.

    Returns
    -------
    Measurement
        ``ranking`` (best first), ``gap[sim].js`` / ``.ci`` / ``.facets[f]``,
        ``floor``, ``seed_spread``, ``pairwise``, ``by_task``; ``to_json(path)``
        writes measure.json.

    Examples
    --------
    >>> import measure
    >>> data = measure.load_conversations(tmp / "demo")
    >>> m = measure.measure_gap(data, measure.MeasureConfig(k_default=8, n_bootstrap=20,
    ...                         n_codebook_seeds=1), cache_dir=tmp / "cache")
    >>> m.ranking[0] in data.simulators, 0 < m.gap[m.ranking[0]].js < 1
    (True, True)
    >>> lo, hi = m.gap[m.ranking[0]].ci
    >>> lo <= m.gap[m.ranking[0]].js <= hi
    True
    """
    config = config or MeasureConfig()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    reporter = _reporter(progress)
    if isinstance(data, Prepared):
        prep, simulators = data, data.simulators
    else:
        check_sources(data)
        prep, simulators = None, data.simulators
    if isinstance(metadata, (str, Path)):
        from .metadata import load_metadata
        metadata = load_metadata(metadata, known=simulators)
    if prep is None:
        prep = prepare_data(data, config, representation=representation, cache_dir=cache, progress=reporter)
    return measure(prep, config, cache_dir=cache, metadata=metadata, reporter=reporter)
