"""Row filters users ask for on large logs: `--where FIELD=VALUE` on a
record's own fields and a minimum number of user turns."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError

_MISSING = object()


def parse_where(clauses: list[str] | tuple[str, ...] | None) -> dict[str, tuple[str, ...]]:
    """`["language=English", "toxic=false"]` -> `{"language": ("english",), "toxic": ("false",)}`.

    Values are compared as lower-case text. A field named twice accepts
    either value (`--where language=English --where language=French`);
    different fields must all match.

    Raises
    ------
    ConfigError
        A clause without `=` or with an empty field name.
    """
    out: dict[str, list[str]] = {}
    for clause in clauses or ():
        name, sep, value = str(clause).partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--where expects FIELD=VALUE (e.g. language=English), got {clause!r}")
        out.setdefault(name.strip(), []).append(value.strip().lower())
    return {name: tuple(values) for name, values in out.items()}


def _as_text(value) -> str:
    """A field value as `--where` compares it: JSON-like, lower case."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().lower()


def _lookup(rec: dict, name: str):
    """`rec[name]`, or a dotted path into nested objects (`metadata.lang`)."""
    if name in rec:
        return rec[name]
    value = rec
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


@dataclass
class RecordFilter:
    """Which records and conversations to keep, and how many were left out.

    `where` maps a field to the accepted values (see `parse_where`). A record
    without the field is kept, so `--where language=English` filters the
    real-user log that has a `language` field and not the simulators' files
    beside it; a field that no record has is an error (`check_fields`). A
    list value matches when any of its items does. `min_user_turns` applies
    to each normalized conversation.
    """
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    min_user_turns: int | None = None
    labels: tuple[str, ...] = ()  # the clauses as given, for messages
    records_out: int = 0        # records that failed `where`
    conversations_out: int = 0  # conversations with too few user turns
    fields_seen: set = field(default_factory=set)

    def __post_init__(self):
        n = self.min_user_turns
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ConfigError(f"--min-user-turns must be a positive integer, got {n!r}")

    @property
    def active(self) -> bool:
        return bool(self.where) or self.min_user_turns is not None

    def keep_record(self, rec) -> bool:
        """False when the record fails a `where` clause (and count it)."""
        if not self.where or not isinstance(rec, dict):
            return True  # a non-object record is left to the loader's error
        for name, accepted in self.where.items():
            value = _lookup(rec, name)
            if value is _MISSING:
                continue
            self.fields_seen.add(name)
            values = value if isinstance(value, list) else (value,)
            if not any(_as_text(v) in accepted for v in values):
                break
        else:
            return True
        self.records_out += 1
        return False

    def check_fields(self) -> None:
        """Raise ConfigError for a `where` field no record had (a typo
        would otherwise filter nothing)."""
        missing = [name for name in self.where if name not in self.fields_seen]
        if missing:
            raise ConfigError(f"--where: no record has the field(s) {', '.join(missing)}; "
                              f"check the spelling (fields are the records' own keys, "
                              f"e.g. language, toxic)")

    def keep_conversation(self, n_user_turns: int) -> bool:
        if self.min_user_turns is None or n_user_turns >= self.min_user_turns:
            return True
        self.conversations_out += 1
        return False

    def summary(self) -> str | None:
        """One warning line on what was filtered out, or None."""
        parts = []
        if self.records_out:
            clauses = " and ".join(self.labels) or " and ".join(
                "/".join(f"{k}={v}" for v in vs) for k, vs in self.where.items())
            parts.append(f"{self.records_out:,} record(s) not matching --where {clauses}")
        if self.conversations_out:
            parts.append(f"{self.conversations_out:,} conversation(s) with fewer than "
                         f"{self.min_user_turns} user turn(s) (--min-user-turns)")
        return "filtered out " + "; ".join(parts) if parts else None
