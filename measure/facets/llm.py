"""Facet descriptions written by an LLM behind an OpenAI-compatible server.

For every (conversation, facet) the model reads the labelled transcript and
answers a JSON object with the facet's fixed keys; the object is flattened to
"key: value; key: value" in the prompt file's key order, and that text is the
facet description. Prompts live in `measure/facets/prompts/*.toml` (package data).

Spending is bounded and never repeated: identical conversations are asked
once, every answer is written to the disk cache the moment it arrives (so a
killed run resumes where it stopped), and `request_budget` caps the number of
HTTP requests. Answers that are not usable after retries are reported as
failures, never replaced by placeholder text.
"""
from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import os
import queue
import random
import re
import threading
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Callable, Iterable

from ..conversation import ASSISTANT, Conversation
from ..errors import ConfigError, EnsembleFitError
from .base import BEHAVIOUR_FACETS, RAW_FACET, FacetRecord
from .http import check_base_url, describe_location, make_opener, redact
from .llm_cache import CacheKey, CachedDescription, DescriptionCache

# Bump when the code that turns a conversation into a prompt, or an answer
# into a description, changes in a way that changes descriptions.
EXTRACTOR_VERSION = 1
# Package data, so an installed wheel has them too (not only a checkout).
DEFAULT_PROMPTS_DIR = Path(str(resources.files("measure.facets").joinpath("prompts")))
API_KEY_FALLBACK_ENV = "OPENAI_API_KEY"
RETRYABLE_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))
FATAL_STATUS = frozenset({401, 403, 404})  # wrong key, URL or model: every request would fail
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})  # never followed: see http.py
DEFAULT_MAX_FAILED_SHARE = 0.05
THINK_RE = re.compile(r"<think>.*?</think>", re.S)


# ---------------------------------------------------------------- prompts

@dataclass(frozen=True)
class FacetPrompt:
    facet: str
    version: str                  # "<common version>.<facet version>"
    instructions: str
    keys: tuple[str, ...]         # output keys, in description order
    hints: tuple[str, ...]
    expected_output_tokens: int   # for dry-run estimates only


@dataclass(frozen=True)
class PromptSet:
    folder: Path
    system: str
    user_template: str
    repair_template: str
    facets: dict[str, FacetPrompt]

    def user_message(self, facet: str, transcript: str) -> str:
        p = self.facets[facet]
        hints = "\n".join(f"- {k}: {h}" for k, h in zip(p.keys, p.hints))
        schema = "{\n" + ",\n".join(f'  "{k}": "..."' for k in p.keys) + "\n}"
        return self.user_template.format(transcript=transcript, instructions=p.instructions,
                                         field_hints=hints, schema=schema)

    def repair_message(self, facet: str, reason: str) -> str:
        keys = ", ".join(self.facets[facet].keys)
        return self.repair_template.format(reason=reason, keys=keys)


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def _text(data: dict, name: str, path: Path) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: '{name}' must be a non-empty string")
    return value.strip()


def _version(data: dict, path: Path) -> str:
    v = data.get("version")
    if isinstance(v, bool) or not isinstance(v, (int, str)) or not str(v).strip():
        raise ConfigError(f"{path}: 'version' (an integer or string) is required")
    return str(v).strip()


def _check_placeholders(template: str, allowed: set[str], path: Path, name: str) -> None:
    try:
        used = {f for _, f, _, _ in Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise ConfigError(f"{path}: '{name}' is not a valid template: {exc}") from exc
    unknown = used - allowed
    if unknown:
        raise ConfigError(f"{path}: '{name}' uses unknown placeholder(s) {sorted(unknown)}; "
                          f"allowed: {sorted(allowed)} (write literal braces as {{{{ }}}})")


def load_prompts(folder: str | Path | None = None) -> PromptSet:
    """Read `common.toml` and one `<facet>.toml` per facet from `folder`."""
    folder = Path(folder) if folder is not None else DEFAULT_PROMPTS_DIR
    common_path = folder / "common.toml"
    if not common_path.is_file():
        raise ConfigError(f"prompt folder {folder} has no common.toml; pass the folder holding the "
                          "facet prompts (see measure/facets/prompts in the package) as prompts_dir")
    common = _read_toml(common_path)
    common_version = _version(common, common_path)
    user = _text(common, "user", common_path)
    repair = _text(common, "repair", common_path)
    _check_placeholders(user, {"transcript", "instructions", "field_hints", "schema"}, common_path, "user")
    _check_placeholders(repair, {"reason", "keys"}, common_path, "repair")
    facets: dict[str, FacetPrompt] = {}
    for path in sorted(folder.glob("*.toml")):
        if path.name == "common.toml":
            continue
        data = _read_toml(path)
        keys = data.get("keys")
        if not isinstance(keys, list) or not keys:
            raise ConfigError(f"{path}: needs at least one [[keys]] table with 'name' and 'hint'")
        names, hints = [], []
        for k in keys:
            name = k.get("name") if isinstance(k, dict) else None
            if not isinstance(name, str) or not name.isidentifier():
                raise ConfigError(f"{path}: every [[keys]] needs a 'name' made of letters, digits, _")
            if name in names:
                raise ConfigError(f"{path}: key '{name}' is listed twice")
            names.append(name)
            hints.append(str(k.get("hint", "")).strip())
        est = data.get("expected_output_tokens", 30 * len(names))
        facets[path.stem] = FacetPrompt(
            facet=path.stem, version=f"{common_version}.{_version(data, path)}",
            instructions=_text(data, "instructions", path), keys=tuple(names), hints=tuple(hints),
            expected_output_tokens=int(est))
    return PromptSet(folder=folder, system=_text(common, "system", common_path),
                     user_template=user, repair_template=repair, facets=facets)


# ---------------------------------------------------------------- transcript

def truncate_middle(text: str, cap: int) -> str:
    """Keep the head and tail of a long text; the marker says how much went."""
    if len(text) <= cap:
        return text
    head = cap // 2
    tail = cap - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} characters cut ...]\n{text[-tail:]}"


def render_transcript(conv: Conversation, max_turn_chars: int = 2000,
                      max_total_chars: int = 24000) -> str:
    """Labelled turns; long turns and, if needed, middle turns are cut.

    The first and last turns are always kept: openings and endings carry most
    of the behaviour (front-loading, thanks, abandonment).
    """
    blocks, counts = [], {}
    for m in conv.messages:
        counts[m.role] = counts.get(m.role, 0) + 1
        label = "ASSISTANT" if m.role == ASSISTANT else "USER"
        blocks.append(f"[{label} {counts[m.role]}]\n{truncate_middle(m.content.strip(), max_turn_chars)}")
    sep = "\n\n"
    if sum(len(b) + len(sep) for b in blocks) <= max_total_chars:
        return sep.join(blocks)
    half = max_total_chars // 2
    head, used = [], 0
    for b in blocks:
        if head and used + len(b) > half:
            break
        head.append(b)
        used += len(b) + len(sep)
    tail, used = [], 0
    for b in reversed(blocks[len(head):]):
        if used + len(b) > half:
            break
        tail.insert(0, b)
        used += len(b) + len(sep)
    dropped = len(blocks) - len(head) - len(tail)
    middle = [f"[... {dropped} turns cut ...]"] if dropped else []
    return sep.join(head + middle + tail)


# ---------------------------------------------------------------- answers

class MalformedAnswer(ValueError):
    """The model's reply is not the JSON object the prompt asked for."""


def _clean(value) -> str:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return ", ".join(p for p in (_clean(v) for v in value) if p)
    raise MalformedAnswer("a value is a nested object")


def parse_answer(content: str | None, keys: tuple[str, ...]) -> dict[str, str]:
    """The JSON object in `content`, with every key present and non-empty.

    Tolerates code fences and prose around the object (common with small
    models); anything else is malformed.
    """
    if content is None or not content.strip():
        raise MalformedAnswer("empty reply")
    # Reasoning models served without a reasoning parser prepend their thoughts.
    text = THINK_RE.sub("", content).strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise MalformedAnswer("no JSON object in the reply")
    try:
        obj = json.loads(text[start:end + 1])
    except ValueError as exc:
        raise MalformedAnswer(f"invalid JSON ({exc.__class__.__name__})") from None
    if not isinstance(obj, dict):
        raise MalformedAnswer("the JSON is not an object")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise MalformedAnswer(f"missing key(s) {', '.join(missing)}")
    out = {}
    for k in keys:
        v = _clean(obj[k])
        if not v.strip(". …"):  # "" or the template's "..." copied back
            raise MalformedAnswer(f"empty value for '{k}'")
        out[k] = v
    return out


def flatten(fields: dict[str, str], keys: tuple[str, ...]) -> str:
    """Deterministic description text: fixed key order, one separator."""
    return "; ".join(f"{k}: {fields[k]}" for k in keys)


# ---------------------------------------------------------------- results

@dataclass
class ExtractionStats:
    """Counters over the extractor's lifetime (all `extract` calls)."""
    requests: int = 0        # HTTP requests sent, retries included
    retries: int = 0         # requests that repeated an earlier failed or unusable attempt
    cache_hits: int = 0      # unique (content, facet) keys answered from the disk cache
    failures: int = 0        # unique keys still failed after all retries
    described: int = 0       # unique keys newly answered by the model
    precomputed: int = 0     # (conversation, facet) pairs taken from the input as-is
    deduplicated: int = 0    # pairs that shared content with another pair (asked once)
    prompt_tokens: int = 0   # as reported by the server's `usage`, when it reports it
    completion_tokens: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # transient errors by kind ("http 503", "timeout")


@dataclass(frozen=True)
class DryRunEstimate:
    conversations: int
    pairs: int               # (conversation, facet) pairs asked for
    precomputed: int
    cached: int              # unique keys already in the cache
    deduplicated: int
    requests: int            # requests still needed (not counting retries)
    prompt_tokens: int       # estimated: prompt characters / 4
    output_tokens: int       # estimated from each prompt's expected_output_tokens
    max_output_tokens: int | None  # requests x max_tokens, the hard ceiling
    per_facet: dict[str, int]      # requests needed per facet

    def __str__(self) -> str:
        per = ", ".join(f"{f} {n}" for f, n in self.per_facet.items())
        ceiling = "" if self.max_output_tokens is None else f" (at most {self.max_output_tokens:,})"
        return (f"LLM facet extraction: {self.requests:,} requests needed ({per}); "
                f"{self.cached:,} cached, {self.precomputed:,} precomputed, "
                f"{self.deduplicated:,} duplicates of {self.pairs:,} conversation-facet pairs; "
                f"~{self.prompt_tokens:,} prompt tokens, ~{self.output_tokens:,} output tokens{ceiling}")


class RequestBudgetExceeded(EnsembleFitError):
    """The run used its request budget; finished work is in the cache."""

    def __init__(self, budget: int, described: int, remaining: int, cache_root: Path):
        self.budget, self.described, self.remaining = budget, described, remaining
        super().__init__(
            f"request budget of {budget} requests used up: {described} new descriptions are saved in "
            f"{cache_root}, {remaining} conversation-facet descriptions are still missing; run again "
            "(with a larger --request-budget) to continue from the cache")


@dataclass
class _Job:
    """One unique (content, facet) question, shared by identical conversations."""
    facet: str
    conv: Conversation
    key: CacheKey
    rows: list[int]


class _Transient(Exception):
    def __init__(self, kind: str, detail: str = "", retry_after: float | None = None):
        self.kind, self.retry_after = kind, retry_after
        super().__init__(f"{kind}: {detail}" if detail else kind)


class _ItemFailed(Exception):
    """One conversation could not be described. `item_specific`: the server
    refused this request alone (a 4xx such as 400 or 413), not the service."""

    def __init__(self, message: str, item_specific: bool = False):
        super().__init__(message)
        self.item_specific = item_specific


class _Stopped(Exception):
    pass


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the HTTP-date form
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _error_message(body: bytes) -> str:
    """The server's error text, short enough for a one-line report."""
    try:
        obj = json.loads(body)
        err = obj.get("error", obj) if isinstance(obj, dict) else obj
        msg = err.get("message", err) if isinstance(err, dict) else err
        text = str(msg)
    except ValueError:
        text = body.decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:200]


# ---------------------------------------------------------------- extractor

class LLMFacetExtractor:
    """Describes conversations along facets with an OpenAI-compatible chat API.

    `progress(advance, total)` is called from the calling thread once per
    finished request job; `total` is the number of jobs that need the model.
    `stats` accumulates over calls; `failures` holds the last `extract` call's
    `(conversation id, source, facet, reason)` tuples.
    """

    name = "llm"

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "ENSEMBLE_FIT_API_KEY",
                 concurrency: int = 8, max_retries: int = 5, max_format_retries: int = 2,
                 backoff_base: float = 1.0, backoff_cap: float = 30.0, seed: int = 0,
                 timeout: float = 60.0, request_budget: int | None = None,
                 cache_dir: str | Path | None = None, temperature: float = 0.0,
                 max_tokens: int | None = 512, prompts_dir: str | Path | None = None,
                 max_turn_chars: int = 2000, max_total_chars: int = 24000,
                 json_mode: bool = False, max_consecutive_failures: int | None = 20,
                 max_failed_share: float | None = DEFAULT_MAX_FAILED_SHARE,
                 progress: Callable[[int, int], None] | None = None):
        if not base_url or not model:
            raise ConfigError("the LLM extractor needs --base-url and --model")
        if max_failed_share is not None and (isinstance(max_failed_share, bool)
                                             or not 0 <= max_failed_share <= 1):
            raise ConfigError(f"--max-failed-share must be between 0 and 1, got {max_failed_share!r}")
        if concurrency < 1 or max_retries < 0 or max_format_retries < 0:
            raise ConfigError("concurrency must be >= 1 and retry counts >= 0")
        if request_budget is not None and request_budget < 0:
            raise ConfigError("--request-budget must be >= 0")
        if max_turn_chars < 100 or max_total_chars < max_turn_chars:
            raise ConfigError("max_turn_chars must be >= 100 and max_total_chars >= max_turn_chars")
        self.base_url = check_base_url(base_url)
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.max_format_retries = max_format_retries
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.timeout = timeout
        self.request_budget = request_budget
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_turn_chars, self.max_total_chars = max_turn_chars, max_total_chars
        self.json_mode = json_mode
        self.max_consecutive_failures = max_consecutive_failures
        self.max_failed_share = max_failed_share
        self.progress = progress
        self.prompts = load_prompts(prompts_dir)
        root = Path(cache_dir) if cache_dir is not None else _default_cache_root()
        self.cache = DescriptionCache(root / "llm-facets")
        self.stats = ExtractionStats()
        self.failures: list[tuple[str, str, str, str]] = []
        self.failed_conversations = 0  # conversations of the last `extract` with a failed facet
        self._lock = threading.Lock()
        self._rng = random.Random(seed)   # backoff jitter, reproducible
        self._stop = threading.Event()
        self._budget_hit = False
        self._opener = make_opener(self.base_url)

    # -- identity

    def _prompt_version(self, facet: str) -> str:
        v = self.prompts.facets[facet].version
        return f"p{v}-x{EXTRACTOR_VERSION}-t{self.max_turn_chars}.{self.max_total_chars}"

    @property
    def cache_key(self) -> str:
        versions = {f: self._prompt_version(f) for f in sorted(self.prompts.facets)}
        digest = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:12]
        return f"llm:{self.model}:{digest}"

    def _api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) or os.environ.get(API_KEY_FALLBACK_ENV) or None

    def _redact_key(self, text: str) -> str:
        """Only the key itself (descriptions may legitimately say 'password: ...')."""
        key = self._api_key()
        return text.replace(key, "[redacted]") if key and len(key) >= 4 and key in text else text

    def _redact(self, text: str) -> str:
        """`text` safe to print, log or write: no key, no token-shaped string."""
        keys = (os.environ.get(self.api_key_env), os.environ.get(API_KEY_FALLBACK_ENV))
        return redact(text, tuple(k for k in keys if k))

    # -- planning

    def _check_facets(self, facets: tuple[str, ...]) -> None:
        for f in facets:
            if f == RAW_FACET:
                raise ConfigError(f"'{RAW_FACET}' is the raw-text baseline built by the pipeline, "
                                  "not an LLM facet")
            if f not in self.prompts.facets:
                raise ConfigError(f"no prompt for facet '{f}' in {self.prompts.folder} "
                                  f"(expected {f}.toml; have {sorted(self.prompts.facets)})")

    def _plan(self, conversations: list[Conversation], facets: tuple[str, ...]):
        """Precomputed records, and one job per unique (facet, content)."""
        records: list[dict[str, FacetRecord]] = [{} for _ in conversations]
        jobs: dict[tuple[str, str], _Job] = {}
        n_pre = n_dup = 0
        for i, conv in enumerate(conversations):
            content = None
            for f in facets:
                if f in conv.precomputed:
                    records[i][f] = FacetRecord(text=conv.precomputed[f])
                    n_pre += 1
                    continue
                content = content or conv.content_hash()
                job = jobs.get((f, content))
                if job is None:
                    key = CacheKey(self.model, f, self._prompt_version(f), content)
                    jobs[(f, content)] = _Job(f, conv, key, [i])
                else:
                    job.rows.append(i)
                    n_dup += 1
        return records, list(jobs.values()), n_pre, n_dup

    def _messages(self, job: _Job) -> list[dict]:
        transcript = render_transcript(job.conv, self.max_turn_chars, self.max_total_chars)
        return [{"role": "system", "content": self.prompts.system},
                {"role": "user", "content": self.prompts.user_message(job.facet, transcript)}]

    def dry_run(self, conversations: Iterable[Conversation],
                facets: tuple[str, ...] = BEHAVIOUR_FACETS) -> DryRunEstimate:
        """What `extract` would send, without sending anything."""
        conversations = list(conversations)
        facets = tuple(facets)
        self._check_facets(facets)
        _, jobs, n_pre, n_dup = self._plan(conversations, facets)
        todo = [j for j in jobs if self.cache.get(j.key) is None]
        chars = sum(len(m["content"]) for j in todo for m in self._messages(j))
        per_facet = {f: sum(1 for j in todo if j.facet == f) for f in facets}
        return DryRunEstimate(
            conversations=len(conversations), pairs=len(conversations) * len(facets),
            precomputed=n_pre, cached=len(jobs) - len(todo), deduplicated=n_dup,
            requests=len(todo), prompt_tokens=-(-chars // 4),
            output_tokens=sum(self.prompts.facets[j.facet].expected_output_tokens for j in todo),
            max_output_tokens=None if self.max_tokens is None else len(todo) * self.max_tokens,
            per_facet=per_facet)

    # -- extraction

    def extract(self, conversations: Iterable[Conversation],
                facets: tuple[str, ...] = BEHAVIOUR_FACETS) -> list[dict[str, FacetRecord]]:
        conversations = list(conversations)
        facets = tuple(facets)
        self._check_facets(facets)
        self.failures = []
        records, jobs, n_pre, n_dup = self._plan(conversations, facets)
        self.stats.precomputed += n_pre
        self.stats.deduplicated += n_dup
        pending = []
        for job in jobs:
            hit = self.cache.get(job.key)
            if hit is None:
                pending.append(job)
                continue
            self.stats.cache_hits += 1
            for i in job.rows:
                records[i][job.facet] = FacetRecord(text=hit.description)
        failed: list[tuple[_Job, str]] = []
        unfinished = self._run_jobs(pending, records, failed)
        # Failures in input order, one per conversation and facet.
        order = {f: k for k, f in enumerate(facets)}
        rows = sorted(((i, order[j.facet], j, reason) for j, reason in failed for i in j.rows),
                      key=lambda t: (t[0], t[1]))
        self.failures = [(conversations[i].id, conversations[i].source, j.facet, self._redact(reason))
                         for i, _, j, reason in rows]
        self.failed_conversations = len({i for i, *_ in rows})
        if self._budget_hit:
            remaining = sum(len(j.rows) for j in unfinished)
            described = len(pending) - len(unfinished) - len(failed)
            raise RequestBudgetExceeded(self.request_budget, described, remaining, self.cache.root)
        self._check_failed_share(len(conversations))
        return records

    def _check_failed_share(self, n_conversations: int) -> None:
        """Stop when more conversations failed than `max_failed_share` allows:
        a measurement on what is left would silently describe another sample."""
        n_failed = self.failed_conversations
        if (self.max_failed_share is None or not n_conversations
                or n_failed <= self.max_failed_share * n_conversations):
            return
        reasons: dict[str, int] = {}
        for *_, reason in self.failures:
            reasons[reason] = reasons.get(reason, 0) + 1
        top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        shown = "; ".join(f"{r} ({n})" for r, n in top)
        raise EnsembleFitError(
            f"facet extraction failed for {n_failed} of {n_conversations} conversations "
            f"({n_failed / n_conversations:.1%}), more than --max-failed-share "
            f"{self.max_failed_share:.1%}; most common reasons: {shown}. Finished descriptions are "
            "cached: fix the cause and run again, or raise --max-failed-share to measure without them")

    def _run_jobs(self, pending: list[_Job], records, failed) -> list[_Job]:
        """Answer jobs on worker threads; returns jobs left unfinished by a stop."""
        if not pending:
            return []
        self._stop.clear()
        self._budget_hit = False
        results: queue.Queue = queue.Queue()
        jobs_iter = iter(pending)
        fatal: list[BaseException] = []

        def worker():
            try:
                while not self._stop.is_set():
                    with self._lock:
                        job = next(jobs_iter, None)
                    if job is None:
                        return
                    try:
                        entry = self._describe(job)
                        # Durable before it is reported: a kill after this loses nothing.
                        self.cache.put(job.key, entry)
                        results.put((job, entry, None))
                    except _ItemFailed as exc:
                        results.put((job, None, exc))
                    except _Stopped:
                        return
                    except BaseException as exc:  # fatal (bad key/URL) or a bug: stop everyone
                        fatal.append(exc)
                        self._stop.set()
                        return
            finally:
                results.put(None)

        n_workers = min(self.concurrency, len(pending))
        threads = [threading.Thread(target=worker, daemon=True, name=f"llm-facets-{k}")
                   for k in range(n_workers)]
        for t in threads:
            t.start()
        finished: set[int] = set()
        consecutive = 0
        # The stop after N failures in a row guards against a server that
        # answers nothing. Once the server is known to work (descriptions came
        # from it now or from the cache), a request it refuses alone (a 4xx)
        # is that conversation's problem: --max-failed-share judges those, so
        # a rerun of only the failed ones is not stopped by the streak.
        server_works = self.stats.cache_hits > 0
        alive = n_workers
        try:
            while alive:
                item = results.get()
                if item is None:
                    alive -= 1
                    continue
                job, entry, error = item
                reason = None if error is None else str(error)
                finished.add(id(job))
                if entry is not None:
                    consecutive, server_works = 0, True
                    with self._lock:
                        self.stats.described += 1
                    for i in job.rows:
                        records[i][job.facet] = FacetRecord(text=entry.description)
                else:
                    if not (server_works and error.item_specific):
                        consecutive += 1
                    with self._lock:
                        self.stats.failures += 1
                    failed.append((job, reason))
                    if (self.max_consecutive_failures is not None
                            and consecutive >= self.max_consecutive_failures and not fatal):
                        fatal.append(EnsembleFitError(
                            f"{consecutive} LLM requests in a row failed (last: {reason}); stopping. "
                            f"Check that {self.base_url} serves model '{self.model}'. "
                            "Finished descriptions are cached; a rerun continues from them"))
                        self._stop.set()
                if self.progress is not None:
                    self.progress(1, len(pending))
        except BaseException:
            self._stop.set()  # Ctrl-C: workers stop after their current request
            raise
        if fatal:
            raise fatal[0]
        return [j for j in pending if id(j) not in finished]

    def _describe(self, job: _Job) -> CachedDescription:
        """Ask until the answer is usable, retrying transient and format errors."""
        prompt = self.prompts.facets[job.facet]
        base = self._messages(job)
        messages = base
        transient = malformed = 0
        first = True
        while True:
            content = None
            try:
                content = self._request(messages, retry=not first)
                fields = parse_answer(content, prompt.keys)
                # A model that echoes the key must not put it in the cache or the outputs.
                fields = {k: self._redact_key(v) for k, v in fields.items()}
                return CachedDescription(flatten(fields, prompt.keys), fields)
            except _Transient as exc:
                with self._lock:
                    self.stats.errors[exc.kind] = self.stats.errors.get(exc.kind, 0) + 1
                transient += 1
                if transient > self.max_retries:
                    raise _ItemFailed(f"{exc} (gave up after {transient} attempts)") from None
                self._sleep(self._backoff(transient, exc.retry_after))
            except MalformedAnswer as exc:
                malformed += 1
                if malformed > self.max_format_retries:
                    raise _ItemFailed(f"malformed answer: {exc} "
                                      f"(after {malformed} unusable answers)") from None
                # Show the model its reply and what was wrong: at temperature 0
                # the same prompt would give the same reply again.
                repair = [{"role": "user", "content": self.prompts.repair_message(job.facet, str(exc))}]
                if content and content.strip():
                    repair.insert(0, {"role": "assistant", "content": content[:4000]})
                messages = base + repair
            first = False

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_cap)
        with self._lock:
            jitter = self._rng.random()
        # "Equal jitter": at least half the exponential delay, so retries spread
        # out without ever hammering a struggling server immediately.
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return delay * (0.5 + 0.5 * jitter)

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped()

    def _take_request(self, retry: bool) -> None:
        with self._lock:
            if self._stop.is_set():
                raise _Stopped()
            if self.request_budget is not None and self.stats.requests >= self.request_budget:
                self._budget_hit = True
                self._stop.set()
                raise _Stopped()
            self.stats.requests += 1
            if retry:
                self.stats.retries += 1

    def _request(self, messages: list[dict], retry: bool) -> str | None:
        """One HTTP attempt; returns the reply text or raises."""
        self._take_request(retry)
        body = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "ensemble-fit"}
        key = self._api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers,
                                     method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            try:
                detail = _error_message(exc.read() or b"")
            except (OSError, http.client.HTTPException):
                detail = str(exc.reason)
            # Error bodies echo requests, keys included: scrub before any use.
            detail = self._redact(detail)
            if status in REDIRECT_STATUS:
                where = self._redact(describe_location(exc.headers.get("Location"), self.url))
                raise ConfigError(
                    f"LLM server {self.url} answered HTTP {status} (a redirect to {where}); redirects "
                    "are not followed, so the API key never goes to an address you did not give: "
                    "set --base-url to the server's final address") from None
            if status in RETRYABLE_STATUS:
                raise _Transient(f"http {status}", detail,
                                 _parse_retry_after(exc.headers.get("Retry-After"))) from None
            if status in FATAL_STATUS:
                hint = ("set the API key in $" + self.api_key_env if status in (401, 403)
                        else "check --base-url (usually ending in /v1) and --model")
                raise ConfigError(f"LLM server {self.url} answered HTTP {status} ({detail}); {hint}") from None
            raise _ItemFailed(f"http {status}: {detail}", item_specific=400 <= status < 500) from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            # URLError is an OSError; covers refused, reset and timed-out connections.
            reason = getattr(exc, "reason", exc)
            kind = "timeout" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else "connection"
            raise _Transient(kind, self._redact(str(reason))) from None
        try:
            payload = json.loads(raw)
            choice = payload["choices"][0]
            content = choice["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise MalformedAnswer("the server's response is not a chat completion") from None
        usage = payload.get("usage") if isinstance(payload, dict) else None
        if isinstance(usage, dict):
            with self._lock:
                self.stats.prompt_tokens += int(usage.get("prompt_tokens") or 0)
                self.stats.completion_tokens += int(usage.get("completion_tokens") or 0)
        if choice.get("finish_reason") == "length":
            raise MalformedAnswer("reply cut off at max_tokens")
        return content


def _default_cache_root() -> Path:
    # Same default as the CLI's --cache.
    if os.environ.get("ENSEMBLE_FIT_CACHE"):
        return Path(os.environ["ENSEMBLE_FIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ensemble-fit"
