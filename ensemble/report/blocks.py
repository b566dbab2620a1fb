"""The report's building blocks: sections are lists of these, rendered to
Markdown and HTML by `render`."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str | list[str]]]   # a list cell: one item per line
    caption: str = ""


@dataclass
class Image:
    name: str          # file name under plots/
    png: bytes
    alt: str


@dataclass
class Details:
    summary: str
    blocks: list = field(default_factory=list)
