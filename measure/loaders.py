"""Read conversation files into `Conversation` objects, as a stream.

Four record layouts are recognised per record, so one folder may mix them:
the paper's paired layout (`real_messages` + `simulated_messages`), flat
OpenAI-style `messages`, ShareGPT `conversations` and WildChat `conversation`.
Every problem becomes an `InputError` naming file, line and field; under
`on_error="skip"` the record is counted in a `LoadReport` and loading goes on.
"""
from __future__ import annotations

import codecs
import functools
import gc
import gzip
import hashlib
import heapq
import json
import re
import sys
import unicodedata
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .conversation import (ASSISTANT, PRECOMPUTED_FACET_FIELDS, USER, Conversation, Message,
                           fingerprint, is_real_source, normalize_messages)
from .errors import ConfigError, InputError
from .file_names import file_stem
from .parse_cache import EntryWriter, ParseCache, ParsedRecord
from .record_filter import RecordFilter, parse_where

DEFAULT_MAX_TURN_CHARS = 1_000_000
DATA_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet")
_PARQUET_BATCH_ROWS = 2048
EXAMPLES_CAP = 20
REAL_PAIRED_SOURCE = "real"
ON_ERROR_CHOICES = ("raise", "skip")

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
# Compressed formats the loader does not read, by magic bytes: a zstd file
# named .gz must not be reported as "not UTF-8".
_OTHER_COMPRESSION = ((b"\x28\xb5\x2f\xfd", "zstd", "zstd -d"), (b"BZh", "bzip2", "bunzip2"),
                      (b"\xfd7zXZ\x00", "xz", "unxz"), (b"PK\x03\x04", "zip", "unzip"))
# JSON deeper than Python's parser allows is a located input error, and so
# is metadata (the one nested field the loader keeps) deeper than this.
MAX_NESTING = 100
_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_CHUNK = 1 << 20
_SNIFF_BYTES = 1 << 16
_WS = " \t\r\n"
_IGNORED = ""  # role-map value for roles that carry no user/assistant text
_MISSING = object()

# OpenAI chat roles (flat, WildChat and paired layouts).
_OPENAI_ROLES = {"user": USER, "assistant": ASSISTANT, "system": _IGNORED,
                 "developer": _IGNORED, "tool": _IGNORED, "function": _IGNORED,
                 # Gemini exports say "model"; Llama tool output is "ipython".
                 "model": ASSISTANT, "human": USER, "ipython": _IGNORED}
# ShareGPT speaker names seen in the public dumps.
_SHAREGPT_ROLES = {"human": USER, "user": USER, "gpt": ASSISTANT, "chatgpt": ASSISTANT,
                   "bing": ASSISTANT, "bard": ASSISTANT, "assistant": ASSISTANT,
                   "model": ASSISTANT, "system": _IGNORED, "tool": _IGNORED,
                   "function": _IGNORED, "function_call": _IGNORED, "observation": _IGNORED}


# --------------------------------------------------------------------------- report

@dataclass
class FileStats:
    read: int = 0     # records seen, good or bad
    kept: int = 0     # records that produced conversations
    skipped: int = 0  # records dropped under on_error="skip"


@dataclass
class LoadReport:
    files: dict[str, FileStats] = field(default_factory=dict)
    skipped: int = 0
    reasons: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # first EXAMPLES_CAP error messages
    real_deduplicated: int = 0  # paired-layout real conversations seen again in another file
    dropped_sources: dict[str, int] = field(default_factory=dict)  # below min size, under skip
    warnings: list[str] = field(default_factory=list)
    # With max_per_source: source -> conversations read before sampling,
    # for the sources that had more than the cap.
    sampled_from: dict[str, int] = field(default_factory=dict)
    empty_turns_dropped: int = 0  # with drop_empty_turns

    @property
    def records_read(self) -> int:
        return sum(s.read for s in self.files.values())

    @property
    def records_kept(self) -> int:
        return sum(s.kept for s in self.files.values())

    def add_skip(self, err: InputError) -> None:
        self.skipped += 1
        self.reasons[err.reason] += 1
        if len(self.examples) < EXAMPLES_CAP:
            self.examples.append(str(err))

    def warn(self, message: str) -> None:
        self.warnings.append(message)


# --------------------------------------------------------------------------- dataset

@dataclass
class Dataset:
    conversations: list[Conversation]
    real_sources: list[str]
    simulators: list[str]
    report: LoadReport

    def by_source(self) -> dict[str, list[Conversation]]:
        groups: dict[str, list[Conversation]] = {}
        for c in self.conversations:
            groups.setdefault(c.source, []).append(c)
        return {name: groups[name] for name in sorted(groups)}

    def real(self) -> list[Conversation]:
        """All real-user conversations, the real sources pooled."""
        real = set(self.real_sources)
        return [c for c in self.conversations if c.source in real]

    @property
    def tasks(self) -> list[str]:
        return sorted({c.task for c in self.conversations if c.task is not None})

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.conversations)


# --------------------------------------------------------------------------- public API

def iter_conversations(path: str | Path, on_error: str = "raise", report: LoadReport | None = None,
                       *, max_turn_chars: int = DEFAULT_MAX_TURN_CHARS,
                       drop_empty_turns: bool = False) -> Iterator[Conversation]:
    """Yield conversations from a file or a folder (searched recursively)."""
    reader = _Reader(on_error, report if report is not None else LoadReport(), max_turn_chars,
                     drop_empty_turns)
    yield from reader.read(path)


def load_dataset(paths: list[str | Path] | str | Path, real: list[str] | None = None,
                 on_error: str = "raise", min_conversations: int = 2,
                 *, max_turn_chars: int = DEFAULT_MAX_TURN_CHARS,
                 max_per_source: int | None = None, drop_empty_turns: bool = False,
                 where: list[str] | None = None, min_user_turns: int | None = None,
                 cache_dir: str | Path | None = None) -> Dataset:
    """Load every path into one dataset and split real sources from simulators.

    `paths` may also hold Hugging Face inputs: `hf:OWNER/NAME[@REV][:SPLIT][#NAME]`
    ids, `save_to_disk` folders, `datasets` Dataset / IterableDataset /
    DatasetDict objects (or `(name, dataset)` pairs), or be a dict
    `{name: dataset}`; see `measure.hub`. `where` keeps the records whose
    fields match (`["language=English", "toxic=false"]`, see
    `record_filter.parse_where`) and `min_user_turns` the conversations with
    at least that many user turns.

    `max_per_source` keeps a uniform random sample of at most that many
    conversations per source, chosen while streaming (memory stays bounded
    by the sample, not the log); see `_SourceSample`. `drop_empty_turns`
    drops empty or whitespace-only user turns instead of rejecting their
    conversation (real logs have them: pasted images, failed captures); the
    assistant turns around a dropped turn then merge, as in normalization.

    With `cache_dir`, each local JSON/JSONL file that loads cleanly is kept
    parsed under CACHE/parsed, keyed by its bytes, and read from there next
    time (see `measure.parse_cache`).
    """
    if isinstance(paths, (str, Path)) or _is_dataset_object(paths):  # a DatasetDict is a dict
        paths = [paths]
    elif isinstance(paths, dict):
        paths = list(paths.items())  # {name: dataset}
    if not paths:
        raise ConfigError("no input paths given")
    if max_per_source is not None and (isinstance(max_per_source, bool)
                                       or not isinstance(max_per_source, int) or max_per_source < 1):
        raise ConfigError(f"--max-per-source must be a positive integer, got {max_per_source!r}")
    report = LoadReport()
    record_filter = RecordFilter(parse_where(where), min_user_turns,
                                 tuple(str(w).strip() for w in where or ()))
    reader = _Reader(on_error, report, max_turn_chars, drop_empty_turns, record_filter,
                     ParseCache(cache_dir) if cache_dir is not None else None)
    groups: dict[str, list[Conversation]] = {}
    with _gc_paused():
        if max_per_source is None:
            for p in paths:
                for conv in reader.read(p):
                    groups.setdefault(conv.source, []).append(conv)
        else:
            sample = _SourceSample(max_per_source)
            reader.admit = sample.would_keep
            for p in paths:
                for conv in reader.read(p):
                    sample.offer(conv)
            groups = sample.groups()
            report.sampled_from = {name: n for name, n in sorted(sample.seen.items())
                                   if n > max_per_source}
            if report.sampled_from:
                report.warn(f"kept a random sample of {max_per_source:,} conversations of " +
                            ", ".join(f"{name} ({n:,})" for name, n in report.sampled_from.items()) +
                            " (--max-per-source)")

    if real:
        # Compared as loaded names are: NFC, without invisible characters.
        real = [_clean_option_name(name) for name in real]
        unknown = [name for name in real if name not in groups]
        if unknown:
            raise ConfigError(f"--real names source(s) not in the data: {', '.join(unknown)} "
                              f"(sources found: {', '.join(sorted(groups)) or 'none'})")

    for name in sorted(groups):
        convs = groups[name]
        if len(convs) >= min_conversations:
            continue
        files = sorted({c.origin.rsplit(":", 1)[0] for c in convs})
        err = InputError(f"too few conversations: source '{name}' has {len(convs)}, "
                         f"the minimum is {min_conversations}",
                         files[0] if len(files) == 1 else None)
        if on_error == "raise":
            raise err
        report.warn(f"{err}; source dropped")
        report.dropped_sources[name] = len(convs)
        del groups[name]

    if report.empty_turns_dropped:
        report.warn(f"dropped {report.empty_turns_dropped:,} empty user turn(s) (--drop-empty-turns)")
    record_filter.check_fields()
    if record_filter.summary():
        report.warn(record_filter.summary())
    if not groups:
        reasons = ", ".join(f"{r} ({n})" for r, n in report.reasons.most_common())
        detail = f": {report.skipped} record(s) skipped: {reasons}" if report.skipped else ""
        if report.dropped_sources:
            dropped = ", ".join(f"'{n}' ({c})" for n, c in sorted(report.dropped_sources.items()))
            detail += (f"{';' if detail else ':'} every source had fewer than "
                       f"{min_conversations} conversations: {dropped}")
        inputs = ", ".join(_input_name(p) for p in paths)
        raise InputError(f"no conversations loaded from {inputs}{detail}")

    conversations = [c for name in groups for c in groups[name]]
    real_sources = sorted(n for n in groups if is_real_source(n, real))
    simulators = sorted(n for n in groups if not is_real_source(n, real))
    if not real_sources:
        report.warn("no real-user source: name one 'real', 'real:*' or 'real_*', or pass --real")
    if not simulators:
        report.warn("no simulator source: every source is a real-user source")
    return Dataset(conversations, real_sources, simulators, report)


def _clean_option_name(name: str) -> str:
    try:
        return clean_name(name, f"--real {name.encode('unicode_escape').decode('ascii')}")[0]
    except _Bad as bad:
        raise ConfigError(bad.message) from None


class _SourceSample:
    """A uniform sample of at most `k` conversations per source, by bottom-k
    hashing: each conversation gets a pseudo-random rank from its task and
    id, and the k lowest ranks of a source are kept.

    The sample does not depend on file or record order, and it needs memory
    for k conversations per source only. Ranking by id (not by source) keeps
    the same ids in every source of the paper's paired layout, so the real
    users and each simulator's conversations stay matched by goal.
    """

    def __init__(self, k: int):
        self.k = k
        self.heaps: dict[str, list] = {}
        self.seen: Counter = Counter()
        self._arrivals = 0
        self._last: tuple[Conversation, int] | None = None

    @staticmethod
    def rank(conv: Conversation) -> int:
        digest = hashlib.blake2b(f"{conv.task or ''}\x00{conv.id}".encode(), digest_size=8,
                                 person=b"ef-sample").digest()
        return int.from_bytes(digest, "big")

    def _rank_of(self, conv: Conversation) -> int:
        # would_keep and then offer ask for the same conversation's rank: hash once.
        if self._last is None or self._last[0] is not conv:
            self._last = (conv, self.rank(conv))
        return self._last[1]

    def offer(self, conv: Conversation) -> None:
        self._arrivals += 1
        self.seen[conv.source] += 1
        # A max-heap on rank (negated); equal ranks keep the earlier arrival.
        item = (-self._rank_of(conv), -self._arrivals, conv)
        heap = self.heaps.setdefault(conv.source, [])
        if len(heap) < self.k:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)

    def would_keep(self, conv: Conversation) -> bool:
        """Whether `offer(conv)` would put it in the sample now. A conversation
        turned away is never kept later (the bar only rises), and a repeat of
        its id has the same rank, so it is turned away too: the reader checks
        ids for repeats among these only, and its memory follows the sample."""
        heap = self.heaps.get(conv.source)
        if heap is None or len(heap) < self.k:
            return True
        return (-self._rank_of(conv), -(self._arrivals + 1)) > heap[0][:2]

    def groups(self) -> dict[str, list[Conversation]]:
        # Back in reading order, as without sampling.
        return {name: [item[2] for item in sorted(heap, key=lambda item: -item[1])]
                for name, heap in self.heaps.items()}


# A load that leaves fewer new container objects than this is not worth a
# full collection (see _gc_paused).
_SETTLE_MIN_OBJECTS = 100_000


@contextmanager
def _gc_paused():
    """Pause the cycle collector while loading.

    Loading allocates millions of acyclic objects (parsed JSON, messages);
    each allocation burst triggers full collections over the growing heap,
    which took ~40% of the time on 130k conversations.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            _settle_young()


def _settle_young() -> None:
    """One full collection after a large load, so that its objects (a
    million messages at 130k conversations) go straight to the oldest
    generation. Left young, the next allocations would traverse them three
    times: as generation 0, as generation 1, and in the full collection that
    CPython runs once promoted objects outnumber a quarter of the old ones,
    which is when this collects: it only brings that collection forward.
    """
    young = gc.get_count()[0]  # container objects allocated (net) while paused
    if young >= _SETTLE_MIN_OBJECTS and young * 4 > len(gc.get_objects(generation=2)):
        gc.collect()


# --------------------------------------------------------------------------- files

SIDECAR_FILES = frozenset({"true_mixture.json", "measure.json", "weights.json", "explain.json",
                           "sweep.json"})


def find_files(path: str | Path) -> list[tuple[Path, str | None]]:
    """Data files under `path` with the task their sub-folder names (None at top level)."""
    root = Path(path)
    if not root.exists():
        raise InputError("not found: no such file or folder", str(root))
    if root.is_file():
        return [(root, None)]
    found = []
    for f in root.rglob("*"):
        rel = f.relative_to(root)
        # Hidden folders (.git, .ipynb_checkpoints) hold copies, not data.
        if any(part.startswith(".") for part in rel.parts) or not f.is_file():
            continue
        # Sidecars that live beside data (the demo's answer key, run outputs)
        # are not conversations.
        if f.name in SIDECAR_FILES:
            continue
        if f.name.lower().endswith(DATA_SUFFIXES):
            parent = rel.parent.as_posix()
            found.append((f, None if parent == "." else parent))
    if not found:
        raise InputError(f"no input files: found no {', '.join('*' + s for s in DATA_SUFFIXES)} "
                         f"under this folder", str(root))
    return sorted(found, key=lambda item: item[0].relative_to(root).as_posix())


def _is_dataset_object(obj) -> bool:
    from .hub import is_dataset_object
    return is_dataset_object(obj)


def _input_name(item) -> str:
    """An input as messages name it (a Dataset's repr spans lines)."""
    if isinstance(item, tuple) and len(item) == 2 and _is_dataset_object(item[1]):
        return f"<dataset {item[0]}>"
    return "<dataset>" if _is_dataset_object(item) else str(item)


def _split_rename(path) -> tuple[Path, str | None]:
    """`data/wildchat#real` -> (data/wildchat, 'real'); a path that exists
    as written keeps its '#'."""
    text = str(path)
    if "#" in text and not Path(text).exists():
        base, _, name = text.rpartition("#")
        if name.strip():
            return Path(base), name.strip()
    return Path(path), None


def _hub_streams(item):
    """The record streams of a Hugging Face input (`hf:` id, `save_to_disk`
    folder, `datasets` object), or None for plain files and folders."""
    from . import hub
    if hub.is_hub_id(item):
        return hub.hub_streams(hub.parse_hub_id(str(item)))
    if isinstance(item, tuple) and len(item) == 2 and hub.is_dataset_object(item[1]):
        return hub.object_streams(item[1], str(item[0]))  # (name, dataset)
    if hub.is_dataset_object(item):
        return hub.object_streams(item)
    if not isinstance(item, (str, Path)):
        raise ConfigError(f"cannot read conversations from a {type(item).__name__}: give a path, "
                          f"an hf:OWNER/NAME id or a datasets Dataset")
    path, rename = _split_rename(item)
    if hub.is_save_to_disk(path):
        return hub.disk_streams(path, rename)
    return None


def _open(path: Path):
    # Magic bytes, not the extension: a gzip file named .jsonl happens.
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")


def _sniff(path: Path) -> str:
    """'array', 'lines' or 'document' (one JSON value spread over lines)."""
    if path.name.lower().endswith((".jsonl", ".jsonl.gz")):
        return "lines"
    with _open(path) as fh:
        # Read a chunk, not a line: a JSON array may be one 600 MB line.
        head = fh.read(_SNIFF_BYTES)
        if head.startswith(_BOM):
            head = head[3:]
        while head and head.isspace():
            head = fh.read(_SNIFF_BYTES)
        if head.lstrip()[:1] == b"[":
            return "array"
        if not head:
            return "lines"
    with _open(path) as fh:
        for i, raw in enumerate(fh):
            if i == 0 and raw.startswith(_BOM):
                raw = raw[3:]
            if raw.isspace():
                continue
            try:
                _loads(raw.decode("utf-8", "replace"))
                return "lines"
            except _TooBig:  # a whole record on one line, only too big: still lines
                return "lines"
            except ValueError:
                return "document"
    return "lines"


Item = tuple[int | None, object, bool]  # (line, record or InputError, from a JSON array)


def _compression_error(path: Path) -> str | None:
    """A message when the file is compressed in a format the loader does not read."""
    with open(path, "rb") as fh:
        magic = fh.read(8)
    for prefix, name, tool in _OTHER_COMPRESSION:
        if magic.startswith(prefix):
            return (f"unsupported compression: the file is {name}-compressed (whatever its name "
                    f"says); decompress it first ({tool}) or recompress it with gzip")
    return None


_JSON_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_NESTING_TOKEN = re.compile(_JSON_STRING + r'|[\[\]{}]')
_BIG_INT_TOKEN = re.compile(_JSON_STRING + r"|(-?\d{%d,})" % (_INT_DIGITS + 1))


class _TooBig(ValueError):
    """JSON beyond the loader's limits; `pos` is the offset in the text."""

    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.message, self.pos = message, pos


def _deep_at(text: str, start: int = 0, end: int | None = None) -> int | None:
    """Offset where arrays/objects nest deeper than MAX_NESTING, or None
    (error path only: it scans in Python)."""
    end = len(text) if end is None else end
    depth = 0
    for m in _NESTING_TOKEN.finditer(text, start, end):
        c = m.group()[0]
        if c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return m.start()
        elif c in "]}":
            depth -= 1
    return None


def _too_deep(text: str, start: int = 0) -> _TooBig:
    pos = _deep_at(text, start)
    return _TooBig(f"too deeply nested: more than {MAX_NESTING} levels of arrays or objects",
                   start if pos is None else pos)


def _big_int_error(text: str, start: int = 0) -> _TooBig:
    """Python refuses integers over sys.get_int_max_str_digits() digits; say where."""
    pos = next((m.start(1) for m in _BIG_INT_TOKEN.finditer(text, start) if m.group(1)), start)
    return _TooBig(f"number too large: an integer with more than {_INT_DIGITS:,} digits", pos)


def _loads(text: str):
    """json.loads, with its two non-syntax failures as located _TooBig errors.

    Nesting beyond the parser's recursion limit (~1,000 levels) raises
    RecursionError and a 4,300+ digit integer ValueError; both become
    _TooBig with the offset. Checking depth before parsing would cost a
    third of the parse time on every record, for input that never happens.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise _too_deep(text) from None
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise _big_int_error(text) from None


# json.loads's own scanner, called directly: loads adds three Python calls
# and two regex matches per line around it.
_scan_once = json.JSONDecoder().scan_once
_LINE_ENDS = ("", "\n", "\r\n")


def _loads_line(text: str):
    """`_loads` of one JSONL line: the same value, or the same exception.

    A line that is one object up to its line break is scanned directly;
    anything else (or any error) goes through `_loads`, which words it.
    """
    if text[:1] == "{":
        try:
            obj, end = _scan_once(text, 0)
        except (StopIteration, ValueError, RecursionError):
            return _loads(text)  # the error path: parse again for loads' exact exception
        if text[end:] in _LINE_ENDS:
            return obj
    return _loads(text)


def _column(text: str, pos: int) -> tuple[int, int]:
    """(line, column), both 1-based, of offset `pos`."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _iter_items(path: Path, display: str, warn: Callable[[str], None]) -> Iterator[Item]:
    """Parsed records of one file; unreadable parts come back as InputError items."""
    try:
        if path.name.lower().endswith(".parquet"):
            yield from _parquet_items(path, display)
            return
        bad = _compression_error(path)
        if bad is not None:
            yield None, InputError(bad, display), False
            return
        kind = _sniff(path)
        if kind == "array":
            yield from _array_items(path, display, warn)
        elif kind == "document":
            yield from _document_items(path, display)
        else:
            yield from _line_items(path, display)
    except (OSError, EOFError, zlib.error) as e:
        yield None, InputError(f"unreadable file: {e}", display), False


def _line_items(path: Path, display: str) -> Iterator[Item]:
    with _open(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(_BOM):
                raw = raw[3:]
            if not raw or raw.isspace():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield lineno, InputError(_not_utf8(raw[e.start], e.start + 1), display,
                                         lineno), False
                continue
            try:
                obj = _loads_line(text)
            except json.JSONDecodeError as e:
                yield lineno, InputError(_json_error(e), display, lineno), False
                continue
            except _TooBig as e:
                yield lineno, InputError(f"{e.message} (column {e.pos + 1})", display, lineno), False
                continue
            yield lineno, obj, False


def _parquet_items(path: Path, display: str) -> Iterator[Item]:
    """Rows of a Parquet file (the Hugging Face hub's format) as records.

    The row number (1-based) stands in for the line in error messages.
    Read in batches so a 1 GB shard does not sit in memory as Python objects.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        yield None, InputError(f"unreadable Parquet file: {e}", display), False
        return
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            for rec in batch.to_pylist():
                row += 1
                yield row, rec, False
    except (pa.ArrowException, OSError) as e:
        yield None, InputError(f"unreadable Parquet file after row {row}: {e}", display), False


def _document_items(path: Path, display: str) -> Iterator[Item]:
    with _open(path) as fh:
        data = fh.read()
    if data.startswith(_BOM):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - data.rfind(b"\n", 0, e.start)
        yield line, InputError(_not_utf8(data[e.start], column), display, line), False
        return
    try:
        obj = _loads(text)
    except json.JSONDecodeError as e:
        yield e.lineno, InputError(_json_error(e), display, e.lineno), False
        return
    except _TooBig as e:
        line, col = _column(text, e.pos)
        yield line, InputError(f"{e.message} (column {col})", display, line), False
        return
    yield 1, obj, False


def _json_error(e: json.JSONDecodeError) -> str:
    # Some messages already end in "at" ("Unterminated string starting at").
    at = "" if e.msg.endswith(" at") else " at"
    return f"invalid JSON: {e.msg}{at} column {e.colno}"


def _not_utf8(byte: int, column: int) -> str:
    return (f"not UTF-8: byte 0x{byte:02x} at byte {column} of the line "
            f"is not valid UTF-8 (save the file as UTF-8)")


class _CharStream:
    """Text of a binary stream decoded chunk by chunk, for `raw_decode`."""

    def __init__(self, fh):
        self.fh = fh
        self.buf = ""
        self.pos = 0
        self.eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._bad: UnicodeDecodeError | None = None

    def more(self) -> bool:
        """Append the next chunk; False at end of file.

        Bad bytes raise only once the records before them are consumed, so
        those records still load.
        """
        if self._bad is not None:
            raise self._bad
        if self.eof:
            return False
        chunk = self.fh.read(_CHUNK)
        self.eof = not chunk
        try:
            text = self._decoder.decode(chunk, final=self.eof)
        except UnicodeDecodeError as e:
            text = e.object[:e.start].decode("utf-8")
            # A file cut inside a multi-byte character is a truncation, not bad bytes.
            if not (self.eof and e.reason == "unexpected end of data"):
                self._bad = e
        self.buf = self.buf[self.pos:] + text
        self.pos = 0
        return not self.eof or self._bad is not None

    def next_char(self) -> str:
        """Skip whitespace; the next character, or '' at end of file."""
        while True:
            buf, p, n = self.buf, self.pos, len(self.buf)
            while p < n and buf[p] in _WS:
                p += 1
            self.pos = p
            if p < n:
                return buf[p]
            if not self.more():
                return ""


_VALUE_TOKEN = re.compile(_JSON_STRING + r'|"|[\[\]{}]')
_SCALAR_END = re.compile(r"[,\]\s]")


def _value_end(s: _CharStream) -> int | None:
    """End offset of the JSON value at `s.pos`, found by matching brackets
    (reading more of the file as needed); None when the file ends first.
    Used to step over a record the parser refused (too deep, too big)."""
    while True:
        if s.buf[s.pos:s.pos + 1] not in ("[", "{"):
            m = _SCALAR_END.search(s.buf, s.pos)
            if m is not None:
                return m.start()
        else:
            depth = 0
            for m in _VALUE_TOKEN.finditer(s.buf, s.pos):
                c = m.group()
                if c == '"':
                    break  # a string cut at the end of the buffer: read more
                if c[0] in "[{":
                    depth += 1
                elif c[0] in "]}":
                    depth -= 1
                    if depth == 0:
                        return m.end()
        if not s.more():
            return None


def _array_items(path: Path, display: str, warn: Callable[[str], None]) -> Iterator[Item]:
    """Records of a JSON array, read incrementally; a cut-off tail is a warning.

    Large public dumps (ShareGPT) are hundreds of MB and one ships truncated,
    so neither json.load nor failing on the tail is acceptable.
    """
    raw_decode = json.JSONDecoder().raw_decode
    index = 0  # records yielded so far
    with _open(path) as fh:
        s = _CharStream(fh)
        try:
            if s.next_char() == "\ufeff":
                s.pos += 1
            s.next_char()
            s.pos += 1  # the '[' that _sniff saw
            while True:
                c = s.next_char()
                if c == "]":
                    return
                if index and c == ",":
                    s.pos += 1
                    c = s.next_char()
                    if c == "]":  # tolerate a trailing comma
                        return
                elif index and c:
                    yield index + 1, InputError(
                        f"invalid JSON: expected ',' or ']' after record {index} "
                        f"(record {index + 1} of the JSON array)", display, index + 1), True
                    return
                if not c:
                    warn(f"{display}: truncated JSON array: no closing ']'; "
                         f"loaded the {index} complete records")
                    return
                too_big = None
                while True:
                    try:
                        obj, end = raw_decode(s.buf, s.pos)
                    except json.JSONDecodeError as e:
                        # Out of data rather than bad data: the scanner stopped at the end.
                        unterminated = e.msg.startswith("Unterminated string")
                        near_end = e.pos >= len(s.buf) - 16
                        if (unterminated or near_end) and s.more():
                            continue
                        if unterminated or (near_end and "]" not in s.buf[e.pos:]):
                            warn(f"{display}: truncated JSON array: record {index + 1} is cut off "
                                 f"at the end of the file; loaded the {index} complete records")
                        else:
                            yield index + 1, InputError(
                                f"invalid JSON: {e.msg} (record {index + 1} of the JSON array); "
                                f"the rest of the file is not read", display, index + 1), True
                        return
                    except (RecursionError, ValueError) as e:
                        # Too deep or an oversized integer: skip this record, go on with the next.
                        end = _value_end(s)
                        too_big = (_too_deep(s.buf, s.pos) if isinstance(e, RecursionError)
                                   else _big_int_error(s.buf, s.pos))
                        if end is None:
                            yield index + 1, InputError(
                                f"{too_big.message} (record {index + 1} of the JSON array); "
                                "the rest of the file is not read", display, index + 1), True
                            return
                        break
                    # A bare number at the buffer's end may continue in the next chunk.
                    if end == len(s.buf) and not isinstance(obj, (dict, list)) and s.more():
                        continue
                    break
                s.pos = end
                index += 1
                if too_big is not None:
                    yield index, InputError(f"{too_big.message} (record {index} of the JSON array)",
                                            display, index), True
                    continue
                yield index, obj, True
        except UnicodeDecodeError as e:
            yield index + 1, InputError(
                f"not UTF-8: invalid byte 0x{e.object[e.start]:02x} in record {index + 1} of the "
                f"JSON array; the rest of the file is not read (save the file as UTF-8)",
                display, index + 1), True


# --------------------------------------------------------------------------- records

class _Bad(Exception):
    """A record problem before its file and line are attached."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class _Layout:
    list_field: str
    role_key: str
    text_key: str
    roles: dict[str, str]

    @property
    def expected(self) -> str:
        names = list(self.roles)
        return ", ".join(names[:-1]) + " or " + names[-1]


_FLAT = _Layout("messages", "role", "content", _OPENAI_ROLES)
_WILDCHAT = _Layout("conversation", "role", "content", _OPENAI_ROLES)
_SHAREGPT = _Layout("conversations", "from", "value", _SHAREGPT_ROLES)
_PAIRED_REAL = _Layout("real_messages", "role", "content", _OPENAI_ROLES)
_PAIRED_SIM = _Layout("simulated_messages", "role", "content", _OPENAI_ROLES)
# Chatbot Arena records pair two models' answers to the same user: the user
# turns of `conversation_a` are the user's behaviour.
_ARENA = _Layout("conversation_a", "role", "content", _OPENAI_ROLES)
_ID_FIELDS = ("id", "conversation_id", "conversation_hash", "question_id")


def _kind(value) -> str:
    """JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(text: str, limit: int = 40) -> str:
    """Quote user-supplied text on one short line."""
    text = text if len(text) <= limit else text[:limit] + "..."
    return "'" + text.replace("\n", "\\n").replace("\r", "\\r") + "'"


# Letters that render as nothing but are not format characters (Cf).
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u034f")


def _codepoints(chars) -> str:
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '')}".rstrip() for c in sorted(set(chars)))


def clean_name(raw: str, what: str = "the name", field: str | None = None) -> tuple[str, str]:
    """(name, what was removed) for a source or task name.

    Names are compared as their Unicode NFC form, so the composed and
    decomposed spellings of 'café' are one source. Invisible characters
    (zero-width spaces and joiners, bidi marks, soft hyphens, a BOM) and
    surrounding whitespace are removed, so 'sim_terse' with a zero-width
    space is 'sim_terse'; the caller warns about that. Control characters
    (NUL, ESC, newlines) and lone surrogates cannot be shown or written
    safely and are a located error (`_Bad`).
    """
    if raw.isascii() and raw.isprintable() and raw == raw.strip():
        return raw, ""  # the common case
    bad = [c for c in raw if unicodedata.category(c) in ("Cc", "Cs")]
    if bad:
        kind = "a lone surrogate (half of a character pair)" if unicodedata.category(bad[0]) == "Cs" \
            else "a control character"
        raise _Bad(f"bad name: {what} contains {kind} ({_codepoints(bad)}); "
                   "names must be printable text", field)
    invisible = [c for c in raw if unicodedata.category(c) == "Cf" or c in _INVISIBLE_LETTERS]
    name = "".join(c for c in raw if c not in invisible) if invisible else raw
    removed = _codepoints(invisible)
    if name != name.strip():
        name = name.strip()
        removed = f"{removed}, surrounding spaces" if removed else "surrounding spaces"
    name = unicodedata.normalize("NFC", name)
    if not name:
        raise _Bad(f"bad name: {what} has only invisible characters", field)
    return name, removed


def _record_id(rec: dict) -> tuple[str | None, str]:
    """(id, field it came from); numbers become strings."""
    for key in _ID_FIELDS:
        value = rec.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            if not value.strip():
                raise _Bad(f"empty id: '{key}' is blank", key)
            if not value.isascii() and any("\ud800" <= c <= "\udfff" for c in value):
                # Not encodable as UTF-8: it could not be written to any output.
                raise _Bad(f"bad id: '{key}' contains a lone surrogate (half of a character pair)", key)
            return value, key
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value), key
        if isinstance(value, float) and value.is_integer():
            return str(int(value)), key
        raise _Bad(f"wrong type: '{key}' must be a string or an integer, got {_kind(value)}", key)
    return None, "id"


def _optional_str(rec: dict, key: str) -> str | None:
    value = rec.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Bad(f"wrong type: '{key}' must be a string, got {_kind(value)}", key)
    return value


def _metadata(rec: dict) -> dict:
    value = rec.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(f"wrong type: 'metadata' must be an object, got {_kind(value)}", "metadata")
    flat = _SCALAR_TYPES.issuperset(map(type, value.values()))  # the usual case: nothing to walk
    if not flat and _nested_deeper(value, MAX_NESTING):
        # Kept and written out later: too deep a value would crash the JSON writer.
        raise _Bad(f"too deeply nested: 'metadata' has more than {MAX_NESTING} levels of arrays "
                   "or objects", "metadata")
    return value


# JSON's scalar types: metadata holding only these is one level deep.
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def _nested_deeper(value, limit: int) -> bool:
    """Whether dicts/lists in `value` nest deeper than `limit` (no recursion)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _precomputed(rec: dict, prefixes: tuple[str, ...]) -> dict[str, str]:
    """Facet descriptions given in the input; later prefixes win."""
    if _facet_keys(prefixes).isdisjoint(rec):
        return {}  # most records have none: one set test instead of a lookup per name
    out = {}
    for prefix in prefixes:
        for paper_name, ours in PRECOMPUTED_FACET_FIELDS.items():
            key = prefix + paper_name
            value = rec.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise _Bad(f"wrong type: '{key}' must be a string, got {_kind(value)}", key)
            out[ours] = value
    return out


@functools.lru_cache(maxsize=None)
def _facet_keys(prefixes: tuple[str, ...]) -> frozenset[str]:
    """Every key `_precomputed` may read with these prefixes."""
    return frozenset(prefix + name for prefix in prefixes for name in PRECOMPUTED_FACET_FIELDS)


def _text(value, role: str, path: str) -> str | None:
    """Message text from a string or a list of OpenAI content parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for j, part in enumerate(value):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                t = part.get("text")
                if isinstance(t, str):
                    texts.append(t)
                elif t is not None or part.get("type") == "text":
                    raise _Bad(f"wrong type: a text part's 'text' must be a string, got {_kind(t)}",
                               f"{path}[{j}].text")
                # Image/audio parts carry no user text.
            else:
                raise _Bad(f"wrong type: content parts must be objects, got {_kind(part)}",
                           f"{path}[{j}]")
        return "\n".join(texts)
    if value is None and role == ASSISTANT:
        return None  # tool-call-only assistant turn
    raise _Bad(f"wrong type: content must be a string or a list of text parts, got {_kind(value)}",
               path)


def _parse_messages(items, layout: _Layout, list_field: str, max_chars: int,
                    drop_empty: bool = False) -> tuple[tuple[Message, ...], int]:
    """The normalized messages, and how many empty user turns were dropped
    (only with `drop_empty`; otherwise an empty user turn is an error)."""
    plain = _plain_messages(items, layout, max_chars) if isinstance(items, list) else None
    if plain is None:
        out, dropped = _checked_messages(items, layout, list_field, max_chars, drop_empty)
    else:
        (out, alternating), dropped = plain, 0
        if alternating:  # starts with a user turn: nothing to merge or drop, a user turn present
            return tuple(out), 0
    messages = normalize_messages(out)
    if not any(m.role == USER for m in messages):
        raise _Bad(f"no user turn: '{list_field}' has no user message", list_field)
    return messages, dropped


def _plain_messages(items: list, layout: _Layout,
                    max_chars: int) -> tuple[list[Message], bool] | None:
    """The messages of a well-formed list, and whether they alternate
    starting with a user turn (then normalizing changes nothing).

    The common case, checked cheaply: None for anything unusual (an item
    that is not a plain dict, a missing field, a role that needs case folding
    or is unknown, non-string text, an empty or oversized user turn), and
    `_checked_messages` then reads the list again and words the error. It
    keeps what that loop keeps.
    """
    role_key, text_key, roles = layout.role_key, layout.text_key, layout.roles
    out: list[Message] = []
    prev = ASSISTANT  # a leading assistant turn is dropped by normalizing: not alternating
    alternating = True
    try:
        for item in items:
            if type(item) is not dict:  # a subclass may answer [] differently (defaultdict)
                return None
            role = roles[item[role_key]]  # KeyError: no role, or not an exact role name
            if not role:
                continue  # system, tool, ...
            text = item[text_key]
            if not isinstance(text, str):
                return None
            if not text or text.isspace():
                if role == USER:
                    return None
                continue  # empty assistant turn, dropped as _checked_messages does
            if role == USER and len(text) > max_chars:
                return None
            if role == prev:
                alternating = False
            prev = role
            out.append(Message(role, text))
    except (KeyError, TypeError):  # TypeError: an unhashable role (a list, an object)
        return None
    return out, alternating and bool(out)


def _checked_messages(items, layout: _Layout, list_field: str, max_chars: int,
                      drop_empty: bool) -> tuple[list[Message], int]:
    """Messages before normalizing, every item checked; a problem is a `_Bad`
    naming the item's field."""
    if not isinstance(items, list):
        raise _Bad(f"wrong type: '{list_field}' must be a list of messages, got {_kind(items)}",
                   list_field)
    role_key, text_key, roles = layout.role_key, layout.text_key, layout.roles
    out: list[Message] = []
    dropped = 0
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _Bad(f"wrong type: each message must be an object, got {_kind(item)}",
                       f"{list_field}[{i}]")
        raw_role = item.get(role_key)
        if not isinstance(raw_role, str):
            if role_key not in item:
                raise _Bad(f"missing field: message has no '{role_key}'",
                           f"{list_field}[{i}].{role_key}")
            raise _Bad(f"wrong type: '{role_key}' must be a string, got {_kind(raw_role)}",
                       f"{list_field}[{i}].{role_key}")
        role = roles.get(raw_role)
        if role is None:
            role = roles.get(raw_role.strip().lower())
            if role is None:
                raise _Bad(f"unknown role: {_show(raw_role)} (expected {layout.expected})",
                           f"{list_field}[{i}].{role_key}")
        if not role:  # system, tool, ...: not part of the user/assistant exchange
            continue
        text = item.get(text_key, _MISSING)
        if not isinstance(text, str):  # the field path is built only off the fast path
            if text is _MISSING:
                raise _Bad(f"missing field: message has no '{text_key}'",
                           f"{list_field}[{i}].{text_key}")
            text = _text(text, role, f"{list_field}[{i}].{text_key}")
        if role == USER:
            if not text or text.isspace():
                if drop_empty:
                    dropped += 1
                    continue
                raise _Bad("empty user turn: the text is empty or only whitespace "
                           "(--drop-empty-turns drops such turns and keeps the conversation)",
                           f"{list_field}[{i}].{text_key}")
            if len(text) > max_chars:
                raise _Bad(f"user turn too large: {len(text):,} characters, the cap is "
                           f"{max_chars:,} (raise --max-turn-chars to allow it)",
                           f"{list_field}[{i}].{text_key}")
        elif not text or text.isspace():
            # Empty assistant turns (tool calls, failed replies) carry no behaviour.
            continue
        out.append(Message(role, text))
    return out, dropped


def _record_error(bad: _Bad, display: str, line: int | None, in_array: bool) -> InputError:
    """A record's problem, located (a JSON array's records are numbered too)."""
    suffix = f" (record {line} of the JSON array)" if in_array else ""
    return InputError(bad.message + suffix, display, line, bad.field)


@dataclass(slots=True)  # one per record: a plain slots class builds faster than a frozen one
class _Where:
    file: str
    stem: str
    line: int
    task: str | None
    origin: str  # "file:line", made once: every conversation of the record keeps it


class _Reader:
    """Loading state shared across files: ids seen, paired real conversations."""

    def __init__(self, on_error: str, report: LoadReport, max_turn_chars: int,
                 drop_empty_turns: bool = False, record_filter: RecordFilter | None = None,
                 parse_cache: ParseCache | None = None):
        if on_error not in ON_ERROR_CHOICES:
            raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.on_error = on_error
        self.report = report
        self.max_turn_chars = max_turn_chars
        self.drop_empty = drop_empty_turns
        self.filter = record_filter if record_filter is not None else RecordFilter()
        self.seen: dict[tuple, str] = {}  # (source, task, id) -> origin
        # With --max-per-source: ids are checked for repeats only among the
        # conversations the sample takes in (see _SourceSample.would_keep).
        self.admit: Callable[[Conversation], bool] | None = None
        self._names: dict[tuple, tuple[str, str]] = {}  # (raw name, field) -> (clean name, removed)
        self.parse_cache = parse_cache
        self._cleaned = False  # a name read since this was reset had characters removed
        self.paired_real: dict[tuple, tuple[str, str]] = {}  # (task, id) -> (hash, origin)

    def read(self, path) -> Iterator[Conversation]:
        """A file or folder, `hf:OWNER/NAME`, a `save_to_disk` folder or a
        `datasets` object; `INPUT#NAME` names the input's source NAME."""
        streams = _hub_streams(path)
        if streams is not None:
            for stream in streams:
                stem, task, rows = stream.resolved(
                    lambda file, display: _iter_items(file, display, self.report.warn))
                yield from self._read_items(stream.display, stem, task, rows)
            return
        path, rename = _split_rename(path)
        for file, task in find_files(path):
            yield from self._read_file(file, task, rename)

    def _name(self, raw: str, kind: str, field: str | None, w: _Where) -> str:
        """`clean_name` of a source or task name (`kind`) from the record's
        `field`, or from the file or folder name when `field` is None; once
        per distinct name, with a warning when it removed something."""
        known = self._names.get((raw, kind, field))
        if known is not None:
            if known[1]:
                self._cleaned = True
            return known[0]
        what = (f"'{field}'" if field else
                "the file name (the default source name)" if kind == "source" else
                "the folder name (the default task name)")
        name, removed = clean_name(raw, what, field)
        self._names[(raw, kind, field)] = (name, removed)
        if removed:
            self._cleaned = True
            shown = raw.encode("unicode_escape").decode("ascii")
            where = f"'{field}' at {w.origin}" if field else f"from {w.file}"
            self.report.warn(f"{kind} name '{shown}' ({where}) has invisible characters "
                             f"({removed}): read as '{name}'")
        return name

    def _fail(self, err: InputError, stats: FileStats) -> None:
        if self.on_error == "raise":
            raise err
        stats.skipped += 1
        self.report.add_skip(err)

    def _read_file(self, path: Path, task: str | None,
                   rename: str | None = None) -> Iterator[Conversation]:
        display = str(path)
        stem = rename or file_stem(path.name)
        cache = self.parse_cache
        # --where reads fields the cache does not keep; Parquet rows are not all JSON types.
        keyed = None
        if cache is not None and not self.filter.where and not path.name.lower().endswith(".parquet"):
            keyed = cache.key(path, (stem, task, self.max_turn_chars, self.drop_empty))
        if keyed is not None:
            records = cache.records(keyed[0], display)
            if records is not None:
                yield from self._replay(display, records)
                return
        items = _iter_items(path, display, self.report.warn)
        writer = cache.writer(keyed[0], path, keyed[1]) if keyed is not None else None
        if writer is None:
            yield from self._read_items(display, stem, task, items)
            return
        warnings, skipped = len(self.report.warnings), self.report.skipped
        self._cleaned = False
        try:
            yield from self._read_items(display, stem, task, items, writer)
        except BaseException:
            writer.abort()
            raise
        # Only a file that loaded without a word is stored: its replay must say nothing either.
        if (self._cleaned or writer.failed or len(self.report.warnings) != warnings
                or self.report.skipped != skipped):
            writer.abort()
        else:
            writer.commit()

    def _replay(self, display: str, records: Iterator[ParsedRecord]) -> Iterator[Conversation]:
        """A cached file's conversations, through the same checks as `_read_items`."""
        stats = self.report.files.setdefault(display, FileStats())
        keep = self.filter
        for rec in records:
            if rec.line is not None:
                stats.read += 1
            conv = rec.conversation
            try:
                self._register(conv, rec.rid, rec.id_field, conv.origin, rec.dropped)
            except _Bad as bad:  # an id that another file already used
                self._fail(_record_error(bad, display, rec.line, rec.in_array), stats)
                continue
            stats.kept += 1
            if keep.min_user_turns is not None and not keep.keep_conversation(conv.n_user_turns):
                continue
            yield conv

    def _read_items(self, display: str, stem: str, task: str | None,
                    items: Iterator[Item], writer: EntryWriter | None = None) -> Iterator[Conversation]:
        """Records of one file, or rows of one dataset file or split; with a
        `writer`, each cleanly built record is also written to the parse cache."""
        stats = self.report.files.setdefault(display, FileStats())
        keep = self.filter
        seen_any = False
        for line, item, in_array in items:
            seen_any = True
            if line is not None:
                stats.read += 1
            if isinstance(item, InputError):
                self._fail(item, stats)
                continue
            if keep.where and not keep.keep_record(item):
                continue
            where = _Where(display, stem, line, task, f"{display}:{line}")
            try:
                convs, parsed = self._build(item, where)
            except _Bad as bad:
                self._fail(_record_error(bad, display, line, in_array), stats)
                continue
            stats.kept += 1
            if writer is not None:
                if parsed is None:  # the paired layout: its real side depends on other files
                    writer.failed = True
                    writer = None
                else:
                    writer.add(ParsedRecord(line, in_array, *parsed, convs[0]))
            if keep.min_user_turns is not None:
                convs = [c for c in convs if keep.keep_conversation(c.n_user_turns)]
            yield from convs
        if not seen_any:
            err = InputError("empty file: no records found", display)
            if self.on_error == "raise":
                raise err
            self.report.warn(str(err))

    def _build(self, rec, w: _Where) -> tuple[list[Conversation], tuple | None]:
        """The record's conversations, and for a flat record (rid, id_field,
        dropped turns), what the parse cache keeps beside the conversation."""
        if not isinstance(rec, dict):
            raise _Bad(f"not an object: each record must be a JSON object, got {_kind(rec)}")
        rid, id_field = _record_id(rec)
        task = _optional_str(rec, "task")
        task = self._name(task, "task", "task", w) if task else (
            self._name(w.task, "task", None, w) if w.task else None)
        intent = _optional_str(rec, "intent")
        metadata = _metadata(rec)
        if "real_messages" in rec or "simulated_messages" in rec:
            return self._build_paired(rec, w, rid, id_field, task, intent, metadata), None

        if "messages" in rec:
            layout = _FLAT
        elif "conversations" in rec:
            layout = _SHAREGPT
        elif "conversation" in rec:
            layout = _WILDCHAT
        elif "conversation_a" in rec:
            layout = _ARENA
        else:
            raise _Bad("missing field: no messages (expected 'messages', 'conversations', "
                       "'conversation', 'conversation_a', or 'real_messages' with "
                       "'simulated_messages')", "messages")
        source = rec.get("source", w.stem)
        if source is None:
            source = w.stem
        if not isinstance(source, str) or not source.strip():
            raise _Bad(f"wrong type: 'source' must be a non-empty string, got {_kind(source)}",
                       "source")
        source = self._name(source, "source", "source" if rec.get("source") is not None else None, w)
        messages, dropped = _parse_messages(rec[layout.list_field], layout, layout.list_field,
                                            self.max_turn_chars, self.drop_empty)
        conv = Conversation(rid if rid is not None else f"{w.stem}:{w.line}", source, messages,
                            task, intent, metadata, _precomputed(rec, ("",)), w.origin)
        self._register(conv, rid, id_field, w.origin, dropped)
        return [conv], (rid, id_field, dropped)

    def _register(self, conv: Conversation, rid: str | None, id_field: str, origin: str,
                  dropped: int) -> None:
        """Check a flat record's id is new (among those the sample admits) and count its dropped turns."""
        if rid is not None and (self.admit is None or self.admit(conv)):
            self._check_unique(conv, id_field)
            self.seen[(conv.source, conv.task, conv.id)] = origin
        self.report.empty_turns_dropped += dropped

    def _build_paired(self, rec: dict, w: _Where, rid: str | None, id_field: str,
                      task: str | None, intent: str | None, metadata: dict) -> list[Conversation]:
        """The simulator's conversation (source = file stem) and, the first time
        its id is seen in this task, the real one (source 'real').

        Facet fields go to the simulated side unless prefixed `real_`
        (`real_requests_facet`); `simulated_` prefixes are accepted too.
        """
        if rid is None:
            raise _Bad("missing field: paired records need an 'id' to match the real "
                       "conversation across simulator files", "id")
        for key in ("simulated_messages", "real_messages"):
            if key not in rec:
                raise _Bad(f"missing field: paired record has no '{key}'", key)
        cap = self.max_turn_chars
        sim_messages, sim_dropped = _parse_messages(rec["simulated_messages"], _PAIRED_SIM,
                                                    "simulated_messages", cap, self.drop_empty)
        sim = Conversation(rid, self._name(w.stem, "source", None, w), sim_messages,
                           task, intent, metadata, _precomputed(rec, ("", "simulated_")), w.origin)
        real_messages, real_dropped = _parse_messages(rec["real_messages"], _PAIRED_REAL,
                                                      "real_messages", cap, self.drop_empty)
        real = Conversation(rid, REAL_PAIRED_SOURCE, real_messages,
                            task, intent, dict(metadata), _precomputed(rec, ("real_",)), w.origin)
        # The same real user repeats in every simulator's file: keep one copy.
        real_hash = real.content_hash()
        prev = self.paired_real.get((task, rid))
        if prev is not None and prev[0] != real_hash:
            raise _Bad(f"mismatched ids in the paired layout: id {_show(rid)} has different "
                       f"real_messages at {prev[1]}", "real_messages")
        self._check_unique(sim, id_field)
        if prev is None:
            self._check_unique(real, id_field)
        self.seen[(sim.source, task, rid)] = w.origin
        # The real side's dropped turns count once, like the real conversation.
        self.report.empty_turns_dropped += sim_dropped + (real_dropped if prev is None else 0)
        if prev is not None:
            self.report.real_deduplicated += 1
            return [sim]
        self.paired_real[(task, rid)] = (real_hash, w.origin)
        self.seen[(real.source, task, rid)] = w.origin
        return [sim, real]

    def _check_unique(self, conv: Conversation, id_field: str) -> None:
        prev = self.seen.get((conv.source, conv.task, conv.id))
        if prev is not None:
            raise _Bad(f"duplicate id: {_show(conv.id)} is already used in source "
                       f"'{conv.source}' at {prev}", id_field)
