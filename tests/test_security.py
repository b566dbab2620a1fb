"""Regressions for the security and reliability review (issue 21).

Each test names the review's case number. Cases 5, 6's sweep database,
9 and 10 are covered with the output-folder, sweep, scale and weights-file
tests.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import threading
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from measure.atomic import OutputError, ensure_writable_dir
from measure.conversation import Conversation, Message
from measure.errors import ConfigError, EnsembleFitError, InputError
from measure.facets.base import BEHAVIOUR_FACETS
from measure.facets.http import check_base_url, redact
from measure.facets.llm import LLMFacetExtractor
from measure.loaders import load_dataset
from measure.text_safety import escape_control

from .llm_server import FakeLLMServer

KEY = "sk-secret-0123456789abcdef"
FAST = dict(backoff_base=0.001, backoff_cap=0.01, concurrency=2)


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("ENSEMBLE_FIT_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def convs(n: int, source: str = "real", marker: str = "") -> list[Conversation]:
    return [Conversation(f"{source}-{i}", source,
                         (Message("user", f"please fix bug {i} {marker}".strip()),
                          Message("assistant", f"done {i}"), Message("user", "thanks")))
            for i in range(n)]


class Recorder:
    """A loopback server that logs every request and answers with `reply(handler)`."""

    def __init__(self, reply):
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Authorization)
        self._reply = reply
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                rec.requests.append((self.command, self.path, self.headers.get("Authorization")))
                status, headers, body = rec._reply(self)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _json(status: int, obj) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(obj).encode()


# ---------------------------------------------------------------- 1. redirects

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_1_redirect_to_another_host_never_carries_the_key(tmp_path, status):
    with Recorder(lambda h: _json(200, {"choices": []})) as b:
        target = f"{b.origin}/v1/chat/completions?token=abc"
        with Recorder(lambda h: (status, {"Location": target}, b"")) as a:
            base = f"http://127.0.0.1:{a.httpd.server_address[1]}/v1"
            ex = LLMFacetExtractor(base, "m", cache_dir=tmp_path, **FAST)
            with pytest.raises(ConfigError) as err:
                ex.extract(convs(4), ("style",))
        assert b.requests == []  # the second server never heard from us, key or not
        assert a.requests and all(auth == f"Bearer {KEY}" for _, _, auth in a.requests)
    msg = str(err.value)
    # It says what the server answered and where it pointed; the error blames the redirect.
    assert f"answered HTTP {status}" in msg and f"{b.origin}/v1/chat/completions" in msg
    assert "redirects are not followed" in msg and "token=abc" not in msg and KEY not in msg


# ---------------------------------------------------------------- 2. error bodies, failed share

def _echo_key(h):
    auth = h.headers.get("Authorization") or ""
    return _json(400, {"error": {"message": f"bad request; you sent Authorization: {auth} "
                                            f"(key {auth.split()[-1]})"}})


def test_2_error_bodies_that_echo_the_key_are_redacted_everywhere(tmp_path):
    with Recorder(_echo_key) as srv:
        base = f"http://127.0.0.1:{srv.httpd.server_address[1]}/v1"
        ex = LLMFacetExtractor(base, "m", cache_dir=tmp_path / "cache", max_failed_share=None, **FAST)
        recs = ex.extract(convs(3), ("style", "context"))
        assert recs == [{}, {}, {}] and len(ex.failures) == 6 and ex.failed_conversations == 3
        for *_, reason in ex.failures:
            assert KEY not in reason and "[redacted]" in reason and reason.startswith("http 400")
        # The run-level stop quotes the reasons: redacted as well.
        ex = LLMFacetExtractor(base, "m", cache_dir=tmp_path / "cache", **FAST)
        with pytest.raises(EnsembleFitError) as err:
            ex.extract(convs(3), ("style",))
    assert KEY not in str(err.value) and "3 of 3 conversations" in str(err.value)
    for f in (tmp_path / "cache").rglob("*"):
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f


def mixed(n: int, rejected) -> list[Conversation]:
    """n distinct conversations; those where rejected(i) carry the marker the server refuses."""
    return [Conversation(f"c{i}", "real", (Message("user", f"task {i} {'REJECT-ME' if rejected(i) else ''}"),))
            for i in range(n)]


def test_2_more_failures_than_max_failed_share_stop_the_run(tmp_path):
    # 36 of 90 fail, as in the review; spread out, so no 20 fail in a row (that stop is another test).
    data = mixed(90, lambda i: i % 5 in (0, 2))
    with FakeLLMServer(status_for={"REJECT-ME": 400}) as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path / "a", **FAST)
        with pytest.raises(EnsembleFitError, match=r"failed for 36 of 90 conversations \(40\.0%\), more "
                                                   r"than --max-failed-share 5\.0%.*http 400: injected 400 \(36\)"):
            ex.extract(data, ("style",))
        # 4 of 90 (4.4%) is within the default share: the run goes on, the failures counted.
        few = mixed(90, lambda i: i in (3, 30, 60, 89))
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path / "b", **FAST)
        recs = ex.extract(few, ("style",))
        assert ex.failed_conversations == 4 and sum(1 for r in recs if not r) == 4
        # A stricter share stops the same data.
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path / "b", max_failed_share=0.04, **FAST)
        with pytest.raises(EnsembleFitError, match="4 of 90"):
            ex.extract(few, ("style",))
    with pytest.raises(ConfigError, match="--max-failed-share must be between 0 and 1"):
        LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, max_failed_share=1.5)


def test_2_a_rerun_of_the_refused_ones_is_judged_by_the_share_not_the_streak(tmp_path):
    """Following the error's advice (raise --max-failed-share) must work from the
    cache: the rerun sends only the 36 refused requests, all failing in a row."""
    data = mixed(90, lambda i: i % 5 in (0, 2))
    with FakeLLMServer(status_for={"REJECT-ME": 400}) as srv:
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, **FAST)
        with pytest.raises(EnsembleFitError, match="failed for 36 of 90"):
            ex.extract(data, ("style",))
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path, max_failed_share=0.5, **FAST)
        recs = ex.extract(data, ("style",))
        assert ex.failed_conversations == 36 and sum(1 for r in recs if r) == 54
        # With nothing that worked (no cache, every request refused) the streak still stops early.
        srv.clear_log()
        ex = LLMFacetExtractor(srv.base_url, "m", cache_dir=tmp_path / "fresh", max_failed_share=0.9, **FAST)
        with pytest.raises(EnsembleFitError, match="20 LLM requests in a row failed"):
            ex.extract(mixed(60, lambda i: True), ("style",))
        # stopped early: the workers finish what they hold, never the 60 (the
        # exact count depends on thread timing, so the bound is loose)
        assert srv.count() <= 40


def test_2_redact_covers_keys_and_token_shapes():
    text = (f"key {KEY}; Authorization: Basic dXNlcjpwYXNz; authorization=Bearer abc.def; "
            "api_key=AKIA1234 and x-api-key: 999zz; hf_abcdefghijklmnop; ok words stay")
    out = redact(text, (KEY,))
    for secret in (KEY, "dXNlcjpwYXNz", "abc.def", "AKIA1234", "999zz", "hf_abcdefghijklmnop"):
        assert secret not in out, secret
    assert "ok words stay" in out


# ---------------------------------------------------------------- 3. --base-url

@pytest.mark.parametrize("url, says", [
    ("file:///etc/passwd", "must start with http:// or https://, got 'file://'"),
    ("ftp://127.0.0.1/v1", "got 'ftp://'"),
    ("gopher://127.0.0.1:70/v1", "got 'gopher://'"),
    ("127.0.0.1:8000/v1", "must start with http:// or https://"),
    ("localhost/v1", "got no scheme"),
    ("http:///v1", "has no host"),
    ("http://127.0.0.1:8000/v1?key=1", "must not have a query string"),
    ("http://127.0.0.1:99999/v1", "not a valid URL"),
])
def test_3_only_http_urls_with_a_host_are_accepted(tmp_path, url, says):
    with pytest.raises(ConfigError) as err:
        LLMFacetExtractor(url, "m", cache_dir=tmp_path)
    assert says in str(err.value)


def test_3_credentials_in_the_url_are_refused_without_printing_them(tmp_path):
    for url in ("http://user:hunter2pass@127.0.0.1:8000/v1", "https://hunter2pass@example.org/v1"):
        with pytest.raises(ConfigError, match="must not carry a user name or password") as err:
            LLMFacetExtractor(url, "m", cache_dir=tmp_path)
        assert "hunter2pass" not in str(err.value)
    assert check_base_url(" http://127.0.0.1:8000/v1/ ") == "http://127.0.0.1:8000/v1"


# ---------------------------------------------------------------- 4. embedding cache key

def test_4_cache_key_changes_with_a_weight_byte_of_the_same_size(tmp_path):
    from measure.embed import Embedder, model_cache_key

    from .reliability_support import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    texts = ["asks for a shorter answer", "thanks the assistant", "pastes an error"]
    first = Embedder(model=str(model), cache_dir=tmp_path / "cache")
    v1 = first.embed(texts)
    assert first.n_encoded == 3
    again = Embedder(model=str(model), cache_dir=tmp_path / "cache")
    again.embed(texts)
    assert again.key == first.key and again.n_encoded == 0 and again.n_cached == 3  # the control
    weights = model / "model.safetensors"
    size, mtime = weights.stat().st_size, weights.stat().st_mtime_ns
    header_len = int.from_bytes(weights.read_bytes()[:8], "little")
    header = json.loads(weights.read_bytes()[8:8 + header_len])
    # The high byte of the first query weight: a tensor every text goes through.
    at = 8 + header_len + header["encoder.layer.0.attention.self.query.weight"]["data_offsets"][0] + 3
    with open(weights, "r+b") as fh:
        fh.seek(at)
        b = fh.read(1)
        fh.seek(at)
        fh.write(bytes([b[0] ^ 0x01]))
    os.utime(weights, ns=(mtime, mtime))  # same size, same mtime: only the bytes differ
    assert weights.stat().st_size == size
    changed = Embedder(model=str(model), cache_dir=tmp_path / "cache")
    v2 = changed.embed(texts)
    assert changed.key != first.key and changed.key == model_cache_key(str(model))
    assert changed.n_encoded == 3 and changed.n_cached == 0
    assert not (v1 == v2).all()


# ---------------------------------------------------------------- 6. crashes on reachable input

def _good(i: int, **extra) -> dict:
    return {"id": f"c{i}", **extra,
            "messages": [{"role": "user", "content": f"hello {i}"}, {"role": "assistant", "content": "hi"}]}


def test_6_deep_nesting_and_huge_integers_are_located_and_skippable(tmp_path):
    prefix = '{"id": "deep", "messages": [{"role": "user", "content": "x"}], "metadata": '
    deep = prefix + "[" * 5000 + "]" * 5000 + "}"
    big = '{"id": ' + "9" * 5000 + ', "messages": [{"role": "user", "content": "x"}]}'
    lines = [json.dumps(_good(0)), deep, big, json.dumps(_good(1)), json.dumps(_good(2))]
    (tmp_path / "lines").mkdir()
    (tmp_path / "lines" / "sim_a.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "array").mkdir()
    (tmp_path / "array" / "sim_a.json").write_text("[" + ",\n".join(lines) + "]")
    with pytest.raises(InputError, match=r"sim_a\.jsonl:2: too deeply nested: more than 100 levels"):
        load_dataset(tmp_path / "lines", min_conversations=1)
    for folder, where in (("lines", [f"column {len(prefix) + 100}", "column 8"]), ("array", ["record 2", "record 3"])):
        ds = load_dataset(tmp_path / folder, on_error="skip", min_conversations=1)
        assert sorted(c.id for c in ds.conversations) == ["c0", "c1", "c2"]  # the array goes on after them
        assert ds.report.skipped == 2
        assert dict(ds.report.reasons) == {"too deeply nested": 1, "number too large": 1}
        assert where[0] in ds.report.examples[0] and where[1] in ds.report.examples[1]
        assert "more than 4,300 digits" in ds.report.examples[1]
    # Metadata is kept and written out, so it has a depth limit of its own.
    (tmp_path / "meta").mkdir()
    meta = _good(3, metadata={"a": json.loads("[" * 150 + "]" * 150)})
    (tmp_path / "meta" / "sim_a.jsonl").write_text(json.dumps(meta) + "\n" + json.dumps(_good(4)) + "\n")
    with pytest.raises(InputError, match="field 'metadata': too deeply nested"):
        load_dataset(tmp_path / "meta", min_conversations=1)


def test_6_lone_surrogate_and_control_characters_in_names_are_located_errors(tmp_path, capsys):
    from ensemble.cli import main

    recs = [_good(0, source="sim_a"), _good(1, source="sim_a"), _good(2, source="s\ud800x"),
            _good(3, source="nul\x00name"), _good(4, source="clear\x1b[2Jscreen"), _good(5, source="real"),
            _good(6, source="real")]
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")  # json.dumps escapes them: valid JSON
    ds = load_dataset(path, on_error="skip", min_conversations=1)
    assert sorted(ds.by_source()) == ["real", "sim_a"] and ds.report.skipped == 3
    assert ds.report.examples == [
        f"{path}:3, field 'source': bad name: 'source' contains a lone surrogate (half of a character pair) "
        "(U+D800); names must be printable text",
        f"{path}:4, field 'source': bad name: 'source' contains a control character (U+0000); names must "
        "be printable text",
        f"{path}:5, field 'source': bad name: 'source' contains a control character (U+001B); names must "
        "be printable text",
    ]
    assert main(["inspect", str(path)]) == 0  # was UnicodeEncodeError, exit 70
    out = capsys.readouterr().out
    assert "bad name" in out and "\x1b" not in out and "\x00" not in out


def test_6_dollar_names_draw_in_figures():
    from ensemble.report.plots import ranking_plot

    name = "sim$\\undefinedcommand$"
    measure = {"ranking": [name, "sim_b"],
               "gap": {name: {"overall": {"js": 0.2, "js_ci": [0.1, 0.3]}},
                       "sim_b": {"overall": {"js": 0.1, "js_ci": [0.05, 0.2]}}},
               "noise_floor": {"overall": {"js": 0.01, "js_p95": 0.02}}}
    png = ranking_plot(measure)
    assert png.startswith(b"\x89PNG") and png == ranking_plot(measure)


# ---------------------------------------------------------------- 7. terminal escapes

def test_7_escape_sequences_never_reach_the_terminal(tmp_path, capsys):
    from ensemble.cli import main

    assert escape_control("a\x1b[2Jb\u202ec\td\ud800") == "a\\x1b[2Jb\\u202ec\td\\ud800"
    assert escape_control("naïve 日本語 ok") == "naïve 日本語 ok"
    data = tmp_path / "data"
    data.mkdir()
    recs = [_good(i) for i in range(3)] + [
        {"id": "x", "messages": [{"role": "\x1b[2J\x1b]0;owned\x07", "content": "hi"}]}]
    (data / "sim_a.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    (data / "real.jsonl").write_text("\n".join(json.dumps(_good(i)) for i in range(3)) + "\n")
    assert main(["inspect", str(data)]) == 0
    out = capsys.readouterr().out
    assert "unknown role" in out and "\\x1b[2J" in out and "\x1b" not in out and "\x07" not in out
    # The error line of a run that stops on the same record.
    assert main(["measure", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "unknown role" in err and "\x1b" not in err and "\\x1b]0;owned\\x07" in err


# ---------------------------------------------------------------- 8. look-alike names

def test_8_normal_forms_and_invisible_characters_name_one_source(tmp_path):
    recs = [_good(0, source="caf\u00e9"), _good(1, source="cafe\u0301"),
            _good(2, source="sim_terse"), _good(3, source="sim_terse\u200b"),
            _good(4, source="\ufeffsim_terse "), _good(5, source="real"), _good(6, source="real")]
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    ds = load_dataset(path, real=["real"], min_conversations=1)
    assert ds.simulators == ["café", "sim_terse"]
    assert [len(v) for v in ds.by_source().values()] == [2, 2, 3]
    warns = [w for w in ds.report.warnings if "invisible" in w]
    assert len(warns) == 2
    assert "'sim_terse\\u200b'" in warns[0] and "U+200B ZERO WIDTH SPACE" in warns[0] \
        and "read as 'sim_terse'" in warns[0]
    assert "surrounding spaces" in warns[1]
    # --real is compared the same way.
    ds = load_dataset(path, real=["cafe\u0301"], min_conversations=1)
    assert ds.real_sources == ["café"]
    with pytest.raises(InputError, match="only invisible characters"):
        load_dataset_from(tmp_path, [_good(0, source="\u200b\u200c")])


def load_dataset_from(tmp_path: Path, recs: list[dict]):
    path = tmp_path / "one.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    return load_dataset(path, min_conversations=1)


# ---------------------------------------------------------------- 11. smaller

def test_11_zstd_data_named_gz_says_so(tmp_path):
    (tmp_path / "sim_a.jsonl.gz").write_bytes(b"\x28\xb5\x2f\xfd\x04\x58" + b"\x11" * 64)
    (tmp_path / "real.jsonl.gz").write_bytes(gzip.compress(
        ("\n".join(json.dumps(_good(i)) for i in range(3)) + "\n").encode()))
    with pytest.raises(InputError) as err:
        load_dataset(tmp_path, min_conversations=1)
    assert str(err.value) == (f"{tmp_path / 'sim_a.jsonl.gz'}: unsupported compression: the file is "
                              "zstd-compressed (whatever its name says); decompress it first (zstd -d) "
                              "or recompress it with gzip")


DiskUsage = namedtuple("DiskUsage", "total used free")


def test_11_a_full_disk_fails_the_up_front_check(tmp_path, monkeypatch, capsys):
    from ensemble.cli import main

    ensure_writable_dir(tmp_path / "ok")  # the control: this disk has room
    monkeypatch.setattr(shutil, "disk_usage", lambda p: DiskUsage(1 << 30, 1 << 30, 0))
    with pytest.raises(OutputError, match=r"no space left on the device \(0 bytes free, at least 8\.0 MiB"):
        ensure_writable_dir(tmp_path / "full")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: DiskUsage(1 << 30, 1 << 30, 4 << 20))
    with pytest.raises(OutputError, match=r"4\.0 MiB free"):
        ensure_writable_dir(tmp_path / "full")
    # The CLI stops before loading or measuring anything.
    out = tmp_path / "run"
    rc = main(["measure", "--data", str(tmp_path / "missing"), "--out", str(out)])
    assert rc == 2 and "no space left on the device" in capsys.readouterr().err
    assert not (out / "measure.json").exists() and not list(out.glob("*.csv"))  # no work was done


def test_11_nul_bytes_in_names_never_reach_measure_csv(tmp_path):
    recs = [_good(0, source="sim\x00a"), _good(1, source="sim\x00a"), _good(2, source="sim_b"),
            _good(3, source="sim_b"), _good(4, source="real"), _good(5, source="real")]
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    with pytest.raises(InputError, match=r"data\.jsonl:1, field 'source': bad name: .*U\+0000"):
        load_dataset(path)
    ds = load_dataset(path, on_error="skip")
    assert ds.simulators == ["sim_b"] and all("\x00" not in c.source for c in ds.conversations)


def test_2_measure_run_keeps_the_key_out_of_its_outputs_and_counts_drops(tmp_path, capsys):
    from ensemble.cli import main
    from measure.embed import model_cache_key

    from .reliability_support import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    data = tmp_path / "data"
    data.mkdir()
    for source, n in (("real", 14), ("sim_a", 14), ("sim_b", 14)):
        recs = [{"id": f"{source}-{i}", "messages": [
            {"role": "user", "content": f"{source} asks about topic {i}"
                                        + (" REJECT-ME" if source == "sim_b" and i < 2 else "")},
            {"role": "assistant", "content": f"answer {i}"}, {"role": "user", "content": f"thanks {i}"}]}
                for i in range(n)]
        (data / f"{source}.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    with FakeLLMServer(status_for={"REJECT-ME": 400}, echo_authorization=True) as srv:
        args = ["measure", "--data", str(data), "--cache", str(tmp_path / "cache"), "--quiet",
                "--embedding-model", str(model), "--extractor", "llm", "--base-url", srv.base_url,
                "--model", "m", "--bootstrap", "20", "--codebook-seeds", "1", "--k", "3"]
        # 2 of 42 conversations (4.8%) fail: within the default 5%.
        rc = main(args + ["--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert rc == 0, err
        assert all(e.authorization == f"Bearer {KEY}" for e in srv.log)
        # A stricter share stops the run with one clear line, the key redacted.
        rc = main(args + ["--out", str(tmp_path / "out2"), "--max-failed-share", "0.04"])
        err2 = capsys.readouterr().err
    assert rc == 2 and "failed for 2 of 42 conversations (4.8%), more than --max-failed-share 4.0%" in err2
    assert "2 conversations dropped" in err
    measure = json.loads((tmp_path / "out" / "measure.json").read_text())
    reasons = [d[3] if isinstance(d, list) else d["reason"] for d in measure["dropped"]]
    assert len(reasons) == 2 * len(BEHAVIOUR_FACETS) and all("[redacted]" in r for r in reasons)
    assert measure["representation"]["embedding_key"] == model_cache_key(str(model))
    for f in list((tmp_path / "out").rglob("*")) + list((tmp_path / "cache").rglob("*")):
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f
    assert KEY not in err and KEY not in err2
