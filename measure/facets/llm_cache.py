"""On-disk cache of LLM facet descriptions: one small JSON file per key.

Layout under the root folder:

    <model slug>/<facet>/<prompt version>/<content hash[:2]>/<content hash>.json

Each file is written under a unique temporary name in its final folder,
fsynced, then renamed into place. A reader therefore sees either no file or a
complete one, whether the writer is another thread, another process, or was
killed mid-write (a killed writer leaves at most a `.*.tmp` file, which
readers ignore). Two writers of one key both write a valid record; the last
rename wins. No locks are needed.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_file

CACHE_FORMAT = 1


@dataclass(frozen=True)
class CacheKey:
    model: str
    facet: str
    prompt_version: str   # prompt file versions plus transcript settings
    content_hash: str     # Conversation.content_hash()


@dataclass(frozen=True)
class CachedDescription:
    description: str          # the flattened text that gets embedded
    fields: dict[str, str]    # the model's JSON answer, normalized


def _slug(text: str, limit: int = 80) -> str:
    """A safe folder name; the hash suffix keeps distinct names distinct."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:limit] or "x"
    return f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


class DescriptionCache:
    """Thread- and process-safe store of (key -> description)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.unreadable: list[str] = []   # files ignored because they did not parse
        self._lock = threading.Lock()

    def path(self, key: CacheKey) -> Path:
        return (self.root / _slug(key.model) / _slug(key.facet, 40) / _slug(key.prompt_version, 60)
                / key.content_hash[:2] / f"{key.content_hash}.json")

    def get(self, key: CacheKey) -> CachedDescription | None:
        path = self.path(key)
        try:
            with open(path, encoding="utf-8") as fh:
                rec = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # Cannot happen with our atomic writes, but a copied or hand-edited
            # cache might hold one: treat as a miss; the next answer replaces it.
            with self._lock:
                self.unreadable.append(str(path))
            return None
        ok = (isinstance(rec, dict) and rec.get("format") == CACHE_FORMAT
              and rec.get("model") == key.model and rec.get("facet") == key.facet
              and rec.get("prompt_version") == key.prompt_version
              and rec.get("content_hash") == key.content_hash
              and isinstance(rec.get("description"), str) and rec["description"].strip()
              and isinstance(rec.get("fields"), dict))
        if not ok:
            with self._lock:
                self.unreadable.append(str(path))
            return None
        return CachedDescription(rec["description"], dict(rec["fields"]))

    def __contains__(self, key: CacheKey) -> bool:
        return self.get(key) is not None

    def put(self, key: CacheKey, entry: CachedDescription) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        rec = {"format": CACHE_FORMAT, "model": key.model, "facet": key.facet,
               "prompt_version": key.prompt_version, "content_hash": key.content_hash,
               "description": entry.description, "fields": entry.fields}
        with atomic_file(path, "w", encoding="utf-8") as fh:
            json.dump(rec, fh, ensure_ascii=False, sort_keys=True)

    def entries(self):
        """Every complete cache file (for tests and maintenance)."""
        return sorted(p for p in self.root.rglob("*.json") if not p.name.startswith("."))
