"""The parse cache (measure.parse_cache): a replayed file loads exactly as a
fresh parse does, files that needed a word are never stored, and the key
follows the file's bytes and the settings it is read under."""
from __future__ import annotations

import gzip
import hashlib
import json
import os

import pytest

from measure import loaders, parse_cache
from measure.errors import InputError
from measure.loaders import load_dataset


def _line(rec) -> str:
    return json.dumps(rec, ensure_ascii=False) + "\n"


def _conv(i, user="please fix the bug", extra=None, source=None, **fields):
    rec = {"id": i, "messages": [{"role": "system", "content": "be brief"},
                                 {"role": "user", "content": f"{user} {i}"},
                                 {"role": "assistant", "content": f"reply {i}"},
                                 {"role": "user", "content": "thanks"}]}
    if source:
        rec["source"] = source
    if extra:
        rec.update(extra)
    rec.update(fields)
    return rec


@pytest.fixture
def data(tmp_path):
    """A folder of clean files in every JSON form the cache takes."""
    d = tmp_path / "data"
    d.mkdir()
    # Flat JSONL: metadata, a precomputed facet, numeric and missing ids,
    # non-ASCII text, an emoji, a lone surrogate (kept by the loader) and 0xFF-free bytes.
    recs = [_conv(f"r{i}", metadata={"lang": "de", "turn": i, "score": 0.5 + i, "tags": ["a", None]})
            for i in range(5)]
    recs.append({k: v for k, v in _conv("x").items() if k != "id"})
    recs.append(_conv("p1", requests_facet="asks for a fix", intent="debug"))
    lines = [_line(r) for r in recs]
    # A lone surrogate can only come as a JSON escape; the rest is raw UTF-8.
    lines.append(json.dumps(_conv(7, user="Grüße 😀 \ud800 tab\there")) + "\n")
    lines.append(_line(_conv(8, user="Grüße 😀 ÿ")))
    (d / "real.jsonl").write_text("".join(lines), encoding="utf-8")
    # ShareGPT layout in a JSON array.
    share = [{"id": f"s{i}", "conversations": [{"from": "human", "value": f"write a poem {i}"},
                                               {"from": "gpt", "value": "roses"}]}
             for i in range(4)]
    (d / "sim_a.json").write_text(json.dumps(share), encoding="utf-8")
    # Gzipped JSONL with a task field, and one with an empty user turn to drop.
    with gzip.open(d / "sim_b.jsonl.gz", "wt", encoding="utf-8") as fh:
        for i in range(4):
            fh.write(_line(_conv(f"b{i}", task="coding")))
    return d


def _snapshot(ds):
    r = ds.report
    return ([(c.id, c.source, c.task, c.intent, c.metadata, c.precomputed, c.origin, c.messages,
              c.content_hash()) for c in ds.conversations],
            ds.real_sources, ds.simulators, {k: vars(v) for k, v in r.files.items()}, r.skipped,
            dict(r.reasons), r.examples, r.warnings, r.empty_turns_dropped, r.sampled_from,
            r.dropped_sources, r.real_deduplicated)


def _entries(cache):
    folder = cache / "parsed"
    return sorted(folder.glob("*.efp")) if folder.exists() else []


def _no_parsing(monkeypatch):
    """Make any fresh parse fail, so a load that succeeds was replayed."""
    def refuse(*a, **k):
        raise AssertionError("a file was parsed instead of replayed")
    monkeypatch.setattr(loaders, "_iter_items", refuse)


@pytest.mark.parametrize("kw, n_stored", [
    ({}, 3), ({"min_user_turns": 2}, 3), ({"max_per_source": 2}, 3),
    # Turns over 20 characters are skipped: only sim_a.json loads without a word.
    ({"max_turn_chars": 20, "on_error": "skip", "min_conversations": 1}, 1)])
def test_replay_equals_fresh_parse(data, tmp_path, kw, n_stored):
    cache = tmp_path / "cache"
    fresh = _snapshot(load_dataset(data, **kw))
    first = load_dataset(data, cache_dir=cache, **kw)
    assert _snapshot(first) == fresh
    assert len(_entries(cache)) == n_stored
    again = load_dataset(data, cache_dir=cache, **kw)
    assert _snapshot(again) == fresh
    # Digests come from the entry: the same as hashing the messages again.
    for c in again.conversations:
        c._hash = None
    assert _snapshot(again) == fresh


def test_every_clean_file_is_replayed_without_parsing(data, tmp_path, monkeypatch):
    # Dropped empty turns are counted in the entry, so the final warning is the same.
    dropped = _conv("e1")
    dropped["messages"].insert(1, {"role": "user", "content": "  "})
    (data / "sim_c.jsonl").write_text("".join(_line(r) for r in [dropped, _conv("e2")]))
    cache = tmp_path / "cache"
    fresh = _snapshot(load_dataset(data, drop_empty_turns=True))
    assert fresh[8] == 1
    load_dataset(data, cache_dir=cache, drop_empty_turns=True)
    assert len(_entries(cache)) == 4
    _no_parsing(monkeypatch)
    assert _snapshot(load_dataset(data, cache_dir=cache, drop_empty_turns=True)) == fresh


def test_files_that_needed_a_word_are_not_stored(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "real.jsonl").write_text(_line(_conv("a")) + "{not json\n" + _line(_conv("b")))
    (d / "sim\u200b.jsonl").write_text(_line(_conv("a")) + _line(_conv("b")))   # name cleaned
    (d / "sim_b.jsonl").write_text("")                                             # empty file
    paired = [{"id": f"q{i}", "real_messages": [{"role": "user", "content": f"hi {i}"}],
               "simulated_messages": [{"role": "user", "content": f"hello {i}"}]} for i in range(2)]
    (d / "sim_p.jsonl").write_text("".join(_line(r) for r in paired))
    (d / "sim_ok.jsonl").write_text(_line(_conv("a")) + _line(_conv("b")))
    cache = tmp_path / "cache"
    fresh = _snapshot(load_dataset(d, on_error="skip", min_conversations=1))
    assert _snapshot(load_dataset(d, cache_dir=cache, on_error="skip", min_conversations=1)) == fresh
    ok_prefix = hashlib.sha256(str((d / "sim_ok.jsonl").resolve()).encode()).hexdigest()[:12]
    assert [p.name.split("-")[0] for p in _entries(cache)] == [ok_prefix]
    again = load_dataset(d, cache_dir=cache, on_error="skip", min_conversations=1)
    assert _snapshot(again) == fresh  # the same skips and warnings, said again
    assert any("invisible" in w for w in again.report.warnings)
    assert again.report.skipped == 1


def test_duplicate_ids_across_files_still_fail_on_replay(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    recs = "".join(_line(_conv(f"c{i}", source="sim")) for i in range(3))
    (d / "a.jsonl").write_text(recs)
    (d / "b.jsonl").write_text(_line(_conv("new", source="sim")) + _line(_conv("c1", source="sim")))
    cache = tmp_path / "cache"
    with pytest.raises(InputError) as fresh:
        load_dataset(d)
    with pytest.raises(InputError) as first:
        load_dataset(d, cache_dir=cache)
    assert len(_entries(cache)) == 1  # a.jsonl, read cleanly before b.jsonl failed
    with pytest.raises(InputError) as replayed:
        load_dataset(d, cache_dir=cache)
    assert str(fresh.value) == str(first.value) == str(replayed.value)
    assert "duplicate id" in str(replayed.value) and "b.jsonl:2" in str(replayed.value)
    # Under skip, the repeat is skipped in either order of events.
    assert (_snapshot(load_dataset(d, cache_dir=cache, on_error="skip"))
            == _snapshot(load_dataset(d, on_error="skip")))


def test_key_follows_content_and_settings(data, tmp_path):
    cache = tmp_path / "cache"
    load_dataset(data, cache_dir=cache)
    before = {p.name for p in _entries(cache)}
    # Other settings are other entries; the file's own entry stays one per path.
    load_dataset(data, cache_dir=cache, max_turn_chars=10_000)
    assert len(_entries(cache)) == len(before)
    assert not before & {p.name for p in _entries(cache)}
    # A changed file replaces its entry and loads its new content.
    real = data / "real.jsonl"
    real.write_text(real.read_text(encoding="utf-8") + _line(_conv("late")), encoding="utf-8")
    ds = load_dataset(data, cache_dir=cache)
    assert "late" in {c.id for c in ds.conversations}
    assert _snapshot(ds) == _snapshot(load_dataset(data))
    assert len(_entries(cache)) == len(before)
    # The same bytes under another name: the source follows the name.
    (data / "sim_a.json").rename(data / "sim_z.json")
    ds = load_dataset(data, cache_dir=cache)
    assert "sim_z" in ds.simulators and "sim_a" not in ds.simulators


def test_where_bypasses_the_cache(data, tmp_path):
    cache = tmp_path / "cache"
    ds = load_dataset(data, cache_dir=cache, where=["task=coding"])
    assert {c.id for c in ds.conversations if c.source == "sim_b"} == {"b0", "b1", "b2", "b3"}
    assert _entries(cache) == []


def test_parquet_bypasses_the_cache(data, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    rows = [_conv(f"q{i}") for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), data / "sim_q.parquet")
    cache = tmp_path / "cache"
    ds = load_dataset(data, cache_dir=cache)
    assert "sim_q" in ds.simulators
    assert len(_entries(cache)) == 3  # the three JSON files, not the Parquet one


def test_torn_entry_is_parsed_again_and_rewritten(data, tmp_path):
    cache = tmp_path / "cache"
    fresh = _snapshot(load_dataset(data))
    load_dataset(data, cache_dir=cache)
    entry = _entries(cache)[0]
    size = entry.stat().st_size
    with open(entry, "r+b") as fh:
        fh.truncate(size - 5)
    assert _snapshot(load_dataset(data, cache_dir=cache)) == fresh
    assert any(p.stat().st_size == size for p in _entries(cache))


def test_corrupted_chunk_is_a_clear_error(data, tmp_path):
    cache = tmp_path / "cache"
    load_dataset(data, cache_dir=cache)
    entry = _entries(cache)[0]
    raw = bytearray(entry.read_bytes())
    start = len(parse_cache._MAGIC) + parse_cache._LEN.size
    raw[start:start + 2] = b"]]"  # the first chunk's JSON, broken; the trailer is intact
    entry.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="corrupted cache entry"):
        load_dataset(data, cache_dir=cache)


def test_file_changed_while_read_is_not_stored(tmp_path):
    f = tmp_path / "real.jsonl"
    f.write_text(_line(_conv("a")))
    cache = parse_cache.ParseCache(tmp_path / "cache")
    key, stat = cache.key(f, ("real", None, 100, False))
    writer = cache.writer(key, f, stat)
    ds = load_dataset(f, min_conversations=1)
    writer.add(parse_cache.ParsedRecord(1, False, "a", "id", 0, ds.conversations[0]))
    with open(f, "a") as fh:
        fh.write(_line(_conv("b")))
    os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    writer.commit()
    assert _entries(tmp_path / "cache") == []
    assert not any((tmp_path / "cache" / "parsed").iterdir())  # no temporary file left either


def test_unwritable_cache_loads_without_storing(data, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    ds = load_dataset(data, cache_dir=blocker)  # CACHE/parsed cannot be made
    assert _snapshot(ds) == _snapshot(load_dataset(data))
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("setting, stored", [(None, 3), ("off", 0), ("OFF ", 0), ("on", 3)])
def test_commands_use_their_cache_unless_turned_off(data, tmp_path, monkeypatch, setting, stored):
    from types import SimpleNamespace

    from ensemble.cli.setup import load_data
    if setting is None:
        monkeypatch.delenv("ENSEMBLE_FIT_PARSE_CACHE", raising=False)
    else:
        monkeypatch.setenv("ENSEMBLE_FIT_PARSE_CACHE", setting)
    cache = tmp_path / "cache"
    ds = load_data([str(data)], SimpleNamespace(cache=cache, real=["real"]))
    assert ds.real_sources == ["real"]
    assert len(_entries(cache)) == stored
