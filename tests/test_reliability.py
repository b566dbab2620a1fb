"""Interrupted runs, corrupted caches, concurrent runs, environment errors and
determinism of `ensemble-fit run`.

Interruption, concurrency and determinism runs are separate processes; runs
that patch the process (full disk) or only check an error and the cache it
leaves call `ensemble.cli.main` in-process. Runs use the small demo and the
tiny embedding model of
`reliability_support`; one cold uninterrupted run (`baseline`) is the
reference every other run's outputs must equal byte for byte.
"""
from __future__ import annotations

import errno
import os
import signal
import time
import types
from pathlib import Path

import numpy as np
import pytest

from tests.reliability_support import (
    OUTPUTS,
    assert_same_outputs,
    baseline,
    copy_cache,
    encoded,
    popen_cli,
    run_args,
    run_cli,
    shard_files,
    shard_texts,
    temp_files,
)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    return baseline(tmp_path_factory)


def _args(base, out, cache, *more):
    return run_args(base["data"], out, cache, base["model"], *more)


def _kill_when(proc, ready, timeout: float = 300.0) -> None:
    """SIGKILL `proc` as soon as `ready()` is true; fail if it ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) before the kill point:\n{err[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("kill point not reached in time")
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


# ----------------------------------------------------------------- determinism

def test_warm_rerun_in_a_new_process_is_byte_identical_and_encodes_nothing(base, tmp_path):
    assert base["n_texts"] > 500  # the baseline really embedded the small demo
    proc = run_cli(_args(base, tmp_path / "out", base["cache"]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert encoded(proc.stderr) == 0
    assert "warning:" not in proc.stderr
    assert_same_outputs(tmp_path / "out", base["outputs"])


# ------------------------------------------------------------- interruptions

@pytest.mark.slow  # cold runs: each loads the embedding model
def test_killed_during_embedding_resumes_from_its_shards(base, tmp_path):
    """External SIGKILL as soon as the first embedding shard is in the cache."""
    cache, out = tmp_path / "cache", tmp_path / "out"
    args = _args(base, out, cache)
    proc = popen_cli(args, ENSEMBLE_FIT_EMBED_SHARD=8)
    _kill_when(proc, lambda: len(shard_files(cache)) > 0)
    assert not (out / "measure.json").exists()
    done = shard_texts(cache)
    assert 0 < done < base["n_texts"]

    rerun = run_cli(args, ENSEMBLE_FIT_EMBED_SHARD=8)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "corrupt" not in rerun.stderr
    assert encoded(rerun.stderr) == base["n_texts"] - done  # only what the killed run had not stored
    assert_same_outputs(out, base["outputs"])
    assert temp_files(out) == [] and temp_files(cache) == []  # a killed writer's temp file is cleaned


def test_killed_between_codebooks_reuses_the_finished_ones(base, tmp_path):
    """SIGKILL right after the 2nd of 5 codebooks is stored (a crash point)."""
    cache, out = tmp_path / "cache", tmp_path / "out"
    copy_cache(base["cache"], cache, parts=("embeddings", "facets"))
    args = _args(base, out, cache)
    killed = run_cli(args, ENSEMBLE_FIT_CRASH_AT="codebook@2")
    assert killed.returncode == -signal.SIGKILL
    books = {p.name: p.stat().st_mtime_ns for p in (cache / "codebooks").glob("*.npz")}
    assert len(books) == 2
    assert not (out / "measure.json").exists()

    rerun = run_cli(args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert encoded(rerun.stderr) == 0 and "warning:" not in rerun.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (cache / "codebooks").glob("*.npz")}
    assert len(after) == 5
    assert all(after[name] == mtime for name, mtime in books.items())  # reused, not refit
    assert sorted(after) == sorted(p.name for p in (base["cache"] / "codebooks").glob("*.npz"))
    assert_same_outputs(out, base["outputs"])


def test_killed_while_writing_outputs(base, tmp_path):
    """External SIGKILL once measure.json is written, before weights.json."""
    cache, out = tmp_path / "cache", tmp_path / "out"
    copy_cache(base["cache"], cache)
    args = _args(base, out, cache)
    proc = popen_cli(args)
    _kill_when(proc, lambda: (out / "measure.json").exists())
    assert not (out / "weights.json").exists()
    assert (out / "measure.json").read_bytes() == base["outputs"]["measure.json"]  # whole, never torn

    rerun = run_cli(args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert encoded(rerun.stderr) == 0
    assert_same_outputs(out, base["outputs"])
    assert temp_files(out) == []


# ----------------------------------------------------------- corrupt caches

def _garble(path: Path, at: float = 0.5, n: int = 64) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i:i + n] = bytes((b ^ 0x5A) for b in data[i:i + n])
    path.write_bytes(bytes(data))


@pytest.mark.slow  # cold runs: each loads the embedding model
def test_corrupt_cache_entries_are_reported_and_recomputed(base, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    copy_cache(base["cache"], cache)
    shard = shard_files(cache)[0]
    with np.load(shard) as z:
        lost = len(z["keys"])
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])        # truncated shard
    book = sorted((cache / "codebooks").glob("*.npz"))[0]
    _garble(book)                                                               # garbled codebook
    table = next((cache / "facets").glob("*.npz"))
    _garble(table, at=0.3)                                                      # garbled facet table

    proc = run_cli(_args(base, out, cache))
    assert proc.returncode == 0, proc.stderr[-3000:]
    err = " ".join(proc.stderr.split())
    assert "corrupt shard" in err and shard.name in err
    assert "codebook cache" in err and book.name in err and "refitting" in err
    assert "facet cache" in err and "recomputing" in err
    assert encoded(proc.stderr) == lost  # exactly the truncated shard's texts again
    assert_same_outputs(out, base["outputs"])

    again = run_cli(_args(base, tmp_path / "out2", cache))  # the repaired cache is clean
    assert again.returncode == 0 and "warning:" not in again.stderr
    assert encoded(again.stderr) == 0


# ------------------------------------------------------------- concurrency

@pytest.mark.slow  # cold runs: each loads the embedding model
def test_two_concurrent_runs_share_one_cache(base, tmp_path):
    cache = tmp_path / "cache"
    procs = [popen_cli(_args(base, tmp_path / f"out{i}", cache)) for i in (1, 2)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]
        assert "warning:" not in err
    # The cache lock: between them they encode each text once.
    assert sum(encoded(err) for _, err in results) == base["n_texts"]
    for i in (1, 2):
        assert_same_outputs(tmp_path / f"out{i}", base["outputs"])
    assert temp_files(cache) == []
    assert len(list((cache / "codebooks").glob("*.npz"))) == 5
    third = run_cli(_args(base, tmp_path / "out3", cache))
    assert third.returncode == 0 and "warning:" not in third.stderr
    assert encoded(third.stderr) == 0
    assert_same_outputs(tmp_path / "out3", base["outputs"])


# ------------------------------------------------------ environment errors

def _main(capsys, args) -> tuple[int, str]:
    from ensemble.cli import main
    rc = main(args)
    return rc, capsys.readouterr().err


def _one_line_error(err: str, phrase: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1 and phrase in errors[0], err
    assert "Traceback" not in err and "internal error" not in err


def _read_only_dir(tmp_path: Path) -> Path:
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o555)
    if os.access(ro, os.W_OK):  # root ignores the mode
        ro.chmod(0o755)
        pytest.skip("running as a user who can write to a 0o555 folder (root)")
    return ro / "out"


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path / "a-file" / "out"


@pytest.mark.parametrize("make_out", [_read_only_dir, _under_a_file], ids=["chmod-555", "under-a-file"])
def test_unwritable_output_folder(base, tmp_path, capsys, make_out):
    out = make_out(tmp_path)
    cache = copy_cache(base["cache"], tmp_path / "cache")
    before = sorted(p.relative_to(cache) for p in cache.rglob("*"))
    rc, err = _main(capsys, _args(base, out, cache))
    assert rc == 2
    _one_line_error(err, f"cannot write {out}")
    assert sorted(p.relative_to(cache) for p in cache.rglob("*")) == before
    rc, err = _main(capsys, _args(base, tmp_path / "good", cache))
    assert rc == 0 and encoded(err) == 0
    assert_same_outputs(tmp_path / "good", base["outputs"])


def _patched_os(**overrides):
    """A stand-in for the `os` module inside measure.atomic only."""
    fake = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os) if not name.startswith("__")})
    for name, fn in overrides.items():
        setattr(fake, name, fn)
    return fake


def _enospc(*_args, **_kw):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FullDiskFile:
    """A file object whose writes fail once a few bytes are in."""

    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        self.fh.write(data[:10])
        _enospc()

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


@pytest.mark.parametrize("where", ["replace", "write"])
def test_full_disk_while_writing_outputs(base, tmp_path, capsys, monkeypatch, where):
    import measure.atomic as atomic
    cache, out = tmp_path / "cache", tmp_path / "out"
    copy_cache(base["cache"], cache, parts=("embeddings", "facets"))  # codebooks are fit by this run
    # The disk fills up after the up-front check of the output folder passed
    # (that check has its own test): the failure comes at the outputs.
    out.mkdir(parents=True)
    from ensemble.cli import commands
    monkeypatch.setattr(commands, "ensure_writable_dir", lambda folder, **_: Path(folder))
    # Every file goes through one atomic writer; only the output folder's disk is full.
    in_out = lambda p: Path(p).parent == out  # noqa: E731
    if where == "replace":
        monkeypatch.setattr(atomic, "os", _patched_os(
            replace=lambda src, dst: _enospc() if in_out(dst) else os.replace(src, dst)))
    else:
        import builtins
        monkeypatch.setattr(atomic, "open", lambda p, *a, **kw: (
            _FullDiskFile(builtins.open(p, *a, **kw)) if in_out(p) else builtins.open(p, *a, **kw)),
            raising=False)
    rc, err = _main(capsys, _args(base, out, cache))
    assert rc == 2
    _one_line_error(err, f"cannot write {out / 'measure.json'}: No space left on device")
    assert not (out / "measure.json").exists() and temp_files(out) == []
    monkeypatch.undo()

    books = {p.name: p.stat().st_mtime_ns for p in (cache / "codebooks").glob("*.npz")}
    assert len(books) == 5  # written before the outputs failed
    rc, err = _main(capsys, _args(base, out, cache))
    assert rc == 0 and encoded(err) == 0 and "warning:" not in err
    assert {p.name: p.stat().st_mtime_ns for p in (cache / "codebooks").glob("*.npz")} == books
    assert_same_outputs(out, base["outputs"])


def test_full_disk_while_writing_the_caches_is_only_a_warning(base, tmp_path, capsys, monkeypatch):
    from measure import facet_table
    from measure.codebook import Codebook
    cache, out = tmp_path / "cache", tmp_path / "out"
    copy_cache(base["cache"], cache, parts=("embeddings",))
    monkeypatch.setattr(Codebook, "save", _enospc)
    monkeypatch.setattr(facet_table, "_write_table", _enospc)
    rc, err = _main(capsys, _args(base, out, cache))
    assert rc == 0, err
    err = " ".join(err.split())
    assert err.count("codebook cache: cannot write") == 5 and "facet cache: cannot write" in err
    assert list((cache / "codebooks").glob("*.npz")) == [] and list((cache / "facets").glob("*.npz")) == []
    assert_same_outputs(out, base["outputs"])


def test_every_file_in_the_output_folder_is_written_atomically(base, tmp_path, capsys, monkeypatch):
    """A full run with the report: each file it leaves in --out went through
    measure.atomic (temp file + fsync + rename), and no temp file is left."""
    import measure.atomic as atomic
    written: list[Path] = []

    def replace(src, dst):  # the rename that ends every atomic write
        written.append(Path(dst))
        os.replace(src, dst)

    monkeypatch.setattr(atomic, "os", _patched_os(replace=replace))
    cache, out = copy_cache(base["cache"], tmp_path / "cache"), tmp_path / "out"
    args = [a for a in _args(base, out, cache) if a != "--no-report"]
    rc, err = _main(capsys, args)
    assert rc == 0, err
    # The run's lock file is not an output (measure.run_folder): created empty, never replaced.
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != ".ensemble-fit.lock")
    assert {"report.html", "report.md", "weights.json"} <= {p.name for p in files}
    assert [p for p in files if p not in written] == []
    assert temp_files(out) == []


def test_outputs_get_normal_permissions(base):
    mask = os.umask(0)
    os.umask(mask)
    for name in OUTPUTS:
        assert (base["out"] / name).stat().st_mode & 0o777 == 0o666 & ~mask


# ------------------------------------------- cache writes are best effort

def test_embedding_cache_that_cannot_be_written_warns_and_goes_on(tmp_path, monkeypatch):
    from measure.embed import EmbeddingCache, text_hash
    warnings: list[str] = []
    cache = EmbeddingCache(tmp_path / "emb", warn=warnings.append)
    monkeypatch.setattr(np, "savez", _enospc)
    keys = [text_hash("a"), text_hash("b")]
    vecs = np.eye(2, dtype=np.float32)
    cache.add(keys, vecs)
    cache.add([text_hash("c")], vecs[:1])  # warned once, then no more tries
    assert len(warnings) == 1 and "cannot write" in warnings[0]
    assert np.array_equal(cache.get(keys[1]), vecs[1])  # still usable in memory
    assert list((tmp_path / "emb").iterdir()) == []      # nothing half-written


def test_embedder_with_an_unusable_cache_folder_warns(tmp_path):
    from measure.embed import Embedder
    (tmp_path / "file").write_text("x")
    warnings: list[str] = []
    emb = Embedder(cache_dir=tmp_path / "file" / "cache", warn=warnings.append)
    assert emb.cache is None and len(warnings) == 1 and "going on without it" in warnings[0]


def test_facet_table_write_failure_is_a_warning(tmp_path, monkeypatch):
    from measure import facet_table
    from measure.conversation import Conversation, Message
    from measure.facets.offline import RuleFacetExtractor
    convs = [Conversation(id=str(i), source="s", messages=(Message("user", f"fix my code {i} please"),))
             for i in range(3)]
    logs: list[str] = []
    monkeypatch.setattr(facet_table, "_write_table", _enospc)
    table = facet_table.extract_facets(convs, RuleFacetExtractor(), ["style"], cache_dir=tmp_path, log=logs.append)
    assert len(table.columns["style"].index) == 3
    assert len(logs) == 1 and "cannot write" in logs[0]


def test_stale_temp_files_of_killed_writers_are_cleaned(tmp_path):
    import subprocess
    import sys

    from measure.atomic import remove_stale_temps
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    files = {"dead": tmp_path / f".measure.json.{dead}.a1b2c3.tmp",      # its writer is gone
             "live": tmp_path / f".measure.json.{os.getpid()}.d4e5f6.tmp",  # a running writer's
             "old": tmp_path / ".x.npz.k3j4h5.tmp",                       # no pid, 2 hours old
             "young": tmp_path / ".y.npz.m6n7p8.tmp"}                     # no pid, just written
    for p in files.values():
        p.write_bytes(b"half")
    os.utime(files["old"], (time.time() - 7200, time.time() - 7200))
    assert remove_stale_temps(tmp_path) == 2
    assert sorted(k for k, p in files.items() if p.exists()) == ["live", "young"]


def test_file_lock_excludes_another_process(tmp_path):
    import subprocess
    import sys

    from measure.atomic import file_lock
    lock = tmp_path / ".lock"
    probe = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); "
             "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)")
    with file_lock(lock):
        held = subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True)
    free = subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True)
    assert held.returncode != 0 and b"BlockingIOError" in held.stderr
    assert free.returncode == 0
