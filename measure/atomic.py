"""Atomic file writes: a reader sees the old file or the new one, never half.

Also the small pieces the caches share: an exclusive lock file (so two
processes filling one cache do the work once), clean-up of temporary files a
killed writer left behind, and a crash point for the interruption tests.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

from .errors import EnsembleFitError


class OutputError(EnsembleFitError):
    """The output folder cannot be written (read-only, full, ...)."""


def _umask() -> int:
    # Read once: os.umask can only be read by setting it.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def fsync_dir(folder: str | Path) -> None:
    """Make a rename in `folder` durable (best effort: not every filesystem allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "wb", encoding: str | None = None):
    """Write `path` atomically: yield a file open on a unique temporary name
    beside it; when the block ends without error, sync it and rename it over
    `path` (a reader sees the old file or the new one, never half). On error
    the temporary file is removed and the error raised. Every cache and
    output of the package is written through here.
    """
    path = Path(path)
    tmp = unique_tmp(path)  # unique per process and thread: writers never share one
    try:
        with open(tmp, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # Temp files are created 0600 by some writers; outputs get the usual permissions.
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_dir(path: str | Path):
    """Write a folder (a `save_to_disk` dataset) atomically enough: yield a
    unique temporary folder beside `path`; when the block ends without error,
    swap it in (the old folder is moved aside first, then removed). A reader
    sees the old folder or the new one; only a crash between the two renames
    leaves `path` missing, with the old copy kept as `.NAME.PID.*.old`. On
    error the temporary folder is removed and the error raised.
    """
    path = Path(path)
    tmp = unique_tmp(path)
    old = tmp.with_suffix(".old")
    try:
        yield tmp
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    fsync_dir(path.parent)


def write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A killed writer of this file may have left its temp file: remove it.
        remove_stale_temps(path.parent, pattern=f".{glob.escape(path.name)}.*.tmp")
        with atomic_file(path) as fh:
            fh.write(data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    crash_point(f"wrote:{path.name}")
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def _round(obj, digits: int = 10):
    """Round floats so JSON is byte-stable across platforms' last-bit noise."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if obj == obj else None
    if isinstance(obj, dict):
        return {k: _round(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_round(v, digits) for v in obj]
    if hasattr(obj, "tolist"):
        return _round(obj.tolist(), digits)
    if hasattr(obj, "item"):
        return _round(obj.item(), digits)
    return obj


def write_json(path: str | Path, obj) -> Path:
    return write_text(path, json.dumps(_round(obj), indent=2, sort_keys=False, ensure_ascii=False) + "\n")


# Free space the up-front check asks for: more than the probe below, and
# room for the small outputs (measure.json of a few hundred sources is
# ~1 MB); a run that needs more still fails at its first write, with a clear
# OutputError.
MIN_FREE_BYTES = 8 << 20
_PROBE_BYTES = 64 << 10


def ensure_writable_dir(folder: str | Path, min_free_bytes: int = MIN_FREE_BYTES) -> Path:
    """Create `folder` and check files can be written in it, before any long work.

    Creating an empty file succeeds on a full disk, so the probe also writes
    and syncs 64 KiB, and the file system must report `min_free_bytes` free
    for an unprivileged writer.

    Parameters
    ----------
    folder : str or Path
        The output folder.
    min_free_bytes : int
        Free space required (default MIN_FREE_BYTES, 8 MiB).

    Returns
    -------
    Path
        `folder`.

    Raises
    ------
    OutputError
        With a one-line reason (read-only, not a folder, no space left, ...).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free  # what an unprivileged writer may use
        if free < min_free_bytes:
            raise OutputError(f"cannot write {folder}: no space left on the device "
                              f"({_size(free)} free, at least {_size(min_free_bytes)} needed)")
        fd, probe = tempfile.mkstemp(prefix=".ensemble-fit-probe.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(b"\0" * _PROBE_BYTES)
                fh.flush()
                os.fsync(fh.fileno())
        finally:
            os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
    return folder


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def unique_tmp(path: Path) -> Path:
    """A temporary name next to `path`, unique per process and thread, that
    names its writer's pid (see `remove_stale_temps`)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")


class LockBusy(EnsembleFitError):
    """A non-blocking `file_lock` found the lock held by another process."""


@contextlib.contextmanager
def file_lock(path: str | Path, blocking: bool = True):
    """Hold an exclusive lock on the file `path` (created if needed) for the block.

    A cross-platform OS lock (`filelock`): the kernel drops it when the
    holder dies, so a killed run never leaves a stale lock. Where the lock
    file cannot be created (a read-only cache) the block runs unlocked and
    the context value is False: it cannot write the cache either. With
    ``blocking=False`` a lock held elsewhere raises `LockBusy` at once.
    """
    from filelock import FileLock, Timeout
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path))
        lock.acquire(timeout=-1 if blocking else 0)
    except Timeout:
        raise LockBusy(f"{path} is locked by another process") from None
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def _tmp_owner(name: str) -> int | None:
    """The writer's pid in a `.{target}.{pid}.{random}.tmp` name, else None."""
    parts = name.split(".")
    if len(parts) >= 5 and parts[-3].isdigit():
        return int(parts[-3])
    return None


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: a process of another user
        return True
    return True


def remove_stale_temps(folder: str | Path, max_age_s: float = 3600.0, pattern: str = ".*.tmp") -> int:
    """Delete temp files left by killed writers: those whose writer (the pid
    in the name) is no longer running on this machine, and any older than
    `max_age_s`. A live writer's temp file stays.
    """
    removed = 0
    now = time.time()
    try:
        entries = list(Path(folder).glob(pattern))
    except OSError:
        return 0
    for p in entries:
        try:
            owner = _tmp_owner(p.name)
            if (owner is not None and not _running(owner)) or now - p.stat().st_mtime > max_age_s:
                p.unlink()
                removed += 1
        except OSError:
            pass
    return removed


CRASH_ENV = "ENSEMBLE_FIT_CRASH_AT"
_crash_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Interruption tests: `ENSEMBLE_FIT_CRASH_AT=NAME[@N]` SIGKILLs this process
    the N-th time (default the 1st) it reaches the point NAME.

    Points: `embed-shard` (an embedding shard is in the cache), `codebook` (a
    codebook is in the cache), `wrote:FILE` (the output FILE is in place).
    A no-op unless the variable is set.
    """
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    target, _, nth = spec.partition("@")
    if target != name:
        return
    _crash_hits[name] = _crash_hits.get(name, 0) + 1
    if _crash_hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
