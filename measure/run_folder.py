"""One run per output folder, and outputs that say which run wrote them.

- `hold_output_folder`: a non-blocking lock on a file inside `--out`; a
  second run into the same folder fails at once with a one-line error that
  names the folder and, when known, the other run's pid and command.
- `run_id`: a short id of the measurement a run made (data fingerprint,
  measure settings, representation). It is derived, not drawn, so a warm
  rerun writes byte-identical files; two runs with the same id wrote the
  same measurement.
- `check_run_folder`: the files of a folder (measure.json, weights.json ...)
  agree on data fingerprint, run id and simulator names; `report` refuses
  a folder where they do not (two runs mixed, or an interrupted run over an
  old folder).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Iterator, Mapping

from .atomic import LockBusy, OutputError, file_lock

LOCK_NAME = ".ensemble-fit.lock"
# Who holds the folder: written after the lock is taken, removed when the run
# ends. Left behind by a killed run, it tells `report` the folder may be mixed.
RUN_INFO_NAME = ".ensemble-fit.run.json"


class FolderBusyError(OutputError):
    """Another run holds the output folder."""


class MixedRunFolderError(OutputError):
    """The files of a run folder come from different runs."""


def run_id(data_fingerprint: str, settings: Mapping, representation: Mapping | None = None) -> str:
    """The id of a measurement: a hash of the data fingerprint, the measure
    settings (seed included) and the representation (extractor, embedding
    key). Same inputs, same id, so reruns stay byte-identical.

    Parameters
    ----------
    data_fingerprint : str
        `measure.conversation.fingerprint` of the conversations.
    settings : mapping
        The measure settings (``MeasureConfig.to_dict()``), JSON-serialisable.
    representation : mapping, optional
        ``Prepared.representation``.

    Returns
    -------
    str
        ``"run-"`` and 16 hex digits.
    """
    doc = json.dumps([data_fingerprint, settings, representation or {}], sort_keys=True, default=str,
                     ensure_ascii=True)
    return "run-" + hashlib.sha256(doc.encode("utf-8")).hexdigest()[:16]


def measurement_run_id(m) -> str:
    """`run_id` of a `measure.pipeline.Measurement`."""
    return run_id(data_fingerprint(m.prep), m.config.to_dict(), m.prep.representation)


def data_fingerprint(prep) -> str:
    """`fingerprint` of `prep.conversations`, computed once per conversations list
    (every output of a run asks for it; at 100k conversations it takes seconds)."""
    from .conversation import fingerprint
    memo = prep.__dict__.get("_fingerprint_memo")
    if memo is None or memo[0] is not prep.conversations:
        memo = (prep.conversations, fingerprint(prep.conversations))
        prep.__dict__["_fingerprint_memo"] = memo
    return memo[1]


# ------------------------------------------------------------------ the lock

def _read_info(folder: Path) -> dict | None:
    try:
        info = json.loads((folder / RUN_INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _describe(info: dict | None) -> str:
    if not info:
        return ""
    parts = []
    if info.get("pid") is not None:
        parts.append(f"pid {info['pid']}" + (f" on {info['host']}" if info.get("host") else ""))
    if info.get("command"):
        parts.append(f"`{info['command']}`")
    if info.get("started"):
        parts.append(f"started {info['started']}")
    return f" ({', '.join(parts)})" if parts else ""


# Folders this process holds -> the info a killed or failed earlier run left there (or None).
_HELD: dict[Path, dict | None] = {}


@contextlib.contextmanager
def hold_output_folder(folder: str | Path, command: str = "run", reader: bool = False) -> Iterator[bool]:
    """Hold `folder` for one run: the block runs with an exclusive lock on
    ``folder/.ensemble-fit.lock``, taken without waiting.

    The OS drops the lock when the holder dies, so a killed run never blocks
    the next one. Where the lock file cannot be created (a read-only folder)
    the block runs unlocked (value False): the run's up-front write check
    then fails with its own clear error.

    While held, ``folder/.ensemble-fit.run.json`` names this run. It is
    removed when the block ends normally and kept when it raises (the run did
    not finish: `interrupted_run` and `report` say so), as when the process
    is killed.

    Parameters
    ----------
    folder : str or Path
        The output folder (created if needed).
    command : str
        The subcommand, named in the other run's error.
    reader : bool
        The command does not rewrite the run's outputs (`report`): a note
        left by an unfinished run stays as it was.

    Raises
    ------
    FolderBusyError
        Another process holds the folder; the message names the folder and
        that run's pid, command and start time when known.
    """
    folder = Path(folder)
    lock = file_lock(folder / LOCK_NAME, blocking=False)
    try:
        locked = lock.__enter__()
    except LockBusy:
        raise FolderBusyError(f"{folder} is in use by another ensemble-fit run{_describe(_read_info(folder))}; "
                              "wait for it to finish or choose another --out") from None
    key = folder.resolve()
    info_path = folder / RUN_INFO_NAME
    leftover = _read_info(folder) if locked else None
    _HELD[key] = leftover
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}

    def note(info: dict | None) -> None:
        with contextlib.suppress(OSError):   # only a courtesy for other runs' messages
            if info is None:
                info_path.unlink(missing_ok=True)
            else:
                info_path.write_text(json.dumps(info) + "\n", encoding="utf-8")

    if locked:
        note(mine)
    finished = False
    try:
        yield bool(locked)
        finished = True
    finally:
        if locked:
            note(leftover if reader else (None if finished else mine))
        _HELD.pop(key, None)
        lock.__exit__(None, None, None)


def interrupted_run(folder: str | Path) -> dict | None:
    """The info of an earlier run into `folder` that did not finish (killed,
    or failed), when no other run holds the folder now; else None."""
    folder = Path(folder)
    key = folder.resolve()
    if key in _HELD:                  # this process holds it: what it found on taking it
        return _HELD[key]
    info = _read_info(folder)
    if info is None:
        return None
    try:
        with file_lock(folder / LOCK_NAME, blocking=False):
            return info
    except LockBusy:
        return None   # a run is in progress: its info file is current


# ------------------------------------------------------------- agreement

def check_run_folder(folder: str | Path, docs: Mapping[str, Mapping | None],
                     simulators_from: str = "measure.json") -> None:
    """Refuse a folder whose files come from different runs.

    Parameters
    ----------
    folder : str or Path
        The run folder (for the message).
    docs : mapping
        File name -> its parsed JSON (None when the file is absent). Files
        with a ``data_fingerprint`` / ``run_id`` must agree on them; the
        simulators of weights.json (``weights``) must be among those of
        `simulators_from` (``simulators``).
    simulators_from : str
        The file whose ``simulators`` list is the reference.

    Raises
    ------
    MixedRunFolderError
        One line: which files disagree on what, and what to do.
    """
    folder = Path(folder)
    present = {name: d for name, d in docs.items() if isinstance(d, Mapping)}
    problem = None
    for key, what in (("data_fingerprint", "data fingerprint"), ("run_id", "run id")):
        seen = [(name, d[key]) for name, d in present.items() if isinstance(d.get(key), str)]
        other = next(((n, v) for n, v in seen if v != seen[0][1]), None)
        if other is not None:
            problem = f"{seen[0][0]} and {other[0]} come from different runs ({what} {seen[0][1]} vs {other[1]})"
            break
    ref = present.get(simulators_from)
    if problem is None and ref is not None and isinstance(ref.get("simulators"), list):
        known = set(ref["simulators"])
        for name, d in present.items():
            if name == simulators_from or not isinstance(d.get("weights"), Mapping):
                continue
            extra = sorted(set(d["weights"]) - known)
            if extra:
                more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
                problem = (f"{name} weighs simulator(s) {extra[0]!r}{more} that {simulators_from} does not have: "
                           "the files come from different runs")
                break
    if problem is None:
        return
    info = interrupted_run(folder)
    note = (f"; a run into this folder did not finish{_describe(info)}" if info else "")
    raise MixedRunFolderError(f"{folder}: {problem}{note}; rerun into an empty folder "
                              "(or rerun the same command here to rewrite every file)")
