"""`assign_dataset`: per-task balance, byte-stable outputs in every format,
assignment by id (not position), appends keep earlier rows, and the hand-off
read back with the `datasets` library."""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from ensemble.assign import AssignError, assign_dataset, load_assignment_counts, summary_path_for
from ensemble.weights_file import WeightsError, write_weights
from measure.errors import ConfigError

PER_TASK = {"math": {"sim_a": 0.2, "sim_b": 0.8},
            "code": {"sim_a": 0.1, "sim_b": 0.3, "sim_c": 0.6},
            "chat": {"sim_a": 0.37, "sim_b": 0.33, "sim_c": 0.3}}
GLOBAL = {"sim_a": 0.5, "sim_b": 0.3, "sim_c": 0.2}


@pytest.fixture
def weights(tmp_path) -> Path:
    path = tmp_path / "weights.json"
    write_weights(path, GLOBAL, per_task=PER_TASK)
    return path


def make_rows(n: int, seed: int = 0, start: int = 0, ids: bool = True) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(start, start + n):
        row = {"task": rng.choice(sorted(PER_TASK)), "prompt": f"question {i}", "level": i % 7}
        if ids:
            row = {"id": f"r{i}", **row}
        rows.append(row)
    return rows


def write_rows(path: Path, rows: list[dict], fmt: str) -> Path:
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif fmt == "json":
        path.write_text(json.dumps(rows))
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        import datasets
        datasets.Dataset.from_list(rows).save_to_disk(str(path))
    return path


SUFFIX = {"jsonl": ".jsonl", "json": ".json", "parquet": ".parquet", "datasets": ""}


def read_assigned(path: Path, fmt: str) -> list[dict]:
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if fmt == "json":
        return json.loads(path.read_text())
    if fmt == "parquet":
        import pyarrow.parquet as pq
        return pq.read_table(path).to_pylist()
    import datasets
    return datasets.load_from_disk(str(path)).to_list()


def digest(path: Path) -> str:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else "").encode() + f.read_bytes())
    return h.hexdigest()


def check_balance(rows: list[dict], column: str = "simulator", weights=PER_TASK) -> float:
    """max over tasks and simulators of |count - n * w|."""
    worst = 0.0
    for task, w in weights.items():
        sims = [r[column] for r in rows if r["task"] == task]
        for s in GLOBAL:
            worst = max(worst, abs(sims.count(s) - len(sims) * w.get(s, 0.0)))
    return worst


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet", "datasets"])
def test_10000_rows_balanced_per_task_and_byte_stable(tmp_path, weights, fmt):
    rows = make_rows(10_000)
    data = write_rows(tmp_path / f"tasks{SUFFIX[fmt]}", rows, fmt)
    out1, out2 = tmp_path / f"out1{SUFFIX[fmt]}", tmp_path / f"out2{SUFFIX[fmt]}"
    res = assign_dataset(weights, data, out1, seed=7)
    assign_dataset(weights, data, out2, seed=7)
    assert res.format == fmt and res.rows == 10_000 and res.task_column == "task"
    assert digest(out1) == digest(out2)                           # same seed, same bytes
    got = read_assigned(out1, fmt)
    assert [{k: v for k, v in r.items() if k != "simulator"} for r in got] == rows
    assert check_balance(got) < 1
    assert max(g.max_deviation for g in res.groups) < 1
    for g in res.groups:
        assert g.counts == {s: sum(1 for r in got if r["task"] == g.task and r["simulator"] == s)
                            for s in GLOBAL}
    assert all(r["simulator"] != "sim_c" for r in got if r["task"] == "math")   # weight 0
    summary = json.loads(summary_path_for(out1).read_text())
    assert summary["counts"] == res.counts and sum(res.counts.values()) == 10_000
    assert summary["schema"] == "ensemble-fit/assignment/v1"
    other = assign_dataset(weights, data, tmp_path / f"seed8{SUFFIX[fmt]}", seed=8)
    assert digest(tmp_path / f"seed8{SUFFIX[fmt]}") != digest(out1)
    assert max(g.max_deviation for g in other.groups) < 1


@pytest.mark.parametrize("ids", [True, False])
def test_shuffled_input_gives_the_same_assignment_per_row(tmp_path, weights, ids):
    rows = make_rows(3000, ids=ids)
    rows += [dict(rows[5]) for _ in range(3)] if not ids else []        # identical rows too
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    a = assign_dataset(weights, write_rows(tmp_path / "a.jsonl", rows, "jsonl"),
                       tmp_path / "out_a.jsonl", seed=3)
    b = assign_dataset(weights, write_rows(tmp_path / "b.jsonl", shuffled, "jsonl"),
                       tmp_path / "out_b.jsonl", seed=3)
    assert a.id_column == ("id" if ids else None)
    key = (lambda r: r["id"]) if ids else (lambda r: r["prompt"])
    got_a = sorted((key(r), r["simulator"]) for r in read_assigned(tmp_path / "out_a.jsonl", "jsonl"))
    got_b = sorted((key(r), r["simulator"]) for r in read_assigned(tmp_path / "out_b.jsonl", "jsonl"))
    assert got_a == got_b
    assert [g.counts for g in a.groups] == [g.counts for g in b.groups]


def test_appending_rows_keeps_earlier_assignments(tmp_path, weights):
    first = make_rows(2000, seed=0)
    data = write_rows(tmp_path / "tasks.jsonl", first, "jsonl")
    out = tmp_path / "out.jsonl"
    assign_dataset(weights, data, out, seed=0)
    before = {r["id"]: r["simulator"] for r in read_assigned(out, "jsonl")}
    more = make_rows(1500, seed=1, start=2000)
    write_rows(data, first + more, "jsonl")
    res = assign_dataset(weights, data, out, seed=0)
    after = read_assigned(out, "jsonl")
    assert res.kept == 2000 and res.rows == 3500
    assert all(r["simulator"] == before[r["id"]] for r in after if r["id"] in before)
    assert check_balance(after) < 1                    # the streams continued, not restarted
    assert sum(g.kept for g in res.groups) == 2000
    # re-running with nothing new changes nothing
    blob = out.read_bytes()
    assign_dataset(weights, data, out, seed=0)
    assert out.read_bytes() == blob
    # another seed over the same OUT would mix two schedules: refused
    with pytest.raises(AssignError, match="other weights or another seed"):
        assign_dataset(weights, data, out, seed=1)
    # without the summary the seed cannot be checked: the run says so
    summary_path_for(out).unlink()
    res = assign_dataset(weights, data, out, seed=0)
    assert any("cannot check" in n for n in res.notes) and res.kept == 3500


@pytest.mark.parametrize("src,dst", [("jsonl", "out.parquet"), ("parquet", "out.jsonl"),
                                     ("datasets", "out.json"), ("json", "out.pq")])
def test_out_naming_another_format_is_refused(tmp_path, weights, src, dst):
    data = write_rows(tmp_path / ("tasks" if src == "datasets" else f"tasks.{src}"),
                      make_rows(20), src)
    with pytest.raises(ConfigError, match="written back in the same format"):
        assign_dataset(weights, data, tmp_path / dst)
    assert not (tmp_path / dst).exists()


def test_unknown_task_is_an_error_or_the_global_mixture(tmp_path, weights):
    rows = make_rows(300) + [{"id": "x1", "task": "poetry", "prompt": "p"},
                             {"id": "x2", "task": None, "prompt": "q"}]
    data = write_rows(tmp_path / "tasks.jsonl", rows, "jsonl")
    with pytest.raises(AssignError, match=r"task 'poetry' has no per-task mixture \(2 such rows.*"
                                          r"--fallback global") as info:
        assign_dataset(weights, data, tmp_path / "out.jsonl")
    assert (info.value.line, info.value.field) == (301, "task")
    res = assign_dataset(weights, data, tmp_path / "out.jsonl", fallback="global")
    assert res.fallback_rows == 2
    glob = [g for g in res.groups if g.task is None][0]
    assert glob.rows == 2 and glob.weights == GLOBAL and glob.max_deviation < 1


def test_options_and_located_errors(tmp_path, weights):
    rows = make_rows(50)
    data = write_rows(tmp_path / "t.jsonl", [{**r, "uid": i, "kind": r["task"]}
                                             for i, r in enumerate(rows)], "jsonl")
    res = assign_dataset(weights, data, tmp_path / "o.jsonl", column="user_sim",
                         task_column="kind", id_column="uid")
    got = read_assigned(tmp_path / "o.jsonl", "jsonl")
    assert res.column == "user_sim" and res.id_column == "uid" and res.task_column == "kind"
    assert check_balance([{**r, "task": r["kind"]} for r in got], column="user_sim") < 1
    # no per-task column: the global mixture, with a note
    res = assign_dataset(weights, data, tmp_path / "o2.jsonl", task_column="nope")
    assert res.task_column is None and "no 'nope' column" in res.notes[0]
    assert [g.task for g in res.groups] == [None]

    cases = [
        ([{"id": "a", "task": "math"}, {"id": "a", "task": "code"}], {}, "duplicate id 'a'", 2, "id"),
        ([{"id": "a", "task": 3}], {}, "must be a string, got int", 1, "task"),
        ([{"id": "a", "task": "math", "simulator": "x"}], {}, "already has a 'simulator' column",
         None, "simulator"),
        ([{"id": [1], "task": "math"}], {}, "string or an integer, got list", 1, "id"),
        ([{"task": "math"}], {"id_column": "uid"}, "no column 'uid'", None, "uid"),
    ]
    for rows, kw, phrase, line, field in cases:
        path = write_rows(tmp_path / "bad.jsonl", rows, "jsonl")
        with pytest.raises(AssignError) as info:
            assign_dataset(weights, path, tmp_path / "bad_out.jsonl", **kw)
        assert phrase in info.value.message and (info.value.line, info.value.field) == (line, field)
    (tmp_path / "broken.jsonl").write_text('{"id": "a", "task": "math"}\n{"id": \n')
    with pytest.raises(AssignError, match="invalid JSON") as info:
        assign_dataset(weights, tmp_path / "broken.jsonl", tmp_path / "x.jsonl")
    assert info.value.line == 2
    with pytest.raises(ConfigError, match="must differ"):
        assign_dataset(weights, data, data)
    with pytest.raises(WeightsError, match="seed"):
        assign_dataset(weights, data, tmp_path / "y.jsonl", seed=1.5)
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(AssignError, match="unknown dataset format"):
        assign_dataset(weights, tmp_path / "x.csv", tmp_path / "y.csv")


def test_datasets_library_reads_the_hand_off(tmp_path, weights):
    import datasets
    rows = make_rows(1200)
    for fmt in ("jsonl", "datasets"):
        data = write_rows(tmp_path / f"in{SUFFIX[fmt]}", rows, fmt)
        out = tmp_path / f"assigned{SUFFIX[fmt]}"
        res = assign_dataset(weights, data, out, seed=0)
        if fmt == "jsonl":
            ds = datasets.load_dataset("json", data_files=str(out), split="train",
                                       cache_dir=str(tmp_path / "hf-cache"))
        else:
            ds = datasets.load_from_disk(str(out))
        assert ds.num_rows == 1200 and "simulator" in ds.column_names
        for g in res.groups:
            sub = ds.filter(lambda r: r["task"] == g.task)
            assert {s: sub["simulator"].count(s) for s in GLOBAL} == g.counts
            assert all(abs(g.counts[s] - g.rows * w) < 1 for s, w in g.weights.items())
        assert load_assignment_counts(out) == res.counts


def test_load_assignment_counts_reads_every_form(tmp_path, weights):
    from ensemble.sampler import SimulatorSampler
    data = write_rows(tmp_path / "t.jsonl", make_rows(100), "jsonl")
    res = assign_dataset(weights, data, tmp_path / "o.jsonl")
    assert load_assignment_counts(tmp_path / "o.jsonl") == res.counts
    assert load_assignment_counts(summary_path_for(tmp_path / "o.jsonl")) == res.counts
    summary_path_for(tmp_path / "o.jsonl").unlink()                 # counted from the column
    assert load_assignment_counts(tmp_path / "o.jsonl") == {k: v for k, v in res.counts.items() if v}
    s = SimulatorSampler(GLOBAL, PER_TASK, seed=0)
    s.draw_many(40, task="code")
    s.draw_many(10)
    (tmp_path / "state.json").write_text(json.dumps(s.state_dict()))
    counts = load_assignment_counts(tmp_path / "state.json")
    assert sum(counts.values()) == 50 and counts["sim_c"] == 24 + 2


def test_cli_assign_prints_the_table_and_errors_in_one_line(tmp_path, weights, capsys):
    from ensemble.cli import main
    data = write_rows(tmp_path / "t.jsonl", make_rows(600), "jsonl")
    out = tmp_path / "o.jsonl"
    assert main(["assign", "--weights", str(weights), "--data", str(data), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Assigned 600 rows (600 new, 0 kept)" in text and "largest |assigned - n x w|" in text
    res = json.loads(summary_path_for(out).read_text())
    for g in res["groups"]:
        for s, c in g["counts"].items():
            assert f" {c} " in text or c == 0
    bad = write_rows(tmp_path / "bad.jsonl", [{"id": 1, "task": "poetry"}], "jsonl")
    assert main(["assign", "--weights", str(weights), "--data", str(bad), "--out",
                 str(tmp_path / "b.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.jsonl:1, field 'task'" in err and "--fallback global" in err
    assert main(["assign", "--weights", str(weights), "--data", str(bad), "--out",
                 str(tmp_path / "b.jsonl"), "--fallback", "global", "-q"]) == 0


def test_hostile_rows_are_located_errors(tmp_path, weights):
    cases = {"deep": '{"task": "math", "x": %s}\n' % ("[" * 5000 + "]" * 5000),
             "bigint": '{"task": "math", "id": 1%s}\n' % ("0" * 5000),
             "not_object": '{"task": "math"}\n[1, 2]\n'}
    phrases = {"deep": "nested too deeply", "bigint": "value has 5001 digits",
               "not_object": "each record must be a JSON object, got list"}
    for name, text in cases.items():
        (tmp_path / f"{name}.jsonl").write_text(text)
        with pytest.raises(AssignError) as info:
            assign_dataset(weights, tmp_path / f"{name}.jsonl", tmp_path / "o.jsonl")
        assert phrases[name] in info.value.message and info.value.line == (2 if name == "not_object" else 1)
    # a row nested deep but within what JSON parsing allows is hashed without recursion trouble
    (tmp_path / "mid.jsonl").write_text('{"task": "math", "x": %s}\n' % ("[" * 900 + "]" * 900))
    assert assign_dataset(weights, tmp_path / "mid.jsonl", tmp_path / "mid_out.jsonl").rows == 1
