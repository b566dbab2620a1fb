"""Each input layout parses into the same Conversation model; datasets group by source."""
from __future__ import annotations

import gzip
import json
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from measure.conversation import Message
from measure.errors import ConfigError, InputError
from measure.loaders import (
    Dataset,
    LoadReport,
    file_stem,
    iter_conversations,
    load_dataset,
)
from measure.summary import render_summary, summarize


def chat(*texts: str) -> list[dict]:
    """Alternating user/assistant messages, user first."""
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]


def write_jsonl(path: Path, records: list, newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + newline for r in records), encoding="utf-8",
                    newline="")
    return path


def pairs(conv) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in conv.messages]


# ----------------------------------------------------------------------------- formats

def test_flat_jsonl_fields(tmp_path):
    f = write_jsonl(tmp_path / "data.jsonl", [
        {"id": 7, "source": "real", "task": "coding", "intent": "debug", "metadata": {"lang": "py"},
         "requests_facet": "asks for a fix", "communication_style_facet": "terse",
         "messages": [{"role": "system", "content": "be nice"}, *chat("fix it", "done", "thanks"),
                      {"role": "tool", "content": "ignored"}]},
        {"id": "b", "source": "sim_a", "messages": chat("hello")},
    ])
    convs = list(iter_conversations(f))
    assert [(c.id, c.source, c.task, c.intent) for c in convs] == [
        ("7", "real", "coding", "debug"), ("b", "sim_a", None, None)]
    assert pairs(convs[0]) == [("user", "fix it"), ("assistant", "done"), ("user", "thanks")]
    assert convs[0].metadata == {"lang": "py"}
    assert convs[0].precomputed == {"requests": "asks for a fix", "style": "terse"}
    assert convs[0].origin == f"{f}:1"
    assert convs[1].origin == f"{f}:2"


def test_flat_without_source_uses_file_stem_and_line_ids(tmp_path):
    f = write_jsonl(tmp_path / "sim_terse.jsonl", [{"messages": chat("a")}, {"messages": chat("b")}])
    convs = list(iter_conversations(f))
    assert [(c.source, c.id) for c in convs] == [("sim_terse", "sim_terse:1"),
                                                ("sim_terse", "sim_terse:2")]


def test_sharegpt_jsonl_roles_mapped(tmp_path):
    f = write_jsonl(tmp_path / "sg.jsonl", [
        {"id": "s1", "conversations": [{"from": "system", "value": "sys"},
                                       {"from": "human", "value": "q"},
                                       {"from": "gpt", "value": "a"},
                                       {"from": "user", "value": "q2"},
                                       {"from": "chatgpt", "value": "a2"},
                                       {"from": "bard", "value": "a3"}]},
    ])
    (conv,) = iter_conversations(f)
    assert (conv.id, conv.source) == ("s1", "sg")
    assert pairs(conv) == [("user", "q"), ("assistant", "a"), ("user", "q2"),
                           ("assistant", "a2\n\na3")]


def test_sharegpt_json_array_with_source_field(tmp_path):
    f = tmp_path / "dump.json"
    f.write_text(json.dumps([
        {"id": "x", "source": "real_sharegpt", "conversations": [{"from": "human", "value": "hi"}]},
        {"id": "y", "source": "real_sharegpt", "conversations": [{"from": "human", "value": "yo"},
                                                                 {"from": "gpt", "value": "hey"}]},
    ], indent=2))
    convs = list(iter_conversations(f))
    assert [(c.id, c.source, c.origin) for c in convs] == [
        ("x", "real_sharegpt", f"{f}:1"), ("y", "real_sharegpt", f"{f}:2")]


def test_wildchat_conversation_hash_as_id(tmp_path):
    f = write_jsonl(tmp_path / "wild.jsonl", [
        {"conversation_hash": "abc123", "model": "gpt-4",
         "conversation": [{"role": "system", "content": "s"}, *chat("q", "a")]},
        {"conversation_id": 42, "conversation": chat("q")},
    ])
    convs = list(iter_conversations(f))
    assert [(c.id, c.source) for c in convs] == [("abc123", "wild"), ("42", "wild")]
    assert pairs(convs[0]) == [("user", "q"), ("assistant", "a")]


def test_openai_content_parts_joined(tmp_path):
    f = write_jsonl(tmp_path / "parts.jsonl", [{"id": "p", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "look at"},
                                     {"type": "image_url", "image_url": {"url": "http://x"}},
                                     {"type": "text", "text": "this"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "t"}]},
        {"role": "tool", "content": "result"},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}]}])
    (conv,) = iter_conversations(f)
    assert pairs(conv) == [("user", "look at\nthis"), ("assistant", "ok")]


def test_normalization_merges_and_drops_leading_assistant(tmp_path):
    f = write_jsonl(tmp_path / "n.jsonl", [{"id": "n", "messages": [
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "part one"},
        {"role": "user", "content": "part two"},
        {"role": "assistant", "content": "   "},  # empty reply: no behaviour, dropped
        {"role": "user", "content": "part three"},
        {"role": "assistant", "content": "answer"}]}])
    (conv,) = iter_conversations(f)
    assert conv.messages == (Message("user", "part one\n\npart two\n\npart three"),
                             Message("assistant", "answer"))
    assert conv.n_user_turns == 1


def test_file_stem():
    assert [file_stem(n) for n in ("a.jsonl", "b.json", "c.jsonl.gz", "d.JSON.GZ", "e.txt")] == [
        "a", "b", "c", "d", "e"]
    assert file_stem("train-00003-of-00014.parquet") == "train"
    assert file_stem("sim_b-00000-of-00002.jsonl.gz") == "sim_b"
    assert file_stem("run-00001.jsonl") == "run-00001"  # not a hub shard name


# ----------------------------------------------------------------------------- folders

def test_folder_mixing_formats(tmp_path):
    write_jsonl(tmp_path / "real.jsonl", [{"id": i, "messages": chat(f"r{i}")} for i in range(3)])
    write_jsonl(tmp_path / "nested" / "sim_sg.jsonl",
                [{"id": i, "conversations": [{"from": "human", "value": f"s{i}"}]} for i in range(2)])
    (tmp_path / "sim_wild.json").write_text(json.dumps(
        [{"conversation_hash": f"h{i}", "conversation": chat(f"w{i}")} for i in range(4)]))
    (tmp_path / "notes.txt").write_text("not data")
    write_jsonl(tmp_path / ".hidden" / "sim_x.jsonl", [{"messages": chat("x")}])
    ds = load_dataset(tmp_path)
    assert ds.real_sources == ["real"]
    assert ds.simulators == ["sim_sg", "sim_wild"]
    assert {k: len(v) for k, v in ds.by_source().items()} == {"real": 3, "sim_sg": 2, "sim_wild": 4}
    # The sub-folder names the task for records that do not carry one.
    assert ds.tasks == ["nested"]
    assert ds.report.records_read == 9 and ds.report.records_kept == 9
    assert ds.report.files[str(tmp_path / "sim_wild.json")].read == 4


def paper_layout(root: Path, task_dirs=("",), sims=("sim_a", "sim_b", "sim_c"), n=5):
    for task in task_dirs:
        for sim in sims:
            write_jsonl(root / task / f"{sim}.jsonl", [
                {"id": i, "real_messages": chat(f"real {task} {i}", "ok", "thanks"),
                 "simulated_messages": chat(f"{sim} {task} {i}")} for i in range(n)])


def test_paper_layout_dedups_real_by_id(tmp_path):
    paper_layout(tmp_path)
    ds = load_dataset(tmp_path)
    counts = {k: len(v) for k, v in ds.by_source().items()}
    assert counts == {"real": 5, "sim_a": 5, "sim_b": 5, "sim_c": 5}
    assert ds.real_sources == ["real"] and ds.simulators == ["sim_a", "sim_b", "sim_c"]
    assert len(ds.real()) == 5
    assert sum(len(v) for k, v in ds.by_source().items() if k != "real") == 15
    assert ds.report.real_deduplicated == 10
    assert sorted(c.id for c in ds.real()) == ["0", "1", "2", "3", "4"]
    assert ds.real()[0].n_user_turns == 2


def test_paper_layout_task_subfolders(tmp_path):
    paper_layout(tmp_path, task_dirs=("coding", "writing"), sims=("sim_a", "sim_b"), n=3)
    ds = load_dataset(tmp_path)
    assert ds.tasks == ["coding", "writing"]
    # The same id in two tasks is two different real users.
    assert sorted((c.task, c.id) for c in ds.real()) == [
        ("coding", "0"), ("coding", "1"), ("coding", "2"),
        ("writing", "0"), ("writing", "1"), ("writing", "2")]
    assert {k: len(v) for k, v in ds.by_source().items()} == {"real": 6, "sim_a": 6, "sim_b": 6}
    assert ds.report.real_deduplicated == 6


def test_paired_precomputed_facets_go_to_their_side(tmp_path):
    rec = {"id": 1, "real_messages": chat("r"), "simulated_messages": chat("s"),
           "requests_facet": "sim req", "real_requests_facet": "real req",
           "simulated_context_facet": "sim ctx"}
    write_jsonl(tmp_path / "sim_a.jsonl", [rec])
    sim, real = iter_conversations(tmp_path)
    assert (sim.source, sim.precomputed) == ("sim_a", {"requests": "sim req", "context": "sim ctx"})
    assert (real.source, real.precomputed) == ("real", {"requests": "real req"})


def test_real_override_and_pooling(tmp_path):
    write_jsonl(tmp_path / "human_logs.jsonl", [{"id": i, "messages": chat("h")} for i in range(2)])
    write_jsonl(tmp_path / "real_old.jsonl", [{"id": i, "messages": chat("o")} for i in range(2)])
    write_jsonl(tmp_path / "sim_a.jsonl", [{"id": i, "messages": chat("s")} for i in range(2)])
    default = load_dataset(tmp_path)
    assert (default.real_sources, default.simulators) == (["real_old"], ["human_logs", "sim_a"])
    override = load_dataset(tmp_path, real=["human_logs", "real_old"])
    assert (override.real_sources, override.simulators) == (["human_logs", "real_old"], ["sim_a"])
    assert sorted(c.source for c in override.real()) == ["human_logs"] * 2 + ["real_old"] * 2
    only = load_dataset(tmp_path, real=["human_logs"])
    assert (only.real_sources, only.simulators) == (["human_logs"], ["real_old", "sim_a"])


def test_real_override_unknown_name(tmp_path):
    write_jsonl(tmp_path / "sim_a.jsonl", [{"id": i, "messages": chat("s")} for i in range(2)])
    with pytest.raises(ConfigError, match="--real names source\\(s\\) not in the data: humans"):
        load_dataset(tmp_path, real=["humans"])


def test_several_paths_share_one_dataset(tmp_path):
    a = write_jsonl(tmp_path / "a" / "real.jsonl", [{"id": i, "messages": chat("r")} for i in range(2)])
    b = write_jsonl(tmp_path / "b" / "sim.jsonl", [{"id": i, "messages": chat("s")} for i in range(3)])
    ds = load_dataset([a, str(b)])
    assert (ds.real_sources, ds.simulators, len(ds.conversations)) == (["real"], ["sim"], 5)
    assert ds.tasks == []


def test_no_real_source_is_a_warning(tmp_path):
    write_jsonl(tmp_path / "sim_a.jsonl", [{"id": i, "messages": chat("s")} for i in range(2)])
    ds = load_dataset(tmp_path)
    assert ds.real_sources == [] and ds.simulators == ["sim_a"]
    assert ds.report.warnings == [
        "no real-user source: name one 'real', 'real:*' or 'real_*', or pass --real"]


def test_bad_on_error_value(tmp_path):
    write_jsonl(tmp_path / "x.jsonl", [{"messages": chat("s")}])
    with pytest.raises(ConfigError, match="on_error must be 'raise' or 'skip'"):
        load_dataset(tmp_path, on_error="ignore")


def test_missing_path(tmp_path):
    with pytest.raises(InputError) as e:
        load_dataset(tmp_path / "nope")
    assert (e.value.file, e.value.reason) == (str(tmp_path / "nope"), "not found")


def test_folder_without_data_files(tmp_path):
    (tmp_path / "readme.md").write_text("hi")
    with pytest.raises(InputError, match="no input files"):
        load_dataset(tmp_path)


# ----------------------------------------------------------------------------- encodings

def _records(n=3):
    return [{"id": i, "source": "real", "messages": chat(f"héllo {i} ✓", "ok", "more")}
            for i in range(n)]


def _plain(tmp_path) -> list:
    return [(c.id, c.source, c.messages) for c in
            iter_conversations(write_jsonl(tmp_path / "plain" / "d.jsonl", _records()))]


def test_bom_crlf_and_gzip_give_the_same_conversations(tmp_path):
    expected = _plain(tmp_path)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in _records())
    variants = {
        "bom.jsonl": b"\xef\xbb\xbf" + text.encode(),
        "crlf.jsonl": text.encode(),
        "gz.jsonl.gz": gzip.compress(text.encode()),
        "gz_named_plain.jsonl": gzip.compress(b"\xef\xbb\xbf" + text.encode()),  # magic, not name
        "bom_array.json": b"\xef\xbb\xbf" + json.dumps(_records(), indent=1).replace(
            "\n", "\r\n").encode(),
        "array.json.gz": gzip.compress(json.dumps(_records()).encode()),
    }
    for name, data in variants.items():
        f = tmp_path / name
        f.write_bytes(data)
        got = [(c.id, c.source, c.messages) for c in iter_conversations(f)]
        assert got == expected, name


def test_blank_lines_skipped_and_lines_counted(tmp_path):
    f = tmp_path / "b.jsonl"
    recs = _records(2)
    f.write_text("\n" + json.dumps(recs[0]) + "\n   \n\n" + json.dumps(recs[1]) + "\n\n")
    convs = list(iter_conversations(f))
    assert [c.origin for c in convs] == [f"{f}:2", f"{f}:5"]


def test_sharegpt_truncated_array_stops_with_warning(tmp_path):
    records = [{"id": f"sg{i}", "conversations": [{"from": "human", "value": f"question {i} é"},
                                                  {"from": "gpt", "value": "answer"}]}
               for i in range(4)]
    full = json.dumps(records, indent=2, ensure_ascii=False).encode()
    # Cut inside the last record's 'é' (a two-byte character), as a dump cut at a byte count is.
    cut = full.rindex("é".encode()) + 1
    f = tmp_path / "sharegpt.json"
    f.write_bytes(full[:cut])
    report = LoadReport()
    convs = list(iter_conversations(f, report=report))
    assert [c.id for c in convs] == ["sg0", "sg1", "sg2"]
    assert report.skipped == 0
    assert report.warnings == [f"{f}: truncated JSON array: record 4 is cut off at the end of "
                               f"the file; loaded the 3 complete records"]


def test_array_truncated_between_records(tmp_path):
    f = tmp_path / "a.json"
    f.write_text('[{"id": 1, "messages": [{"role": "user", "content": "a"}]},\n')
    report = LoadReport()
    assert [c.id for c in iter_conversations(f, report=report)] == ["1"]
    assert report.warnings == [f"{f}: truncated JSON array: no closing ']'; "
                               f"loaded the 1 complete records"]


def test_array_larger_than_a_read_chunk(tmp_path):
    # Records straddle the 1 MiB read boundary, one of them larger than a chunk.
    records = [{"id": i, "messages": chat("x" * (300_000 if i != 5 else 1_500_000))}
               for i in range(10)]
    f = tmp_path / "big.json"
    f.write_text(json.dumps(records))
    convs = list(iter_conversations(f, max_turn_chars=2_000_000))
    assert [len(c.user_turns[0]) for c in convs] == [300_000] * 5 + [1_500_000] + [300_000] * 4


def test_single_pretty_printed_object_json(tmp_path):
    f = tmp_path / "one.json"
    f.write_text(json.dumps({"id": "o", "messages": chat("hi")}, indent=2))
    assert [(c.id, c.origin) for c in iter_conversations(f)] == [("o", f"{f}:1")]


def test_iter_conversations_streams(tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text(json.dumps({"id": 1, "messages": chat("a")}) + "\n{broken\n")
    it = iter_conversations(f)
    assert next(it).id == "1"  # yielded before the bad line is read
    with pytest.raises(InputError):
        next(it)


# ----------------------------------------------------------------------------- dataset helpers

def test_fingerprint_ignores_order_and_sees_content(tmp_path):
    recs = [{"id": i, "source": "real" if i < 2 else "sim", "messages": chat(f"m{i}")}
            for i in range(4)]
    a = load_dataset(write_jsonl(tmp_path / "a.jsonl", recs))
    b = load_dataset(write_jsonl(tmp_path / "b.jsonl", recs[::-1]))
    recs[3]["messages"] = chat("changed")
    c = load_dataset(write_jsonl(tmp_path / "c.jsonl", recs))
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint
    assert len(a.fingerprint) == 16


def test_dataset_helpers_direct():
    from measure.conversation import Conversation
    convs = [Conversation("1", "sim_b", (Message("user", "x"),), task="w"),
             Conversation("2", "real", (Message("user", "y"),), task="c"),
             Conversation("3", "sim_b", (Message("user", "z"),))]
    ds = Dataset(convs, ["real"], ["sim_b"], LoadReport())
    assert list(ds.by_source()) == ["real", "sim_b"]
    assert [c.id for c in ds.by_source()["sim_b"]] == ["1", "3"]
    assert [c.id for c in ds.real()] == ["2"]
    assert ds.tasks == ["c", "w"]


# ----------------------------------------------------------------------------- summary

def test_summary_numbers(tmp_path):
    write_jsonl(tmp_path / "coding" / "real.jsonl", [
        {"id": 1, "messages": chat("abcd", "ok", "ef")},               # 2 turns, 4 + 2 chars
        {"id": 2, "messages": chat("abcdefgh")},                      # 1 turn, 8 chars
        {"id": 3, "messages": chat("a", "b", "c", "d", "e", "f", "g")},  # 4 turns, 1 char each
    ])
    write_jsonl(tmp_path / "writing" / "real.jsonl", [{"id": 1, "messages": chat("xyz")}])
    write_jsonl(tmp_path / "coding" / "sim_a.jsonl", [{"id": i, "messages": chat("12")}
                                                      for i in range(2)])
    (tmp_path / "coding" / "sim_a2.jsonl").write_text(
        json.dumps({"id": 9, "messages": chat("q")}) + "\n{bad json\n")
    ds = load_dataset(tmp_path, on_error="skip")
    s = summarize(ds)
    assert [x.name for x in s.sources] == ["real", "sim_a"]
    real, sim = s.sources
    assert (real.is_real, real.n_conversations, real.tasks, real.n_without_task) == (
        True, 4, {"coding": 3, "writing": 1}, 0)
    assert (real.turns_mean, real.turns_median, real.turns_min, real.turns_max) == (2.0, 1.5, 1, 4)
    assert real.mean_user_chars == pytest.approx((4 + 2 + 8 + 4 * 1 + 3) / 8)
    assert (sim.is_real, sim.n_conversations, sim.turns_mean, sim.mean_user_chars) == (
        False, 2, 1.0, 2.0)
    assert (s.n_conversations, s.n_files, s.records_read, s.records_kept, s.skipped) == (
        6, 4, 8, 7, 1)
    assert s.skip_reasons == {"invalid JSON": 1}
    assert s.tasks == ["coding", "writing"]
    assert s.problems == [
        "1 record(s) skipped: invalid JSON (1)",
        f"{tmp_path / 'coding' / 'sim_a2.jsonl'}: too few conversations: source 'sim_a2' has 1, "
        f"the minimum is 2; source dropped",
        "simulator 'sim_a' has no conversations for task(s) writing that real users have",
    ]
    assert s.examples == [f"{tmp_path / 'coding' / 'sim_a2.jsonl'}:2: invalid JSON: "
                          f"Expecting property name enclosed in double quotes at column 2"]

    console = Console(record=True, width=200)
    render_summary(s, console)
    out = console.export_text()
    assert "real" in out and "sim_a" in out and "coding (3), writing (1)" in out
    assert "2.00 / 1.5 / 1-4" in out
    assert "6 conversations from 4 file(s), 7 of 8 records kept" in out
    assert "simulator 'sim_a' has no conversations for task(s) writing" in out
    assert "sim_a2.jsonl:2: invalid JSON" in out


def test_summary_clean_dataset_says_no_problems(tmp_path):
    write_jsonl(tmp_path / "real.jsonl", [{"id": i, "messages": chat("r")} for i in range(2)])
    write_jsonl(tmp_path / "sim.jsonl", [{"id": i, "messages": chat("s")} for i in range(2)])
    s = summarize(load_dataset(tmp_path))
    assert s.problems == []
    console = Console(record=True, width=200)
    render_summary(s, console)
    assert "No problems found." in console.export_text()


def test_one_line_json_array_and_gc_state_restored(tmp_path):
    import gc
    f = tmp_path / "one_line.json"
    f.write_text(" \n" * 40_000 + json.dumps([{"id": i, "messages": chat("q")} for i in range(3)]))
    assert gc.isenabled()
    ds = load_dataset(f, real=["one_line"])
    assert [c.id for c in ds.conversations] == ["0", "1", "2"]
    assert gc.isenabled()
    g = tmp_path / "bad.jsonl"
    g.write_text("{oops\n")
    with pytest.raises(InputError):
        load_dataset(g)
    assert gc.isenabled()


# ----------------------------------------------------------------------------- parquet

def write_parquet(path: Path, records: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


def wildchat_row(h: str, *texts: str, lang: str = "English") -> dict:
    # The hub's WildChat rows carry per-message extras (language, timestamps...).
    return {"conversation_hash": h, "model": "gpt-4", "turn": (len(texts) + 1) // 2,
            "language": lang,
            "conversation": [{"role": m["role"], "content": m["content"], "language": lang,
                              "toxic": False} for m in chat(*texts)]}


def test_parquet_shards_pool_into_one_source(tmp_path):
    # Hugging Face layout: one split in numbered shards.
    write_parquet(tmp_path / "real-00000-of-00002.parquet",
                  [wildchat_row("h1", "write a poem", "ok..."), wildchat_row("h2", "hi", "hello")])
    write_parquet(tmp_path / "real-00001-of-00002.parquet",
                  [wildchat_row("h3", "continue", "...", "thanks")])
    write_jsonl(tmp_path / "sim_a.jsonl", [{"messages": chat("hello", "hi")},
                                          {"messages": chat("help me", "sure")}])
    ds = load_dataset(tmp_path)
    assert ds.real_sources == ["real"] and ds.simulators == ["sim_a"]
    real = ds.by_source()["real"]
    assert sorted(c.id for c in real) == ["h1", "h2", "h3"]
    h3 = next(c for c in real if c.id == "h3")
    assert pairs(h3) == [("user", "continue"), ("assistant", "..."), ("user", "thanks")]
    assert h3.origin.endswith("real-00001-of-00002.parquet:1")


def test_parquet_bad_row_names_file_row_and_field(tmp_path):
    f = write_parquet(tmp_path / "real.parquet",
                      [wildchat_row("h1", "fine", "ok"), wildchat_row("h2", "   ", "ok")])
    with pytest.raises(InputError) as e:
        list(iter_conversations(f))
    assert (e.value.file, e.value.line) == (str(f), 2)
    assert e.value.field == "conversation[0].content" and "empty user turn" in str(e.value)
    report = LoadReport()
    kept = list(iter_conversations(f, on_error="skip", report=report))
    assert [c.id for c in kept] == ["h1"] and report.skipped == 1


def test_corrupt_parquet_is_a_file_error(tmp_path):
    f = tmp_path / "real.parquet"
    f.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError) as e:
        list(iter_conversations(f))
    assert e.value.file == str(f) and "unreadable Parquet file" in str(e.value)


def test_all_sources_too_small_says_which(tmp_path):
    f = write_jsonl(tmp_path / "sim_x.jsonl", [{"messages": chat("hello", "hi")}])
    with pytest.raises(InputError) as e:
        load_dataset(f, on_error="skip")
    assert "fewer than 2 conversations: 'sim_x' (1)" in str(e.value)


def test_gemini_and_llama_role_names(tmp_path):
    f = write_jsonl(tmp_path / "sim_g.jsonl", [{"messages": [
        {"role": "human", "content": "run it"}, {"role": "model", "content": "calling"},
        {"role": "ipython", "content": "tool output"}, {"role": "model", "content": "done"},
        {"role": "user", "content": "thanks"}]}])
    (conv,) = iter_conversations(f)
    # The tool turn is dropped and the two model turns around it merge.
    assert pairs(conv) == [("user", "run it"), ("assistant", "calling\n\ndone"), ("user", "thanks")]


# ----------------------------------------------------------------------------- sampling

def test_max_per_source_is_a_uniform_order_free_sample(tmp_path):
    import random
    # 4,000 conversations, 30% of them marked; the sample must keep the share.
    recs = [{"id": f"c{i}", "metadata": {"marked": i % 10 < 3}, "messages": chat(f"turn {i}", "ok")}
            for i in range(4000)]
    write_jsonl(tmp_path / "a" / "real.jsonl", recs)
    shuffled = recs[:]
    random.Random(7).shuffle(shuffled)
    write_jsonl(tmp_path / "b" / "real.jsonl", shuffled)
    small = [{"id": f"s{i}", "messages": chat("hi", "hello")} for i in range(50)]
    write_jsonl(tmp_path / "a" / "sim_x.jsonl", small)
    ds = load_dataset(tmp_path / "a", max_per_source=800)
    kept = ds.by_source()["real"]
    assert len(kept) == 800 and len(ds.by_source()["sim_x"]) == 50   # small sources stay whole
    assert abs(sum(c.metadata["marked"] for c in kept) / 800 - 0.3) < 0.05
    # reading order is kept, and record order in the file does not change the sample
    assert [int(c.id[1:]) for c in kept] == sorted(int(c.id[1:]) for c in kept)
    other = load_dataset(tmp_path / "b", max_per_source=800).by_source()["real"]
    assert {c.id for c in other} == {c.id for c in kept}
    assert ds.report.sampled_from == {"real": 4000}
    assert any("random sample of 800" in w and "real (4,000)" in w for w in ds.report.warnings)


def test_max_per_source_keeps_paired_ids_matched(tmp_path):
    recs = [{"id": f"g{i}", "real_messages": chat(f"real {i}", "ok"),
             "simulated_messages": chat(f"sim {i}", "ok")} for i in range(300)]
    write_jsonl(tmp_path / "sim_a.jsonl", recs)
    write_jsonl(tmp_path / "sim_b.jsonl", recs[::-1])
    groups = load_dataset(tmp_path, max_per_source=40).by_source()
    ids = {name: {c.id for c in convs} for name, convs in groups.items()}
    assert len(ids["real"]) == 40 and ids["real"] == ids["sim_a"] == ids["sim_b"]


def test_max_per_source_checks_ids_among_the_sample_with_memory_of_the_sample(tmp_path, monkeypatch):
    from measure import loaders

    readers = []

    class Spy(loaders._Reader):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            readers.append(self)

    monkeypatch.setattr(loaders, "_Reader", Spy)
    recs = [{"id": f"c{i}", "messages": chat(f"turn {i}", "ok")} for i in range(5000)]
    write_jsonl(tmp_path / "real.jsonl", recs)
    write_jsonl(tmp_path / "sim_x.jsonl", recs[:20])
    kept = load_dataset(tmp_path, max_per_source=50).by_source()["real"]
    # ids are remembered for the conversations the sample took in, not all 5,000
    # (about k (1 + ln(N / k)) of them for a random order)
    assert len(kept) == 50 and len([k for k in readers[-1].seen if k[0] == "real"]) < 600
    # a repeat of a kept conversation's id is still found, with both places
    repeat = next(r for r in recs if r["id"] == kept[0].id)
    write_jsonl(tmp_path / "real.jsonl", recs + [repeat])
    with pytest.raises(InputError, match=rf"duplicate id: '?{kept[0].id}'? is already used") as err:
        load_dataset(tmp_path, max_per_source=50)
    assert err.value.line == 5001
    # a repeat of an id the sample turned away cannot reach the data: no error
    away = next(r for r in recs if r["id"] not in {c.id for c in kept})
    write_jsonl(tmp_path / "real.jsonl", recs + [away])
    assert {c.id for c in load_dataset(tmp_path, max_per_source=50).by_source()["real"]} == \
        {c.id for c in kept}


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_max_per_source_must_be_positive(tmp_path, bad):
    f = write_jsonl(tmp_path / "real.jsonl", [{"messages": chat("hi", "ok")}] * 2)
    with pytest.raises(ConfigError, match="--max-per-source must be a positive integer"):
        load_dataset(f, max_per_source=bad)


# ----------------------------------------------------------------------------- empty turns

def test_drop_empty_turns_keeps_the_conversation(tmp_path):
    f = write_jsonl(tmp_path / "real.jsonl", [
        {"id": "a", "messages": chat("write a poem", "roses...", "  ", "violets...", "thanks")},
        {"id": "b", "messages": chat("", "hello?")},  # nothing left of the user: still an error
        {"id": "c", "messages": chat("hi", "hello")}])
    with pytest.raises(InputError, match="empty user turn.*--drop-empty-turns"):
        list(iter_conversations(f))
    report = LoadReport()
    kept = list(iter_conversations(f, on_error="skip", report=report, drop_empty_turns=True))
    a = next(c for c in kept if c.id == "a")
    # The assistant turns around the dropped one merge, as in normalization.
    assert pairs(a) == [("user", "write a poem"), ("assistant", "roses...\n\nviolets..."),
                        ("user", "thanks")]
    assert [c.id for c in kept] == ["a", "c"]
    # Only kept conversations count their dropped turns; "b" is a skipped record.
    assert report.empty_turns_dropped == 1 and report.reasons == {"no user turn": 1}


def test_dropped_real_turns_count_once_in_the_paired_layout(tmp_path):
    rec = {"id": "g1", "real_messages": chat("fix this", "done", " ", "ok", "thanks"),
           "simulated_messages": chat("fix it", "done")}
    write_jsonl(tmp_path / "sim_a.jsonl", [rec, {**rec, "id": "g2"}])
    write_jsonl(tmp_path / "sim_b.jsonl", [rec, {**rec, "id": "g2"}])
    ds = load_dataset(tmp_path, drop_empty_turns=True)
    assert len(ds.by_source()["real"]) == 2
    assert ds.report.empty_turns_dropped == 2   # g1 and g2 once each, not once per simulator file
    assert any("dropped 2 empty user turn(s)" in w for w in ds.report.warnings)


def test_chatbot_arena_reads_the_users_side(tmp_path):
    # lmsys/chatbot_arena_conversations: both sides share the user's turns.
    f = write_jsonl(tmp_path / "real_arena.jsonl", [
        {"question_id": "q1", "model_a": "m1", "model_b": "m2", "winner": "model_a", "turn": 2,
         "conversation_a": chat("name a color", "blue", "another", "red"),
         "conversation_b": chat("name a color", "green", "another", "pink"), "language": "English"}])
    (conv,) = iter_conversations(f)
    assert conv.id == "q1" and conv.source == "real_arena"
    assert [m.content for m in conv.messages if m.role == "user"] == ["name a color", "another"]


def test_summary_flags_a_language_gap_between_real_users_and_simulators(tmp_path):
    zh = ["请帮我写一个函数，计算两个日期之间的天数", "谢谢！能不能加上注释？", "帮我把这段话翻译成英文"]
    write_jsonl(tmp_path / "real.jsonl",
                [{"messages": chat(zh[i % 3], "好的……")} for i in range(6)]
                + [{"messages": chat("please fix this function", "done")} for _ in range(2)])
    write_jsonl(tmp_path / "sim_en.jsonl", [{"messages": chat("write a poem about rain", "ok")}] * 4)
    summary = summarize(load_dataset(tmp_path))
    share = {s.name: s.non_english_share for s in summary.sources}
    assert share == {"real": 0.75, "sim_en": 0.0}
    assert any("real users write 75% of conversations mostly in languages other than English, "
               "against sim_en 0%" in p for p in summary.problems)
    out = StringIO()
    render_summary(summary, Console(file=out, width=200))
    assert "non-English" in out.getvalue() and "75%" in out.getvalue()
