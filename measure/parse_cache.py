"""Parsed input files, cached by their bytes, so a warm run skips JSON
parsing and record checking (loading and hashing 130k conversations: ~4.5 s
-> ~2.1 s on the 2-core benchmark machine).

An entry holds what the loader made of one file that loaded cleanly: each
record's conversation (id, source, task, intent, metadata, precomputed
descriptions, messages and content hash), its line, its id field and its
dropped empty turns. The loader replays an entry through the same id and
sampling checks as a fresh parse, so duplicates across files, --max-per-source
and --min-user-turns behave as before. Files whose parse warned, skipped a
record, cleaned a name or used the paired layout (whose real side is shared
across files) are never stored: they are parsed every time, with the same
messages.

The key is the file's bytes plus everything that shapes the parse: the
source and task names it is read under, the turn cap, --drop-empty-turns,
the loader's own source code, Python's and Unicode's versions. Entries are
files under CACHE/parsed/, written atomically; a file read again after it
changed replaces its old entry, so a growing log keeps one.

Format (no pickle: a cache folder may be shared): a magic line, then chunks
of up to `_CHUNK_RECORDS` records, each a length-prefixed JSON object of the
records' fields by column (a column whose value never changes, such as the
source, is written once) and a length-prefixed blob of the message texts as
UTF-8 (lone surrogates kept) joined by 0xFF, a byte UTF-8 never contains;
then a trailer with the record and chunk counts, checked before any record
is replayed.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import struct
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .atomic import fsync_dir, remove_stale_temps, unique_tmp
from .conversation import ASSISTANT, USER, Conversation, Message
from .errors import InputError

_MAGIC = b"ensemble-fit parsed file v2\n"
_TRAILER = struct.Struct("<8sQQ")  # b"EFPCEND\n", records, chunks
_END = b"EFPCEND\n"
_LEN = struct.Struct("<Q")
_SEP = b"\xff"
_CHUNK_RECORDS = 2000
_ROLE_CODE = {USER: "u", ASSISTANT: "a"}
_CODE_ROLE = {"u": USER, "a": ASSISTANT}
# The modules whose code decides what a file parses to.
_PARSER_MODULES = ("loaders.py", "conversation.py", "file_names.py", "parse_cache.py")
_SUFFIX = ".efp"
_KEY_CHARS = 32  # hex digits of a key: an entry is PATHID-KEY.efp
_ROLES = 6  # the column of role codes


@dataclass(slots=True)
class ParsedRecord:
    """One record of a cleanly loaded file, as the loader replays it."""
    line: int | None
    in_array: bool
    rid: str | None       # the record's own id (None: the id was made from file and line)
    id_field: str
    dropped: int          # empty user turns dropped (--drop-empty-turns)
    conversation: Conversation


def _parser_code() -> bytes:
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        h = hashlib.sha256()
        here = Path(__file__).parent
        for name in _PARSER_MODULES:
            h.update(name.encode() + b"\x00" + (here / name).read_bytes())
        h.update(f"{sys.version_info[:2]}|{unicodedata.unidata_version}".encode())
        _CODE_DIGEST = h.digest()
    return _CODE_DIGEST


_CODE_DIGEST: bytes | None = None


class ParseCache:
    """CACHE/parsed: one entry per cleanly parsed input file."""

    def __init__(self, cache_dir: str | Path):
        self.folder = Path(cache_dir) / "parsed"
        self._entries: dict[str, Path] | None = None  # key -> entry file

    def key(self, path: Path, settings: tuple) -> tuple[str, os.stat_result] | None:
        """(key, stat) of `path` read under `settings`, or None when the file
        or the loader's code cannot be read (then nothing is cached)."""
        try:
            h = hashlib.sha256(_parser_code())
            h.update(json.dumps(list(settings)).encode())
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                h.update(hashlib.file_digest(fh, "sha256").digest())
        except (OSError, TypeError, ValueError):
            return None
        return h.hexdigest()[:_KEY_CHARS], st

    def _index(self) -> dict[str, Path]:
        if self._entries is None:
            self._entries = {}
            try:
                for entry in os.scandir(self.folder):
                    if entry.name.endswith(_SUFFIX):
                        self._entries[entry.name[-len(_SUFFIX) - _KEY_CHARS:-len(_SUFFIX)]] = Path(entry.path)
            except OSError:
                pass
        return self._entries

    def records(self, key: str, origin_prefix: str) -> Iterator[ParsedRecord] | None:
        """The entry's records (origins `origin_prefix:LINE`), or None when
        there is no readable entry. The trailer is checked first, so a
        returned iterator only fails on a corrupted disk."""
        path = self._index().get(key)
        if path is None:
            return None
        try:
            fh = open(path, "rb")
        except OSError:
            return None
        try:
            if fh.read(len(_MAGIC)) != _MAGIC:
                raise ValueError
            fh.seek(-_TRAILER.size, os.SEEK_END)
            end, _, n_chunks = _TRAILER.unpack(fh.read(_TRAILER.size))
            if end != _END:
                raise ValueError
            fh.seek(len(_MAGIC))
        except (OSError, ValueError, struct.error):
            fh.close()
            return None
        return _read_entry(fh, path, origin_prefix, n_chunks)

    def writer(self, key: str, source_path: Path, stat: os.stat_result) -> EntryWriter | None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(self.folder, pattern=f".*{_SUFFIX}.*.tmp")
            return EntryWriter(self, key, source_path, stat)
        except OSError:  # a read-only or full cache: parse without storing
            return None


def _read_entry(fh, path: Path, origin_prefix: str, n_chunks: int) -> Iterator[ParsedRecord]:
    role_of = _CODE_ROLE.__getitem__
    with fh:
        for _ in range(n_chunks):
            try:
                head = json.loads(fh.read(_LEN.unpack(fh.read(_LEN.size))[0]))
                blob = fh.read(_LEN.unpack(fh.read(_LEN.size))[0])
                n = head["n"]
                role_col = head["cols"][_ROLES]
                roles = "".join(role_col) if isinstance(role_col, list) else role_col["all"] * n
                cols = [c if isinstance(c, list) else itertools.repeat(c["all"], n) for c in head["cols"]]
                # Split, then decoded one by one: no error handler runs for the separators.
                texts = [t.decode("utf-8", "surrogatepass") for t in blob.split(_SEP)] if roles else []
                if len(texts) != len(roles):
                    raise ValueError("message count")
            except (struct.error, ValueError, KeyError, TypeError, IndexError) as exc:
                raise InputError(f"corrupted cache entry ({exc}): delete it and run again", str(path)) from None
            # One Message per text, for the whole chunk, then a tuple slice per conversation.
            messages = list(map(Message, map(role_of, roles), texts))
            at = 0
            for line, in_array, own_id, id_field, dropped, conv_id, conv_roles, source, task, intent, \
                    metadata, precomputed, digest in zip(*cols):
                k = at + len(conv_roles)
                msgs = tuple(messages[at:k])
                at = k
                conv = Conversation(conv_id, source, msgs, task, intent, metadata or {},
                                    precomputed or {}, f"{origin_prefix}:{line}")
                conv._hash = (msgs, digest)  # the digest is part of what was cached
                yield ParsedRecord(line, bool(in_array), conv_id if own_id else None, id_field,
                                   dropped, conv)


def _column(values: list) -> list | dict:
    """A chunk's column, or {"all": v} when every record has the same v (of the same type)."""
    first = values[0]
    kind = type(first)
    if kind in (str, int, bool, type(None)) and all(type(v) is kind and v == first for v in values):
        return {"all": first}
    return values


class EntryWriter:
    """Writes one entry as the file is parsed (chunk by chunk, so memory does
    not grow with the file), then `commit()` puts it in place or `abort()`
    removes it."""

    def __init__(self, cache: ParseCache, key: str, source_path: Path, stat: os.stat_result):
        self.cache, self.key, self.source_path, self.stat = cache, key, source_path, stat
        # Entries of one input path share a prefix, so a changed file's old entry can go.
        self.prefix = hashlib.sha256(str(Path(source_path).resolve()).encode()).hexdigest()[:12]
        self.final = cache.folder / f"{self.prefix}-{key}{_SUFFIX}"
        self.tmp = unique_tmp(self.final)
        self.fh = open(self.tmp, "wb")
        self.fh.write(_MAGIC)
        self.rows: list = []
        self.texts: list[str] = []
        self.n_records = 0
        self.n_chunks = 0
        self.failed = False

    def add(self, rec: ParsedRecord) -> None:
        if self.failed:
            return
        try:
            self._add(rec)
        except (OSError, TypeError, ValueError):
            # A full disk or a value JSON cannot hold: the cache is only an optimisation.
            self.failed = True

    def _add(self, rec: ParsedRecord) -> None:
        c = rec.conversation
        self.rows.append([rec.line, rec.in_array, rec.rid is not None, rec.id_field, rec.dropped,
                          c.id, "".join([_ROLE_CODE[m.role] for m in c.messages]), c.source,
                          c.task, c.intent, c.metadata or None, c.precomputed or None,
                          c.content_hash()])
        self.texts.extend([m.content for m in c.messages])
        if len(self.rows) >= _CHUNK_RECORDS:
            self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        # Encoded one by one: a joined string widens to 4 bytes a character for one emoji.
        blob = _SEP.join([t.encode("utf-8", "surrogatepass") for t in self.texts])
        # By column, a constant one (the source, mostly) written once: less to parse back.
        head = {"n": len(self.rows), "cols": [_column(list(c)) for c in zip(*self.rows)]}
        head = json.dumps(head, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        self.fh.write(_LEN.pack(len(head)) + head + _LEN.pack(len(blob)))
        self.fh.write(blob)
        self.n_records += len(self.rows)
        self.n_chunks += 1
        self.rows, self.texts = [], []

    def commit(self) -> None:
        """Put the entry in place, unless the file changed while it was read."""
        if self.failed:
            self.abort()
            return
        try:
            self._flush()
            self.fh.write(_TRAILER.pack(_END, self.n_records, self.n_chunks))
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            st = os.stat(self.source_path)
            if (st.st_size, st.st_mtime_ns) != (self.stat.st_size, self.stat.st_mtime_ns):
                self.abort()
                return
            os.replace(self.tmp, self.final)
            fsync_dir(self.cache.folder)
        except (OSError, TypeError, ValueError):
            self.abort()
            return
        for old in self.cache.folder.glob(f"{self.prefix}-*{_SUFFIX}"):
            if old != self.final:
                try:
                    old.unlink()
                except OSError:
                    pass
        self.cache._index()[self.key] = self.final

    def abort(self) -> None:
        try:
            self.fh.close()
        except OSError:
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
