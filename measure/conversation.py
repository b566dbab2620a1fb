"""The one in-memory model every loader produces and every later stage reads."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

USER = "user"
ASSISTANT = "assistant"
ROLES = (USER, ASSISTANT)

# Paper field names for precomputed facet descriptions -> our facet names.
PRECOMPUTED_FACET_FIELDS = {
    "requests_facet": "requests",
    "context_facet": "context",
    "responses_facet": "responses",
    "communication_style_facet": "style",
}


@dataclass(frozen=True, slots=True)  # no per-message __dict__: ~300 bytes less, 6M messages at 1M conversations
class Message:
    role: str  # "user" or "assistant"
    content: str

    # The generated __init__ of a frozen dataclass sets each field through
    # object.__setattr__; setting the slots directly builds a message in about
    # half to two thirds of the time (800k of them per 130k conversations
    # loaded). @dataclass keeps a class's own __init__.
    def __init__(self, role: str, content: str) -> None:
        _set_role(self, role)
        _set_content(self, content)


_set_role = Message.role.__set__  # the slot descriptors of the final (slots) class
_set_content = Message.content.__set__


@dataclass(slots=True)  # no per-conversation __dict__ (a million of them in memory at WildChat scale)
class Conversation:
    id: str
    source: str
    messages: tuple[Message, ...]
    task: str | None = None
    intent: str | None = None
    metadata: dict = field(default_factory=dict)
    # facet name -> description text supplied in the input (used as-is).
    precomputed: dict[str, str] = field(default_factory=dict)
    # "file:line" the record came from, for error messages downstream.
    origin: str = ""
    # (messages, hex digest) of the last content_hash(): several stages key
    # caches by content, and hashing 130k conversations again each time is seconds.
    _hash: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def user_turns(self) -> list[str]:
        return [m.content for m in self.messages if m.role == USER]

    @property
    def n_user_turns(self) -> int:
        return sum(1 for m in self.messages if m.role == USER)

    def content_hash(self) -> str:
        """Stable hash of what the user and assistant said (not id or source)."""
        memo = self._hash
        # Messages are a tuple of frozen Messages: the same tuple object, the same content.
        if memo is not None and memo[0] is self.messages:
            return memo[1]
        # The digest of role \x00 content \x01 per message, as UTF-8 (lone
        # surrogates kept). Joined as text and encoded once: UTF-8 of a
        # concatenation is the concatenation of the UTF-8s, and one encode
        # of the whole is cheaper than one per part.
        text = "".join([f"{m.role}\x00{m.content}\x01" for m in self.messages])
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        self._hash = (self.messages, digest)
        return digest

    def to_record(self) -> dict:
        """Flat-JSONL form, the format `load` reads back."""
        rec = {"id": self.id, "source": self.source,
               "messages": [{"role": m.role, "content": m.content} for m in self.messages]}
        if self.task is not None:
            rec["task"] = self.task
        if self.intent is not None:
            rec["intent"] = self.intent
        if self.metadata:
            rec["metadata"] = self.metadata
        for paper_name, ours in PRECOMPUTED_FACET_FIELDS.items():
            if ours in self.precomputed:
                rec[paper_name] = self.precomputed[ours]
        return rec


def normalize_messages(messages: list[Message]) -> tuple[Message, ...]:
    """Merge consecutive same-role messages and drop leading assistant turns.

    Logs often split one user turn over several messages (multi-part pastes)
    and start with an assistant greeting; neither is user behaviour.
    """
    out: list[Message] = []
    for m in messages:
        if not out and m.role == ASSISTANT:
            continue
        if out and out[-1].role == m.role:
            out[-1] = Message(m.role, out[-1].content + "\n\n" + m.content)
        else:
            out.append(m)
    return tuple(out)


def is_real_source(name: str, real_names: list[str] | None = None) -> bool:
    """`real`, `real:*` and `real_*` are real users unless --real names them."""
    if real_names:
        return name in real_names
    return name == "real" or name.startswith("real:") or name.startswith("real_")


def fingerprint(conversations) -> str:
    """Order-independent fingerprint of a dataset, written into outputs."""
    keys = sorted(f"{c.source}\x00{c.id}\x00{c.task}\x00{c.content_hash()}" for c in conversations)
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]
