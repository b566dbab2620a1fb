"""A corpus of malformed inputs: each must fail with a located, one-line error,
and under on_error="skip" be counted by reason while the rest still loads."""
from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass

import pytest

from measure.errors import InputError
from measure.loaders import load_dataset


def chat(*texts: str) -> list[dict]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]


def rec(rid, messages=None, **extra) -> dict:
    return {"id": rid, "messages": chat(f"hello {rid}", "hi") if messages is None else messages,
            **extra}


def jsonl(*items) -> bytes:
    """One line per item: dicts and lists are dumped, str and bytes go in as written."""
    out = []
    for item in items:
        if isinstance(item, bytes):
            out.append(item)
        elif isinstance(item, str):
            out.append(item.encode())
        else:
            out.append(json.dumps(item).encode())
    return b"\n".join(out) + b"\n"


G1, G2, G3 = rec("g1"), rec("g2"), rec("g3")


def paired(rid, real_text: str, sim_text: str) -> dict:
    return {"id": rid, "real_messages": chat(real_text, "ok"), "simulated_messages": chat(sim_text)}


@dataclass
class Case:
    name: str
    files: dict[str, bytes]
    file: str | None          # file the error names, relative to the data folder
    line: int | None
    field: str | None
    phrase: str               # must appear in the message; "{root}" is the data folder
    reason: str               # InputError.reason, the skip-count key
    kept: int                 # conversations loaded under skip
    skipped: int = 1
    warning: bool = False     # under skip this is a warning, not a skipped record


def bad_line(record_or_text, name="sim_a.jsonl", line=3) -> dict[str, bytes]:
    """A file with two good records and the bad one on `line` (1..3)."""
    items = [G1, G2]
    items.insert(line - 1, record_or_text)
    return {name: jsonl(*items)}


CASES = [
    # --- JSON-level problems
    Case("truncated_json", {"sim_a.jsonl": jsonl(G1, G2) + b'{"id": "g3", "messages": [{"role": "us'},
         "sim_a.jsonl", 3, None, "invalid JSON: Unterminated string starting at column 36",
         "invalid JSON", 2),
    Case("garbage_line", bad_line("this is not json", line=2),
         "sim_a.jsonl", 2, None, "invalid JSON: Expecting value at column 1", "invalid JSON", 2),
    Case("non_object_array", bad_line("[1, 2]"),
         "sim_a.jsonl", 3, None, "each record must be a JSON object, got array", "not an object", 2),
    Case("non_object_string", bad_line('"hello"', line=1),
         "sim_a.jsonl", 1, None, "got string", "not an object", 2),
    Case("non_utf8", bad_line(b'{"id": "g3", "messages": [{"role": "user", "content": "caf\xe9"}]}',
                              line=2),
         "sim_a.jsonl", 2, None, "byte 0xe9 at byte 59 of the line is not valid UTF-8",
         "not UTF-8", 2),
    Case("non_utf8_pretty_printed_object",
         {"sim_a.jsonl": jsonl(G1, G2),
          "sim_b.json": b'{\n  "id": "x",\n  "messages": [{"role": "user", "content": "\xff"}]\n}'},
         "sim_b.json", 3, None, "byte 0xff at byte 45 of the line", "not UTF-8", 2),
    Case("truncated_gzip", {"sim_a.jsonl.gz": gzip.compress(jsonl(G1, G2, G3))[:-8]},
         "sim_a.jsonl.gz", None, None, "Compressed file ended", "unreadable file", 3),
    # --- missing or mistyped fields
    Case("missing_messages", bad_line({"id": "x", "text": "hi"}),
         "sim_a.jsonl", 3, "messages", "no messages (expected 'messages', 'conversations'",
         "missing field", 2),
    Case("null_messages", bad_line({"id": "x", "messages": None}),
         "sim_a.jsonl", 3, "messages", "'messages' must be a list of messages, got null",
         "wrong type", 2),
    Case("messages_string", bad_line({"id": "x", "messages": "hi there"}),
         "sim_a.jsonl", 3, "messages", "got string", "wrong type", 2),
    Case("messages_object", bad_line({"id": "x", "messages": {"role": "user", "content": "hi"}}),
         "sim_a.jsonl", 3, "messages", "got object", "wrong type", 2),
    Case("message_not_object", bad_line(rec("x", ["hi"])),
         "sim_a.jsonl", 3, "messages[0]", "each message must be an object, got string",
         "wrong type", 2),
    Case("content_number", bad_line(rec("x", [{"role": "user", "content": 42}])),
         "sim_a.jsonl", 3, "messages[0].content",
         "content must be a string or a list of text parts, got number", "wrong type", 2),
    Case("content_null_user", bad_line(rec("x", chat("a", "b") + [{"role": "user", "content": None}])),
         "sim_a.jsonl", 3, "messages[2].content", "got null", "wrong type", 2),
    Case("content_missing", bad_line(rec("x", [{"role": "user"}])),
         "sim_a.jsonl", 3, "messages[0].content", "message has no 'content'", "missing field", 2),
    Case("content_part_not_text", bad_line(rec("x", [{"role": "user",
                                                      "content": [{"type": "text", "text": 5}]}])),
         "sim_a.jsonl", 3, "messages[0].content[0].text", "'text' must be a string, got number",
         "wrong type", 2),
    Case("role_number", bad_line(rec("x", [{"role": 1, "content": "hi"}])),
         "sim_a.jsonl", 3, "messages[0].role", "'role' must be a string, got number",
         "wrong type", 2),
    Case("role_null", bad_line(rec("x", [{"role": None, "content": "hi"}])),
         "sim_a.jsonl", 3, "messages[0].role", "got null", "wrong type", 2),
    Case("role_missing", bad_line(rec("x", [{"content": "hi"}])),
         "sim_a.jsonl", 3, "messages[0].role", "message has no 'role'", "missing field", 2),
    Case("id_object", bad_line(rec({"n": 1})),
         "sim_a.jsonl", 3, "id", "'id' must be a string or an integer, got object", "wrong type", 2),
    Case("metadata_list", bad_line(rec("x", metadata=["a"])),
         "sim_a.jsonl", 3, "metadata", "'metadata' must be an object, got array", "wrong type", 2),
    Case("task_number", bad_line(rec("x", task=3)),
         "sim_a.jsonl", 3, "task", "'task' must be a string, got number", "wrong type", 2),
    Case("source_number", bad_line(rec("x", source=5)),
         "sim_a.jsonl", 3, "source", "'source' must be a non-empty string", "wrong type", 2),
    Case("precomputed_number", bad_line(rec("x", requests_facet=3)),
         "sim_a.jsonl", 3, "requests_facet", "'requests_facet' must be a string", "wrong type", 2),
    # --- roles and turns
    Case("unknown_role", bad_line(rec("x", chat("a", "b") + [{"role": "narrator", "content": "c"}])),
         "sim_a.jsonl", 3, "messages[2].role",
         "unknown role: 'narrator' (expected user, assistant, system", "unknown role", 2),
    Case("empty_user_turn", bad_line(rec("x", chat("hi", "ok", ""))),
         "sim_a.jsonl", 3, "messages[2].content", "the text is empty or only whitespace",
         "empty user turn", 2),
    Case("whitespace_user_turn", bad_line(rec("x", chat(" \n\t "))),
         "sim_a.jsonl", 3, "messages[0].content", "empty or only whitespace", "empty user turn", 2),
    Case("no_user_turn", bad_line(rec("x", [{"role": "system", "content": "s"},
                                            {"role": "assistant", "content": "hello"}])),
         "sim_a.jsonl", 3, "messages", "'messages' has no user message", "no user turn", 2),
    Case("empty_messages", bad_line(rec("x", [])),
         "sim_a.jsonl", 3, "messages", "has no user message", "no user turn", 2),
    Case("huge_user_turn", bad_line(rec("x", chat("x" * 5_000_000))),
         "sim_a.jsonl", 3, "messages[0].content",
         "5,000,000 characters, the cap is 1,000,000", "user turn too large", 2),
    # --- ids and sources
    Case("duplicate_id", bad_line(rec("g1")),
         "sim_a.jsonl", 3, "id", "'g1' is already used in source 'sim_a' at {root}/sim_a.jsonl:1",
         "duplicate id", 2),
    Case("duplicate_numeric_id", {"sim_a.jsonl": jsonl(rec(7), rec("7"), G1)},
         "sim_a.jsonl", 2, "id", "'7' is already used in source 'sim_a' at {root}/sim_a.jsonl:1",
         "duplicate id", 2),
    Case("empty_file", {"sim_a.jsonl": jsonl(G1, G2), "sim_b.jsonl": b""},
         "sim_b.jsonl", None, None, "empty file: no records found", "empty file", 2,
         skipped=0, warning=True),
    Case("blank_lines_only", {"sim_a.jsonl": jsonl(G1, G2), "sim_b.jsonl": b"\n\r\n   \n"},
         "sim_b.jsonl", None, None, "no records found", "empty file", 2, skipped=0, warning=True),
    Case("single_conversation_simulator", {"sim_a.jsonl": jsonl(G1, G2), "sim_b.jsonl": jsonl(G1)},
         "sim_b.jsonl", None, None, "source 'sim_b' has 1, the minimum is 2",
         "too few conversations", 2, skipped=0, warning=True),
    # --- paired layout
    Case("paired_mismatched_real",
         {"sim_a.jsonl": jsonl(*(paired(i, f"real {i}", "a") for i in range(3))),
          "sim_b.jsonl": jsonl(paired(0, "real 0", "b"), paired(1, "someone else", "b"),
                               paired(2, "real 2", "b"))},
         "sim_b.jsonl", 2, "real_messages",
         "id '1' has different real_messages at {root}/sim_a.jsonl:2",
         "mismatched ids in the paired layout", 8),
    Case("paired_missing_side",
         bad_line({"id": 9, "real_messages": chat("r")}),
         "sim_a.jsonl", 3, "simulated_messages", "paired record has no 'simulated_messages'",
         "missing field", 2),
    Case("paired_without_id",
         bad_line({"real_messages": chat("r"), "simulated_messages": chat("s")}),
         "sim_a.jsonl", 3, "id", "paired records need an 'id'", "missing field", 2),
    Case("paired_real_not_list",
         bad_line({"id": 9, "real_messages": "r", "simulated_messages": chat("s")}),
         "sim_a.jsonl", 3, "real_messages", "'real_messages' must be a list", "wrong type", 2),
    # --- ShareGPT and WildChat
    Case("sharegpt_missing_from",
         bad_line({"id": "s", "conversations": [{"from": "human", "value": "q"}, {"value": "a"}]}),
         "sim_a.jsonl", 3, "conversations[1].from", "message has no 'from'", "missing field", 2),
    Case("sharegpt_unknown_from",
         bad_line({"id": "s", "conversations": [{"from": "robot", "value": "q"}]}),
         "sim_a.jsonl", 3, "conversations[0].from", "unknown role: 'robot' (expected human, user, gpt",
         "unknown role", 2),
    Case("sharegpt_value_number",
         bad_line({"id": "s", "conversations": [{"from": "human", "value": 3.5}]}),
         "sim_a.jsonl", 3, "conversations[0].value", "got number", "wrong type", 2),
    Case("wildchat_conversation_string",
         bad_line({"conversation_hash": "h", "conversation": "hi"}),
         "sim_a.jsonl", 3, "conversation", "'conversation' must be a list of messages, got string",
         "wrong type", 2),
    # --- JSON arrays: the line is the record number
    Case("array_non_object", {"sim_a.json": json.dumps([G1, 5, G2]).encode()},
         "sim_a.json", 2, None, "got number (record 2 of the JSON array)", "not an object", 2),
    Case("array_unknown_role",
         {"sim_a.json": json.dumps([G1, G2, rec("x", [{"role": "narrator", "content": "c"}])]).encode()},
         "sim_a.json", 3, "messages[0].role", "'narrator'", "unknown role", 2),
    Case("array_malformed_record",
         {"sim_a.json": b'[' + json.dumps(G1).encode() + b", " + json.dumps(G2).encode()
          + b', {"id": oops}, ' + json.dumps(G3).encode() + b"]"},
         "sim_a.json", 3, None, "Expecting value (record 3 of the JSON array)", "invalid JSON", 2),
    Case("array_non_utf8",
         {"sim_a.json": b"[" + json.dumps(G1).encode() + b", " + json.dumps(G2).encode()
          + b', {"id": "x", "messages": [{"role": "user", "content": "\xff"}]}]'},
         "sim_a.json", 3, None, "invalid byte 0xff in record 3 of the JSON array", "not UTF-8", 2),
]


def write(tmp_path, files: dict[str, bytes]):
    root = tmp_path / "data"
    root.mkdir()
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_raises_located_error(tmp_path, case):
    root = write(tmp_path, case.files)
    with pytest.raises(InputError) as info:
        load_dataset(root)
    err = info.value
    assert err.file == (str(root / case.file) if case.file else None)
    assert (err.line, err.field, err.reason) == (case.line, case.field, case.reason)
    assert case.phrase.format(root=root) in err.message
    assert "\n" not in str(err)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_skipped_and_counted(tmp_path, case):
    root = write(tmp_path, case.files)
    with pytest.raises(InputError) as info:
        load_dataset(root)
    ds = load_dataset(root, on_error="skip")
    report = ds.report
    assert len(ds.conversations) == case.kept
    assert report.skipped == case.skipped
    if case.warning:
        assert report.reasons == Counter()
        assert [w for w in report.warnings if w.startswith(str(info.value))] != []
    else:
        assert report.reasons == Counter({case.reason: case.skipped})
        assert report.examples == [str(info.value)]
        assert report.records_kept == report.records_read - (0 if case.line is None else 1)


def test_min_size_under_skip_drops_the_source(tmp_path):
    root = write(tmp_path, {"sim_a.jsonl": jsonl(G1, G2), "sim_b.jsonl": jsonl(G1)})
    ds = load_dataset(root, on_error="skip")
    assert ds.simulators == ["sim_a"]
    assert ds.report.dropped_sources == {"sim_b": 1}
    assert ds.report.warnings[0] == (f"{root / 'sim_b.jsonl'}: too few conversations: source "
                                     f"'sim_b' has 1, the minimum is 2; source dropped")


def test_max_turn_chars_is_configurable(tmp_path):
    root = write(tmp_path, {"sim_a.jsonl": jsonl(rec("a", chat("x" * 50)), rec("b", chat("y" * 10)))})
    assert len(load_dataset(root, max_turn_chars=50).conversations) == 2
    with pytest.raises(InputError, match="50 characters, the cap is 49") as info:
        load_dataset(root, max_turn_chars=49)
    assert (info.value.line, info.value.field) == (1, "messages[0].content")


def test_skip_examples_are_capped_at_20(tmp_path):
    root = write(tmp_path, {"sim_a.jsonl": jsonl(G1, G2, *(["{bad"] * 25))})
    report = load_dataset(root, on_error="skip").report
    assert report.skipped == 25 and report.reasons == Counter({"invalid JSON": 25})
    assert len(report.examples) == 20
    assert report.files[str(root / "sim_a.jsonl")].skipped == 25


def test_everything_skipped_is_an_error(tmp_path):
    root = write(tmp_path, {"sim_a.jsonl": jsonl("{bad", "[1]")})
    with pytest.raises(InputError, match=r"no conversations loaded .*2 record\(s\) skipped: "
                                         r"invalid JSON \(1\), not an object \(1\)"):
        load_dataset(root, on_error="skip")


# Awkward but valid encodings: each loads exactly what the plain file loads.
TEXT = jsonl(G1, rec("g2", chat("naïve ✓ café", "ok", "more")), G3)
FINE = {
    "bom": {"sim_a.jsonl": b"\xef\xbb\xbf" + TEXT},
    "crlf": {"sim_a.jsonl": TEXT.replace(b"\n", b"\r\n")},
    "bom_crlf_blank_lines": {"sim_a.jsonl": b"\xef\xbb\xbf\r\n" + TEXT.replace(b"\n", b"\r\n\r\n")},
    "gzip_extension": {"sim_a.jsonl.gz": gzip.compress(TEXT)},
    "gzip_by_magic_only": {"sim_a.jsonl": gzip.compress(TEXT)},
    "gzip_bom_json_array": {"sim_a.json.gz": gzip.compress(
        b"\xef\xbb\xbf" + json.dumps([G1, rec("g2", chat("naïve ✓ café", "ok", "more")), G3],
                                     indent=2, ensure_ascii=False).encode())},
    "jsonl_named_json": {"sim_a.json": TEXT},
}


@pytest.mark.parametrize("name", list(FINE))
def test_awkward_encodings_load(tmp_path, name):
    (tmp_path / "plain").mkdir()
    plain = load_dataset(write(tmp_path / "plain", {"sim_a.jsonl": TEXT}))
    ds = load_dataset(write(tmp_path, FINE[name]))
    assert [(c.id, c.source, c.messages) for c in ds.conversations] == [
        (c.id, c.source, c.messages) for c in plain.conversations]
    assert ds.conversations[1].user_turns == ["naïve ✓ café", "more"]
    assert (ds.report.skipped, ds.report.warnings) == (0, ["no real-user source: name one 'real', "
                                                          "'real:*' or 'real_*', or pass --real"])
