"""Stage 2-3 of the pipeline: conversations -> facet texts -> embeddings.

Per facet we keep the *unique* description texts, their embeddings, and an
index from each conversation to its text. Rule-based descriptions repeat a
lot, so this keeps memory and embedding work proportional to the number of
distinct behaviours, not of conversations.
"""
from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .atomic import atomic_file, file_lock, remove_stale_temps
from .conversation import Conversation
from .facets.base import RAW_FACET, FacetExtractor

RAW_TEXT_CHARS = 2000  # MiniLM reads 256 tokens; longer text only costs tokenizer time


@dataclass
class FacetColumn:
    """One facet for every conversation (rows align with the conversation list)."""
    facet: str
    texts: list[str]              # unique description texts
    index: np.ndarray             # (n_conversations,) int32 -> row of `texts`
    embeddings: np.ndarray | None = None  # (len(texts), d) float32, L2-normalized
    features: np.ndarray | None = None    # (n_conversations, m) float32 or None

    def text_of(self, i: int) -> str:
        return self.texts[int(self.index[i])]


@dataclass
class FacetTable:
    columns: dict[str, FacetColumn]
    # conversation row -> facets whose extraction failed (row is then dropped)
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)


def raw_user_text(conv: Conversation) -> str:
    text = "\n".join(conv.user_turns)
    return text[:RAW_TEXT_CHARS]


def _table_key(extractor_key: str, facets: Sequence[str], conversations: Sequence[Conversation]) -> str:
    h = hashlib.sha256(extractor_key.encode())
    h.update(json.dumps(list(facets)).encode())
    for c in conversations:
        h.update(c.content_hash().encode())
        # json.dumps({}) is "{}": skip the encoder for the common empty case.
        h.update(json.dumps(c.precomputed, sort_keys=True).encode() if c.precomputed else b"{}")
    return h.hexdigest()[:24]


def extract_facets(conversations: Sequence[Conversation], extractor: FacetExtractor,
                   facets: Sequence[str], cache_dir: Path | None = None,
                   log: Callable[[str], None] = lambda m: None) -> FacetTable:
    """Describe every conversation along `facets`, reusing a cached table.

    The cache file is keyed by the extractor's cache key and the content of
    every conversation, so any change to either recomputes it. A lock file
    per key makes a second process with the same data wait for the first
    and read its table, instead of describing everything again.
    """
    facets = list(facets)
    if cache_dir is None:
        return _extract(conversations, extractor, facets, None, log)
    key = _table_key(extractor.cache_key, facets, conversations)
    folder = Path(cache_dir) / "facets"
    path = folder / f"{key}.npz"
    cached = _read_table(path, log, facets, len(conversations))  # the common case needs no lock
    if cached is not None:
        return cached
    remove_stale_temps(folder)
    with file_lock(folder / f".{key}.lock"):
        cached = _read_table(path, log, facets, len(conversations))  # written while we waited?
        if cached is not None:
            return cached
        return _extract(conversations, extractor, facets, path, log)


def _extract(conversations: Sequence[Conversation], extractor: FacetExtractor, facets: list[str],
             path: Path | None, log: Callable[[str], None]) -> FacetTable:
    behaviour = [f for f in facets if f != RAW_FACET]
    parts = None
    if not behaviour:
        records, failures = [{} for _ in conversations], []
    elif _n_workers(extractor, len(conversations)) > 1:
        # Columns straight from the workers' compact parts: no per-conversation
        # record objects (5 per conversation; gigabytes at a million).
        parts, failures = _extract_parallel(conversations, extractor, tuple(behaviour))
        records = None
    else:
        records = extractor.extract(conversations, tuple(behaviour))
        failures = list(getattr(extractor, "failures", []) or [])
    columns: dict[str, FacetColumn] = {}
    for f in facets:
        if f == RAW_FACET:
            columns[f] = _column(f, [raw_user_text(c) for c in conversations], None)
        elif parts is not None:
            columns[f] = parts[f]
        else:
            texts = [rec[f].text if f in rec else None for rec in records]
            fv = [rec[f].features if f in rec else None for rec in records]
            columns[f] = _column(f, texts, _stack_features(fv))
    table = FacetTable(columns=columns, failures=failures)
    # A table with failures is not cached: the next run must ask again for
    # the failed descriptions (the LLM extractor caches its successes itself).
    if path is not None and not failures:
        try:
            _write_table(path, table)
        except OSError as exc:  # the cache only saves work: go on without it
            log(f"facet cache: cannot write {path} ({exc.strerror or exc}); going on without caching")
    return table


# ------------------------------------------------ parallel rule extraction
# The rule extractor spends ~1 ms of pure Python per conversation: 130k
# conversations take minutes on one core. Big inputs are described by a
# fork()ed pool that inherits the conversations (no pickling on the way in)
# and sends back compact per-chunk results (distinct texts + an index, and
# one feature matrix per facet); chunks are reassembled in input order, so
# the table is the same as with one process, whatever the chunk size.
#
# Memory: a forked worker shares the parent's pages until it writes to them,
# and merely reading a Python object writes its reference count, so a worker
# that described half the data would end up holding a private copy of half
# the conversations (gigabytes at a million). So the parent's objects are
# frozen out of the workers' garbage collector (gc.freeze: a collection
# would otherwise write to every container object), and each worker
# describes one chunk and exits (maxtasksperchild=1), giving back the pages
# it copied; chunks grow with the input so that forks stay few.
PARALLEL_MIN_CONVERSATIONS = 20000
_CHUNK_CONVERSATIONS = 4000
_CHUNKS_PER_WORKER = 8
_FORK_STATE: tuple | None = None  # (conversations, extractor, facets) inherited by workers


def _chunk_bounds(n: int, workers: int) -> list[tuple[int, int]]:
    size = max(_CHUNK_CONVERSATIONS, -(-n // (workers * _CHUNKS_PER_WORKER)))
    return [(i, min(n, i + size)) for i in range(0, n, size)]


def _n_workers(extractor, n: int) -> int:
    """Processes for describing n conversations: ENSEMBLE_FIT_JOBS, default min(2, CPUs).

    Only the offline rule extractor (pure, deterministic, no network or
    threads) is run in a pool, and only for inputs of 20,000+ conversations.
    """
    import multiprocessing as mp

    if getattr(extractor, "name", None) != "rules" or n < PARALLEL_MIN_CONVERSATIONS:
        return 1
    if "fork" not in mp.get_all_start_methods():
        return 1
    try:
        jobs = int(os.environ.get("ENSEMBLE_FIT_JOBS", "0"))
    except ValueError:
        jobs = 0
    if jobs <= 0:
        jobs = min(2, os.cpu_count() or 1)
    return max(1, min(jobs, -(-n // _CHUNK_CONVERSATIONS)))


def _describe_chunk(bounds: tuple[int, int]):
    """One chunk's facets as (distinct texts, index (-1: failed), feature
    matrix or None) per facet: arrays, not per-conversation objects."""
    convs, extractor, facets = _FORK_STATE
    chunk = list(convs[bounds[0]:bounds[1]])
    records = extractor.extract(chunk, facets)
    failures = list(getattr(extractor, "failures", []) or [])
    out = {}
    for f in facets:
        uniq: dict[str, int] = {}
        idx = np.full(len(records), -1, dtype=np.int32)
        feats = [None] * len(records)
        for i, rec in enumerate(records):
            r = rec.get(f)
            if r is not None:
                idx[i] = uniq.setdefault(r.text, len(uniq))
                feats[i] = r.features
        out[f] = (list(uniq), idx, _stack_features(feats))
    return out, failures


def _extract_parallel(conversations, extractor, facets: tuple[str, ...]):
    """`extractor.extract` over a fork()ed pool, assembled into one FacetColumn
    per facet: the same columns, in the same order, as one process gives."""
    import multiprocessing as mp

    global _FORK_STATE
    n = len(conversations)
    workers = _n_workers(extractor, n)
    bounds = _chunk_bounds(n, workers)
    _FORK_STATE = (conversations, extractor, facets)
    gc.freeze()
    try:
        with mp.get_context("fork").Pool(workers, maxtasksperchild=1) as pool:
            parts = pool.map(_describe_chunk, bounds, chunksize=1)
    finally:
        gc.unfreeze()
        _FORK_STATE = None
    failures: list = []
    for _, fails in parts:
        failures.extend(fails)
    extractor.failures = failures
    columns = {}
    for f in facets:
        uniq: dict[str, int] = {}
        index = np.empty(n, dtype=np.int32)
        widths = [p[f][2].shape[1] for p, _ in parts if p[f][2] is not None]
        # As _stack_features: the first width wins, other rows stay NaN.
        feats = np.full((n, widths[0]), np.nan, dtype=np.float32) if widths else None
        at = 0
        for part, _ in parts:
            texts, idx, fm = part[f]
            # Chunk-local ids -> ids in first-appearance order over all rows.
            remap = np.array([uniq.setdefault(t, len(uniq)) for t in texts] or [0], dtype=np.int32)
            index[at:at + len(idx)] = np.where(idx >= 0, remap[np.maximum(idx, 0)], -1)
            if feats is not None and fm is not None and fm.shape[1] == feats.shape[1]:
                feats[at:at + len(idx)] = fm
            at += len(idx)
        columns[f] = FacetColumn(facet=f, texts=list(uniq), index=index, features=feats)
    return columns, failures


def _stack_features(fv: list) -> np.ndarray | None:
    present = [v for v in fv if v is not None]
    if not present:
        return None
    m = len(present[0])
    out = np.full((len(fv), m), np.nan, dtype=np.float32)
    for i, v in enumerate(fv):
        if v is not None and len(v) == m:
            out[i] = v
    return out


def _column(facet: str, texts: list[str | None], feats) -> FacetColumn:
    uniq: dict[str, int] = {}
    index = np.empty(len(texts), dtype=np.int32)
    for i, t in enumerate(texts):
        # -1 marks a failed extraction; the pipeline drops those rows.
        index[i] = -1 if t is None else uniq.setdefault(t, len(uniq))
    return FacetColumn(facet=facet, texts=list(uniq), index=index, features=feats)


# The table is a zip of .npy arrays (index and features per facet, binary
# and exact) plus one JSON member for the texts and failures: at paper scale
# (130k conversations) writing the features as JSON text took longer than
# describing them. Members carry a fixed date, so one table gives one file.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _write_table(path: Path, table: FacetTable) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"columns": {f: {"texts": c.texts, "features": c.features is not None}
                        for f, c in table.columns.items()},
            "failures": table.failures}
    members = [("meta.json", json.dumps(meta).encode("utf-8"))]
    for i, (f, c) in enumerate(table.columns.items()):
        arrays = [("index", c.index.astype(np.int32))]
        if c.features is not None:
            arrays.append(("features", np.ascontiguousarray(c.features, dtype=np.float32)))
        for name, arr in arrays:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            members.append((f"{i}.{name}.npy", buf.getvalue()))
    with atomic_file(path) as raw:
        with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, data in members:
                zf.writestr(zipfile.ZipInfo(name, date_time=_ZIP_DATE), data,
                            compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)


def _read_table(path: Path, log, facets: Sequence[str] | None = None,
                n_rows: int | None = None) -> FacetTable | None:
    if not path.exists():
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            payload = json.loads(zf.read("meta.json").decode("utf-8"))

            def array(name: str) -> np.ndarray:
                return np.lib.format.read_array(io.BytesIO(zf.read(name)), allow_pickle=False)
            cols = {}
            for i, (f, c) in enumerate(payload["columns"].items()):
                feats = array(f"{i}.features.npy") if c["features"] else None
                index = array(f"{i}.index.npy").astype(np.int32, copy=False)
                texts = c["texts"]
                if index.ndim != 1 or (n_rows is not None and len(index) != n_rows) \
                        or (len(index) and int(index.max()) >= len(texts)) \
                        or (feats is not None and len(feats) != len(index)) \
                        or not all(isinstance(t, str) for t in texts):
                    raise ValueError(f"facet '{f}' does not match the conversations")
                cols[f] = FacetColumn(facet=f, texts=texts, index=index, features=feats)
        if facets is not None and list(cols) != list(facets):
            raise ValueError(f"facets {list(cols)} where {list(facets)} were expected")
        return FacetTable(columns=cols, failures=[tuple(x) for x in payload.get("failures", [])])
    except Exception as exc:  # corrupt or torn cache file: recompute
        log(f"facet cache {path} is unreadable ({exc}); recomputing it")
        try:
            path.unlink()
        except OSError:
            pass
        return None


def embed_columns(table: FacetTable, embedder, progress: Callable[[str, int, int], None] | None = None,
                  compose: Sequence[str] = ()) -> None:
    """Fill `embeddings` of every column in place (the embedder dedups and caches).

    Facets in `compose` (rule descriptions) get vectors composed from their
    phrases' vectors (`measure.compose`); the raw facet is always embedded whole.
    """
    from .compose import embed_composed

    # Biggest facets first: a big job starts the encoding workers, and the
    # smaller ones after it go to them as well (see Embedder._encode), so
    # the model is not loaded a third time here. Each text's vector does not
    # depend on the order.
    order = sorted(table.columns.items(), key=lambda fc: -len(fc[1].texts))
    for f, col in order:
        if col.embeddings is not None:  # precomputed
            continue
        if progress is not None:
            embedder.progress = lambda adv, tot, f=f: progress(f, adv, tot)
        col.embeddings = (embed_composed(col.texts, embedder) if f in compose and f != RAW_FACET
                          else embedder.embed(col.texts))
    if progress is not None:
        embedder.progress = None
