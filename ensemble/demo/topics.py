"""Topic pools for the demo data: the only place where subject matter lives.

The pools are package data (`data/topics_A.json`, `data/topics_B.json`),
read once with importlib.resources; this module holds only their shape.

Every task fills the same slots, so a persona's templates can be applied to
any task of either pool; swapping pools changes what users talk about, never
how they talk. Slot conventions (the generator's templates rely on them):

- `thing`: indefinite noun phrase, lowercase article ("a React signup form").
- `the_thing`: definite short reference ("the signup form").
- `request`: imperative clause starting lowercase, no final period.
- `briefs`: terse lowercase fragments a hurried user would type.
- `vague`: a noun phrase that hides the details ("a form for my website").
- `facts`: background clauses, lowercase start, no final period.
- `constraints`: verb phrases that follow "it should ..." / "it has to ...".
- `audience`: noun phrase naming who uses or reads the result.
- `tweaks`: imperative follow-up requests, lowercase, no final period.
- `concepts`: noun phrases for parts of the answer a curious user asks about.
- `alternatives`: gerund phrases ("using pandas").
- `edge_cases`: clauses that follow "what happens if ...".
- `draft`: the user's own attempt (code for coding, a paragraph for writing).
- `answer`: what the assistant offers (code or an opening passage).
- `error`, `error2`: coding only; realistic tool output using the task's names.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from importlib import resources

CODING = "coding"
WRITING = "writing"
TASK_KINDS = (CODING, WRITING)


@dataclass(frozen=True)
class Task:
    id: str
    kind: str
    thing: str
    the_thing: str
    request: str
    briefs: tuple[str, ...]
    vague: str
    facts: tuple[str, ...]
    constraints: tuple[str, ...]
    audience: str
    tweaks: tuple[str, ...]
    concepts: tuple[str, ...]
    alternatives: tuple[str, ...]
    edge_cases: tuple[str, ...]
    draft: str
    answer: str
    lang: str = ""   # programming language, coding only
    fence: str = ""  # markdown code-fence tag, coding only
    error: str = ""
    error2: str = ""


@dataclass(frozen=True)
class TopicPool:
    name: str
    coding: tuple[Task, ...]
    writing: tuple[Task, ...]

    def tasks(self, kind: str) -> tuple[Task, ...]:
        return self.coding if kind == CODING else self.writing

    @property
    def task_ids(self) -> set[str]:
        return {t.id for t in self.coding + self.writing}


_TUPLE_FIELDS = frozenset(f.name for f in fields(Task) if f.type.startswith("tuple"))


def _task(record: dict) -> Task:
    return Task(**{k: tuple(v) if k in _TUPLE_FIELDS else v for k, v in record.items()})


def load_pool(name: str) -> TopicPool:
    """Read topic pool `name` ("A" or "B") from the package data."""
    raw = json.loads(resources.files("ensemble.demo").joinpath("data", f"topics_{name}.json")
                     .read_text(encoding="utf-8"))
    tasks = [_task(r) for r in raw["tasks"]]
    return TopicPool(raw["name"], tuple(t for t in tasks if t.kind == CODING),
                     tuple(t for t in tasks if t.kind == WRITING))


POOL_NAMES = ("A", "B")
TOPIC_POOLS: dict[str, TopicPool] = {name: load_pool(name) for name in POOL_NAMES}
