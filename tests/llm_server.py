"""A fake OpenAI-compatible chat server for the LLM extractor tests.

Answers are deterministic: each key's value is derived from a hash of the
transcript and the key, so two runs over the same data give the same
descriptions. Faults are injected with a seeded RNG drawn once per request
(in arrival order), capped per prompt so that every prompt eventually
succeeds unless it is marked to be always malformed. Every request is logged.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRANSCRIPT_RE = re.compile(r"<transcript>\n(.*)\n</transcript>", re.S)
SCHEMA_KEY_RE = re.compile(r'"(\w+)": "\.\.\."')
MALFORMED_KINDS = ("not json", "missing key", "empty value")


@dataclass
class Knobs:
    error_rate: float = 0.0              # share of requests answered 500 or 429
    max_errors_per_prompt: int = 2       # never more errors than this for one prompt
    error_status: int | None = None      # status of injected errors; None: 429 or 500 by the draw
    retry_after: str | None = None       # Retry-After header sent with 429
    malformed_rate: float = 0.0          # share of first attempts answered unusably
    always_malformed: str = "MALFORMED-ALWAYS"  # transcripts containing this never get a usable answer
    status_for: dict[str, int] = field(default_factory=dict)  # transcript marker -> fixed HTTP status
    latency: float = 0.0                 # seconds before every answer
    stall_first: float = 0.0             # extra delay on each prompt's first attempt (client timeouts)
    echo_authorization: bool = False     # error bodies quote the request's Authorization header
    seed: int = 0


@dataclass
class LogEntry:
    path: str
    authorization: str | None
    body: dict
    conv: str            # hash of the transcript the prompt carries
    keys: tuple          # the facet's keys, as asked for in the prompt schema
    outcome: str         # ok | error | malformed | status | dropped
    status: int

    @property
    def pair(self) -> tuple[str, tuple]:
        return (self.conv, self.keys)


def answer_for(transcript: str, keys) -> dict[str, str]:
    """The deterministic answer the server gives for a transcript and keys."""
    return {k: f"{k} trait {hashlib.sha256((transcript + '|' + k).encode()).hexdigest()[:8]}"
            for k in keys}


class FakeLLMServer:
    def __init__(self, **knobs):
        self.knobs = Knobs(**knobs)
        self.log: list[LogEntry] = []
        self._lock = threading.Lock()
        self._rng = random.Random(self.knobs.seed)
        self._errors_per_prompt: Counter = Counter()
        self._attempts_per_prompt: Counter = Counter()
        self._hold_after: int | None = None
        self._release = threading.Event()
        self._drop_held = False
        self.held = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # A short poll interval keeps shutdown() (which waits one poll) fast.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    # -- lifecycle
    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.release(drop=True)
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # -- control
    def hold_after(self, n_ok: int | None) -> None:
        """After `n_ok` usable answers, park further requests until release()
        (None: stop holding)."""
        self._hold_after = n_ok
        self._release.clear()

    def release(self, drop: bool = False) -> None:
        """Let parked requests go on; with drop=True they close without an answer."""
        self._drop_held = drop
        self._release.set()

    # -- log queries
    def count(self, outcome: str | None = None) -> int:
        with self._lock:
            return sum(1 for e in self.log if outcome is None or e.outcome == outcome)

    @property
    def injected_errors(self) -> int:
        return self.count("error")

    @property
    def injected_malformed(self) -> int:
        return self.count("malformed")

    def requests_per_pair(self) -> Counter:
        with self._lock:
            return Counter(e.pair for e in self.log if e.outcome != "dropped")

    def ok_pairs(self) -> Counter:
        with self._lock:
            return Counter(e.pair for e in self.log if e.outcome == "ok")

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    # -- request handling
    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                server._handle(self)

        return Handler

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        body = json.loads(raw)
        first_user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        m = TRANSCRIPT_RE.search(first_user)
        transcript = m.group(1) if m else ""
        schema_part = first_user[m.end():] if m else first_user
        keys = tuple(SCHEMA_KEY_RE.findall(schema_part))
        conv = hashlib.sha256(transcript.encode()).hexdigest()[:16]
        k = self.knobs
        with self._lock:
            prompt_id = (conv, keys)
            self._attempts_per_prompt[prompt_id] += 1
            attempt = self._attempts_per_prompt[prompt_id]
            draw_error, draw_malformed = self._rng.random(), self._rng.random()
            ok_so_far = sum(1 for e in self.log if e.outcome == "ok")
            hold = self._hold_after is not None and ok_so_far >= self._hold_after
            status = next((s for marker, s in k.status_for.items() if marker in transcript), None)
            if hold:
                outcome = "dropped"
            elif status is not None:
                outcome = "status"
            elif draw_error < k.error_rate and self._errors_per_prompt[prompt_id] < k.max_errors_per_prompt:
                self._errors_per_prompt[prompt_id] += 1
                outcome = "error"
                status = k.error_status or (429 if draw_error < k.error_rate / 2 else 500)
            elif k.always_malformed in transcript or (attempt == 1 and draw_malformed < k.malformed_rate):
                outcome = "malformed"
            else:
                outcome = "ok"
            entry = LogEntry(h.path, h.headers.get("Authorization"), body, conv, keys, outcome,
                             status or 200)
            self.log.append(entry)
        if hold:
            self.held += 1
            self._release.wait()
            if self._drop_held:
                h.close_connection = True
                return
        if k.latency:
            time.sleep(k.latency)
        if attempt == 1 and k.stall_first:
            time.sleep(k.stall_first)
        if h.path != "/v1/chat/completions":
            return self._send(h, 404, {"error": {"message": f"no route {h.path}"}})
        if outcome in ("status", "error"):
            headers = {"Retry-After": k.retry_after} if status == 429 and k.retry_after else {}
            msg = f"injected {status}"
            if k.echo_authorization:  # as some servers do: the key comes back in the body
                msg += f" (request had Authorization: {h.headers.get('Authorization')})"
            return self._send(h, status, {"error": {"message": msg}}, headers)
        fields = answer_for(transcript, keys)
        if outcome == "malformed":
            kind = MALFORMED_KINDS[(attempt - 1) % len(MALFORMED_KINDS)]
            if kind == "not json":
                content = "Sure! The user seems direct."
            elif kind == "missing key":
                content = json.dumps(dict(list(fields.items())[:-1]))
            else:
                content = json.dumps({**fields, keys[0]: "  "})
        else:
            content = json.dumps(fields)
        self._send(h, 200, {
            "id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": len(raw) // 4, "completion_tokens": len(content) // 4}})

    @staticmethod
    def _send(h, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(data)
        except OSError:  # the client gave up (timeout or killed)
            pass
