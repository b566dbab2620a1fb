"""Hugging Face inputs, offline: `hf:` ids resolved from a local hub cache,
`save_to_disk` folders and `datasets` objects read the same conversations
as a JSONL export of the same rows."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

datasets = pytest.importorskip("datasets")

from measure.errors import ConfigError, InputError  # noqa: E402
from measure.hub import HubId, parse_hub_id  # noqa: E402
from measure.loaders import load_dataset  # noqa: E402

REV_1 = "1111111111111111111111111111111111111111"
REV_2 = "2222222222222222222222222222222222222222"
LANGS = ["English", "English", "English", "French", "Chinese"]


def _user_texts(rng: random.Random, i: int) -> list[str]:
    return [f"request {i}.{t}: " + " ".join(rng.choice(["fix", "this", "code", "please", "why"])
                                           for _ in range(rng.randint(2, 6)))
            for t in range(rng.randint(1, 4))]


def wildchat_rows(n: int, seed: int = 1) -> list[dict]:
    """WildChat-1M's fields: conversation with role/content (and per-turn
    extras), language, toxic, redacted, turn."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        users = _user_texts(rng, i)
        conv = []
        for t, text in enumerate(users):
            conv.append({"role": "user", "content": text, "language": LANGS[i % 5], "turn_identifier": t})
            conv.append({"role": "assistant", "content": f"answer {i}.{t}", "language": "English",
                         "turn_identifier": t})
        rows.append({"conversation_hash": f"{i:032x}", "model": "gpt-4-0314", "conversation": conv,
                     "turn": len(users), "language": LANGS[i % 5], "toxic": i % 7 == 0,
                     "redacted": i % 11 == 0})
    return rows


def lmsys_rows(n: int, seed: int = 2) -> list[dict]:
    """LMSYS-Chat-1M's fields: conversation_id, model, conversation
    (content/role), turn, language, openai_moderation, redacted."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        users = _user_texts(rng, i)
        conv = [m for t, text in enumerate(users)
                for m in ({"content": text, "role": "user"}, {"content": f"reply {t}", "role": "assistant"})]
        rows.append({"conversation_id": f"lm{i:05d}", "model": "vicuna-13b", "conversation": conv,
                     "turn": len(users), "language": LANGS[(i + 1) % 5],
                     "openai_moderation": [{"flagged": i % 9 == 0} for _ in users], "redacted": False})
    return rows


def paired_rows(n: int, sim: str, seed: int = 3) -> list[dict]:
    """The paper's release: id, real_messages, simulated_messages."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        real = _user_texts(rng, i)
        sim_turns = [f"{sim} says {t}" for t in real[: 1 + i % 3]]
        rows.append({"id": f"p{i}",
                     "real_messages": [m for t in real for m in
                                       ({"role": "user", "content": t},
                                        {"role": "assistant", "content": "ok"})],
                     "simulated_messages": [m for t in sim_turns for m in
                                            ({"role": "user", "content": t},
                                             {"role": "assistant", "content": "ok"})]})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def publish(hub_cache: Path, repo_id: str, files: dict[str, list[dict]], revision: str = REV_1,
            readme: str | None = None, ref: str = "main") -> Path:
    """Lay a dataset repo out as huggingface_hub's cache does:
    datasets--OWNER--NAME/refs/<branch> holds the commit, and
    snapshots/<commit>/ the repo's files (Parquet or JSONL)."""
    root = hub_cache / ("datasets--" + repo_id.replace("/", "--"))
    snap = root / "snapshots" / revision
    for rel, rows in files.items():
        target = snap / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".parquet"):
            datasets.Dataset.from_list(rows).to_parquet(str(target))
        elif rel.endswith(".arrow"):  # an Arrow IPC stream, as datasets writes them
            import pyarrow as pa
            table = pa.Table.from_pylist(rows)
            with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
                w.write_table(table, max_chunksize=16)
        else:
            write_jsonl(target, rows)
    if readme is not None:
        (snap / "README.md").write_text(readme)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / ref).write_text(revision)
    return snap


def summary(ds) -> list[tuple]:
    """What must agree between two readings of the same rows."""
    return sorted((c.source, c.task or "", c.id, tuple(c.user_turns)) for c in ds.conversations)


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hf-home")


@pytest.fixture(autouse=True)
def offline_hf(hf_home, monkeypatch):
    """A private, offline Hugging Face cache for every test here."""
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(hf_home / "datasets"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def corpus(hf_home, tmp_path_factory) -> dict:
    """WildChat-, LMSYS- and paired-layout rows, published to the hub cache,
    saved with save_to_disk, and exported as JSONL."""
    hub = hf_home / "hub"
    out = tmp_path_factory.mktemp("corpus")
    wild, lmsys = wildchat_rows(120), lmsys_rows(60)
    publish(hub, "acme/WildChat-mini", {"data/train-00000-of-00002.parquet": wild[:70],
                                        "data/train-00001-of-00002.parquet": wild[70:]})
    # LMSYS at two revisions: main is the newer one with 60 rows.
    publish(hub, "lmsys-like/chat-mini", {"data/train-00000-of-00001.parquet": lmsys[:30]},
            revision=REV_2, ref="v1")
    publish(hub, "lmsys-like/chat-mini", {"data/train-00000-of-00001.parquet": lmsys})
    # Arrow shards: a format the loader does not read itself, so `datasets`
    # streams them, as it streams hub files online.
    publish(hub, "lmsys-like/chat-arrow", {"data/train-00000-of-00002.arrow": lmsys[:35],
                                           "data/train-00001-of-00002.arrow": lmsys[35:]})
    sims = {"sim_a": 25, "sim_b": 25}
    paired = {f"{task}/{sim}.jsonl": paired_rows(n, sim, seed=len(task))
              for task in ("coding", "writing") for sim, n in sims.items()}
    publish(hub, "paper/simulated-conversations", paired)
    local_paired = out / "paired"
    for rel, rows in paired.items():
        write_jsonl(local_paired / rel, rows)
    datasets.Dataset.from_list(wild).save_to_disk(str(out / "WildChat-mini"))
    datasets.DatasetDict({"train": datasets.Dataset.from_list(lmsys[:40]),
                          "test": datasets.Dataset.from_list(lmsys[40:])}).save_to_disk(str(out / "chat-mini"))
    datasets.Dataset.from_list(paired["coding/sim_a.jsonl"]).save_to_disk(str(out / "sim_a"))
    return {"wild": wild, "lmsys": lmsys, "paired": paired, "local_paired": local_paired,
            "jsonl_wild": write_jsonl(out / "export" / "WildChat-mini.jsonl", wild),
            "jsonl_lmsys": write_jsonl(out / "export" / "chat-mini.jsonl", lmsys),
            "jsonl_lmsys_v1": write_jsonl(out / "export_v1" / "chat-mini.jsonl", lmsys[:30]),
            "disk_wild": out / "WildChat-mini", "disk_lmsys": out / "chat-mini",
            "disk_sim_a": out / "sim_a", "jsonl_sim_a": write_jsonl(out / "export" / "sim_a.jsonl",
                                                                     paired["coding/sim_a.jsonl"])}


# --------------------------------------------------------------------------- ids

def test_parse_hub_id_forms():
    assert parse_hub_id("hf:allenai/WildChat-1M") == HubId("allenai/WildChat-1M")
    ref = parse_hub_id("hf:lmsys/lmsys-chat-1m@v1.0:train#real")
    assert (ref.repo_id, ref.revision, ref.config, ref.split, ref.rename) == \
        ("lmsys/lmsys-chat-1m", "v1.0", None, "train", "real")
    assert ref.name == "real" and str(ref) == "hf:lmsys/lmsys-chat-1m@v1.0:train"
    ref = parse_hub_id("hf:o/n:coding/test")
    assert (ref.config, ref.split, ref.name) == ("coding", "test", "n")
    for bad in ("hf:", "hf:a/b/c", "hf:a b/c", "hf:o/n@:x"):
        with pytest.raises(ConfigError, match="expected hf:OWNER/NAME"):
            parse_hub_id(bad)


# --------------------------------------------------------------------------- hub cache

def test_wildchat_from_the_hub_cache_matches_the_jsonl_export(corpus):
    hub = load_dataset(["hf:acme/WildChat-mini"], min_conversations=1)
    export = load_dataset([corpus["jsonl_wild"]], min_conversations=1)
    assert list(hub.by_source()) == ["WildChat-mini"]  # named after the dataset, shards pooled
    assert len(hub.conversations) == 120
    assert summary(hub) == summary(export)
    # Each shard is a file in the report, with rows as lines.
    assert sorted(hub.report.files) == [f"hf:acme/WildChat-mini/data/train-0000{i}-of-00002.parquet"
                                        for i in (0, 1)]
    assert [s.read for s in hub.report.files.values()] == [70, 50]


def test_lmsys_split_revision_and_rename(corpus):
    ds = load_dataset(["hf:lmsys-like/chat-mini:train#real", "hf:acme/WildChat-mini"])
    assert ds.real_sources == ["real"] and ds.simulators == ["WildChat-mini"]
    export = load_dataset([corpus["jsonl_lmsys"]])
    assert sorted((c.id, tuple(c.user_turns)) for c in ds.by_source()["real"]) == \
        sorted((c.id, tuple(c.user_turns)) for c in export.conversations)
    old = load_dataset(["hf:lmsys-like/chat-mini@v1"])  # the branch's commit, from refs/v1
    assert summary(old) == summary(load_dataset([corpus["jsonl_lmsys_v1"]]))
    with pytest.raises(InputError, match=r"no split 'test' \(splits: train\)"):
        load_dataset(["hf:lmsys-like/chat-mini:test"])


def test_files_datasets_streams_match_the_jsonl_export(corpus):
    ds = load_dataset(["hf:lmsys-like/chat-arrow"], min_conversations=1)
    assert list(ds.by_source()) == ["chat-arrow"]
    assert [s.read for s in ds.report.files.values()] == [35, 25]
    export = load_dataset([corpus["jsonl_lmsys"]], min_conversations=1)
    assert sorted((c.id, tuple(c.user_turns)) for c in ds.conversations) == \
        sorted((c.id, tuple(c.user_turns)) for c in export.conversations)


def test_paired_layout_on_the_hub_names_simulators_by_file_and_tasks_by_folder(corpus):
    hub = load_dataset(["hf:paper/simulated-conversations"])
    local = load_dataset([corpus["local_paired"]])
    assert hub.real_sources == ["real"] and hub.simulators == ["sim_a", "sim_b"]
    assert hub.tasks == ["coding", "writing"]
    assert summary(hub) == summary(local)
    # The real user repeats in every simulator's file and is kept once per task and id.
    assert len(hub.by_source()["real"]) == 50 and hub.report.real_deduplicated == 50
    # --max-per-source keeps the same ids for real users and each simulator.
    sampled = load_dataset(["hf:paper/simulated-conversations"], max_per_source=10)
    ids = {name: {(c.task, c.id) for c in convs} for name, convs in sampled.by_source().items()}
    assert len(ids["real"]) == 10 and ids["real"] == ids["sim_a"] == ids["sim_b"]


def ultrachat_rows(n: int) -> list[dict]:
    """UltraChat-200k: prompt, prompt_id, messages with content/role."""
    return [{"prompt": f"topic {i}", "prompt_id": f"u{i:04d}",
             "messages": [{"content": f"tell me about topic {i}", "role": "user"},
                          {"content": "sure", "role": "assistant"},
                          {"content": f"more on {i}, please", "role": "user"}][: 1 + 2 * (i % 2)]}
            for i in range(n)]


def test_ultrachat_messages_and_custom_split_names(hf_home, tmp_path):
    rows = ultrachat_rows(30)
    publish(hf_home / "hub", "chat-org/ultrachat-mini",
            {"data/train_sft-00000-of-00001.parquet": rows[:20],
             "data/test_sft-00000-of-00001.parquet": rows[20:]})
    ds = load_dataset(["hf:chat-org/ultrachat-mini:train_sft#real"], min_conversations=1)
    export = load_dataset([write_jsonl(tmp_path / "real.jsonl", rows[:20])], min_conversations=1)
    assert ds.real_sources == ["real"] and len(ds.conversations) == 20
    assert [tuple(c.user_turns) for c in ds.conversations] == \
        [tuple(c.user_turns) for c in export.conversations]
    both = load_dataset(["hf:chat-org/ultrachat-mini"], min_conversations=1)
    assert len(both.conversations) == 30 and list(both.by_source()) == ["ultrachat-mini"]


def test_datasets_prepared_cache_is_read_offline(hf_home, tmp_path):
    """A dataset `datasets.load_dataset` prepared once (HF_DATASETS_CACHE/
    OWNER___NAME/CONFIG/VERSION/HASH/*.arrow) is read offline without the hub cache."""
    rows = lmsys_rows(12, seed=5)
    src = tmp_path / "cached-chat"
    write_jsonl(src / "data" / "train-00000-of-00001.jsonl", rows)
    cache = hf_home / "datasets"
    datasets.load_dataset(str(src), cache_dir=str(cache))  # prepares cache/cached-chat/...
    (cache / "cached-chat").rename(cache / "acme___cached-chat")
    ds = load_dataset(["hf:acme/cached-chat"], min_conversations=1)
    assert list(ds.report.files) == ["hf:acme/cached-chat:default/train"]
    assert sorted((c.id, tuple(c.user_turns)) for c in ds.conversations) == \
        sorted((c.id, tuple(c.user_turns)) for c in load_dataset(
            [src / "data" / "train-00000-of-00001.jsonl"], min_conversations=1).conversations)


def test_bad_row_in_a_hub_file_names_the_file_row_and_field(hf_home):
    rows = wildchat_rows(6)
    rows[3]["conversation"][0]["role"] = "narrator"
    # Parquet goes through the loader's reader, Arrow through `datasets`' streaming.
    for repo, ext in (("acme/bad-rows", "parquet"), ("acme/bad-arrow", "arrow")):
        publish(hf_home / "hub", repo, {f"data/train-00000-of-00001.{ext}": rows})
        with pytest.raises(InputError) as err:
            load_dataset([f"hf:{repo}"])
        assert str(err.value).startswith(f"hf:{repo}/data/train-00000-of-00001.{ext}:4, "
                                         "field 'conversation[0].role': unknown role")
        skipped = load_dataset([f"hf:{repo}"], on_error="skip", min_conversations=1)
        assert len(skipped.conversations) == 5 and skipped.report.skipped == 1


def test_rename_works_on_plain_files_too(tmp_path):
    path = write_jsonl(tmp_path / "wildchat_export.jsonl", wildchat_rows(5))
    ds = load_dataset([f"{path}#real", f"{path}#sim_copy"])
    assert ds.real_sources == ["real"] and ds.simulators == ["sim_copy"]
    assert len(ds.by_source()["real"]) == len(ds.by_source()["sim_copy"]) == 5


PAIRED_CONFIGS = """---
configs:
- config_name: sim_a
  data_files:
  - split: coding
    path: sim_a/coding.jsonl
  - split: writing
    path: sim_a/writing.jsonl
- config_name: sim_b
  data_files:
  - split: coding
    path: sim_b/coding.jsonl
  - split: writing
    path: sim_b/writing.jsonl
---
"""


def test_paired_configs_name_simulators_and_splits_name_tasks(corpus, hf_home):
    """The paired layout published one config per simulator, tasks as splits."""
    files = {f"{sim}/{task}.jsonl": rows for rel, rows in corpus["paired"].items()
             for task, sim in [rel[:-len(".jsonl")].split("/")]}
    publish(hf_home / "hub", "paper/by-config", files, readme=PAIRED_CONFIGS)
    hub = load_dataset(["hf:paper/by-config"])
    assert hub.simulators == ["sim_a", "sim_b"] and hub.tasks == ["coding", "writing"]
    assert summary(hub) == summary(load_dataset([corpus["local_paired"]]))
    one = load_dataset(["hf:paper/by-config:sim_b/writing"])
    assert one.simulators == ["sim_b"] and one.tasks == []  # one split: no task
    assert len(one.by_source()["sim_b"]) == 25


def test_uncached_dataset_offline_says_how_to_get_it():
    with pytest.raises(InputError) as err:
        load_dataset(["hf:nobody/not-downloaded"])
    message = str(err.value)
    assert message.startswith("hf:nobody/not-downloaded: not in the local cache and offline")
    assert "hf download --repo-type dataset nobody/not-downloaded" in message


def test_gated_dataset_message_names_the_page_and_never_the_token(monkeypatch):
    import httpx2
    from huggingface_hub.errors import GatedRepoError

    from measure.hub import _hub_error
    token = "hf_" + "abcdefghijklmnopqrstuvwx"
    monkeypatch.setenv("HF_TOKEN", token)
    response = httpx2.Response(401, request=httpx2.Request("GET", "https://huggingface.co/x"))
    err = _hub_error(parse_hub_id("hf:allenai/WildChat-1M"),
                     GatedRepoError(f"401 for token {token}", response=response))
    text = str(err)
    assert text.startswith("hf:allenai/WildChat-1M: gated dataset:")
    assert "https://huggingface.co/datasets/allenai/WildChat-1M" in text and "HF_TOKEN" in text
    assert token not in text


# --------------------------------------------------------------------------- save_to_disk and objects

def test_save_to_disk_folders_match_the_jsonl_export(corpus):
    wild = load_dataset([corpus["disk_wild"]], min_conversations=1)
    assert summary(wild) == summary(load_dataset([corpus["jsonl_wild"]], min_conversations=1))
    # A DatasetDict's splits pool into one source named after the folder.
    lmsys = load_dataset([corpus["disk_lmsys"]], min_conversations=1)
    assert list(lmsys.by_source()) == ["chat-mini"]
    assert summary(lmsys) == summary(load_dataset([corpus["jsonl_lmsys"]], min_conversations=1))
    assert sorted(lmsys.report.files) == [f"{corpus['disk_lmsys']}[{s}]" for s in ("test", "train")]
    # Paired layout: the folder names the simulator, as a file's stem does.
    paired = load_dataset([corpus["disk_sim_a"]])
    assert summary(paired) == summary(load_dataset([corpus["jsonl_sim_a"]]))
    assert paired.simulators == ["sim_a"] and paired.real_sources == ["real"]
    renamed = load_dataset([f"{corpus['disk_wild']}#real", corpus["disk_sim_a"]])
    assert renamed.real_sources == ["real"] and len(renamed.by_source()["real"]) == 120 + 25


def test_dataset_objects_are_read_directly(corpus):
    wild = datasets.Dataset.from_list(corpus["wild"])
    expected = [(c.id, tuple(c.user_turns)) for c in
                load_dataset([corpus["jsonl_wild"]], min_conversations=1).conversations]
    for obj in (wild, wild.to_iterable_dataset(), datasets.DatasetDict({"train": wild}),
                wild.with_format("numpy")):
        got = load_dataset(obj, min_conversations=1)
        assert [(c.id, tuple(c.user_turns)) for c in got.conversations] == expected
        assert got.by_source().keys() == {"dataset"}
    named = load_dataset({"real": wild, "sim_a": datasets.Dataset.from_list(corpus["wild"][:30])})
    assert named.real_sources == ["real"] and named.simulators == ["sim_a"]
    assert str(named.conversations[0].origin).startswith("<dataset real>:1")
    with pytest.raises(ConfigError, match="cannot read conversations from a int"):
        load_dataset([3])


def test_load_conversations_takes_datasets_objects_and_hub_ids(corpus):
    import measure
    wild = datasets.Dataset.from_list(corpus["wild"])
    data = measure.load_conversations([("real", wild), "hf:lmsys-like/chat-mini"],
                                      where=["language=English"], min_user_turns=2)
    assert data.real_sources == ["real"] and data.simulators == ["chat-mini"]
    assert {c.id for c in data.by_source()["real"]} == \
        {r["conversation_hash"] for r in corpus["wild"] if r["language"] == "English" and r["turn"] >= 2}
    assert {c.id for c in data.by_source()["chat-mini"]} == \
        {r["conversation_id"] for r in corpus["lmsys"] if r["language"] == "English" and r["turn"] >= 2}
    streamed = measure.load_conversations(wild.to_iterable_dataset(), min_conversations=1)
    assert len(streamed.conversations) == 120


# --------------------------------------------------------------------------- filters

def _expected_ids(rows, min_turns: int) -> set[str]:
    return {r["conversation_hash"] for r in rows
            if r["language"] == "English" and not r["toxic"] and r["turn"] >= min_turns}


def test_where_and_min_user_turns_filter_hub_rows_like_files(corpus):
    opts = dict(where=["language=English", "toxic=false"], min_user_turns=2, min_conversations=1)
    hub = load_dataset(["hf:acme/WildChat-mini"], **opts)
    export = load_dataset([corpus["jsonl_wild"]], **opts)
    expected = _expected_ids(corpus["wild"], 2)
    assert 20 < len(expected) < 100
    assert {c.id for c in hub.conversations} == expected
    assert summary(hub) == summary(export)
    n_where = sum(1 for r in corpus["wild"] if r["language"] != "English" or r["toxic"])
    n_turns = sum(1 for r in corpus["wild"] if r["language"] == "English" and not r["toxic"]
                  and r["turn"] < 2)
    assert (f"filtered out {n_where:,} record(s) not matching --where language=English and "
            f"toxic=false; {n_turns:,} conversation(s) with fewer than 2 user turn(s)") in \
        " ".join(hub.report.warnings)
    # One field named twice accepts either value.
    either = load_dataset(["hf:acme/WildChat-mini"], where=["language=French", "language=chinese"],
                          min_conversations=1)
    assert {c.id for c in either.conversations} == \
        {r["conversation_hash"] for r in corpus["wild"] if r["language"] in ("French", "Chinese")}


def test_bad_filter_options():
    with pytest.raises(ConfigError, match="--where expects FIELD=VALUE"):
        load_dataset(["hf:acme/WildChat-mini"], where=["language"])
    with pytest.raises(ConfigError, match="--min-user-turns must be a positive integer"):
        load_dataset(["hf:acme/WildChat-mini"], min_user_turns=0)


# --------------------------------------------------------------------------- the command, for real

def test_cli_reads_hf_ids_offline_in_a_fresh_process(corpus, hf_home, tmp_path):
    """A new process, so `datasets` and huggingface_hub read the offline
    flags and cache paths from the environment at import, as for a user."""
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
           "HF_DATASETS_CACHE": str(hf_home / "datasets"), "HF_DATASETS_OFFLINE": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    cmd = [sys.executable, "-m", "ensemble.cli", "inspect", "hf:acme/WildChat-mini#real",
           "hf:paper/simulated-conversations:train", "--where", "language=English",
           "--min-user-turns", "2"]
    proc = subprocess.run(cmd, env={**env, "COLUMNS": "200"}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    # The paired records have no `language` field: --where leaves them alone.
    expected = load_dataset([corpus["jsonl_wild"], corpus["local_paired"]],
                            real=["WildChat-mini", "real"], where=["language=English"],
                            min_user_turns=2)
    counts = {name: len(convs) for name, convs in expected.by_source().items()}
    assert counts["sim_a"] > 10 and counts["WildChat-mini"] > 10
    rows = {line.split("│")[1].strip(): line.split("│")[3].strip()
            for line in proc.stdout.splitlines() if line.startswith("│") and line.count("│") > 4}
    assert rows == {"real": str(counts["WildChat-mini"] + counts["real"]),
                    "sim_a": str(counts["sim_a"]), "sim_b": str(counts["sim_b"])}
    assert "not matching --where language=English" in proc.stdout


def test_cli_goes_online_for_hf_ids_unless_the_user_says_offline(tmp_path):
    """The command keeps the Hub off for models, but an `hf:` input needs it:
    with no offline variable set, the Hub is asked (here a loopback server
    that knows no dataset), not refused as 'offline'."""
    import http.server
    import threading

    asked = []

    class NoDatasets(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            asked.append(self.path)
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")   # what the Hub says for an unknown repo
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NoDatasets)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {k: v for k, v in os.environ.items()
               if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")}
        env.update(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
                   COLUMNS="200")
        cmd = [sys.executable, "-m", "ensemble.cli", "inspect", "hf:nobody/not-here"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2
        assert "no such dataset on the Hub" in proc.stderr, proc.stderr
        assert "offline" not in proc.stderr and asked
        # the user's own offline setting still decides
        proc = subprocess.run(cmd, env={**env, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 2 and "not in the local cache and offline" in proc.stderr, proc.stderr
    finally:
        server.shutdown()
