"""Malformed input through the command line: every case ends with one line on
stderr, `error: ...`, naming the file, line and field where there is one, a
non-zero exit and no traceback; or, under `--on-error skip`, the bad record
is skipped and counted. (The loaders' own corpus is in test_bad_input.py.)
"""
from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from ensemble.cli import main
from ensemble.sampler import SimulatorSampler
from tests.reliability_support import (
    assert_same_outputs,
    baseline,
    demo_data,
    encoded,
    run_args,
)

FAST = ["--bootstrap", "20", "--codebook-seeds", "1", "--weight-bootstrap", "5", "--no-report"]


@dataclass
class Ctx:
    tmp: Path
    data: Path
    cache: Path
    keys: list[str]          # "source/id" of every conversation in the data
    simulators: list[str]

    def run(self, *more: str) -> list[str]:
        return ["run", "--data", str(self.data), "--out", str(self.tmp / "out"), "--cache", str(self.cache),
                *FAST, "--quiet", *more]

    def file(self, name: str, content: str | bytes) -> Path:
        p = self.tmp / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
        return p


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    from measure.loaders import load_dataset
    data = demo_data(tmp_path_factory)
    ds = load_dataset(data)
    return data, tmp_path_factory.mktemp("cli-cache"), [f"{c.source}/{c.id}" for c in ds.conversations], \
        list(ds.simulators)


@pytest.fixture
def ctx(shared, tmp_path) -> Ctx:
    data, cache, keys, sims = shared
    return Ctx(tmp_path, data, cache, keys, sims)


def _npz(ctx: Ctx, name: str = "emb.npz", **arrays) -> str:
    path = ctx.tmp / name
    np.savez(path, **arrays)
    return str(path)


def _vecs(n: int, d: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def _nan_row(ctx: Ctx) -> str:
    v = _vecs(len(ctx.keys))
    v[4, 2] = np.nan
    return _npz(ctx, ids=np.array(ctx.keys), style=v)


def _meta(ctx: Ctx, body: str) -> str:
    return str(ctx.file("sims.toml", body))


def _sim_table(name: str, extra: str = "") -> str:
    return f'[[simulator]]\nname = "{name}"\n{extra}\n'


def _all_costs(ctx: Ctx, skip: int = 0) -> str:
    return "".join(_sim_table(s, "cost = 0.01") for s in ctx.simulators[skip:])


def _config(ctx: Ctx, body: str | bytes) -> str:
    return str(ctx.file("conf.toml", body))


@dataclass
class Case:
    name: str
    argv: Callable[[Ctx], list[str]]
    phrase: str                      # in the error line
    where: Callable[[Ctx], str] | None = None  # file:line / field part of the error line


E = "emb.npz"
CASES = [
    # --- precomputed embeddings (--embeddings)
    Case("embeddings_nan", lambda c: c.run("--embeddings", _nan_row(c)),
         "1 embedding(s) contain NaN or inf, first at row 4", lambda c: f"{c.tmp / E}:5, field 'style'"),
    Case("embeddings_wrong_dimension",
         lambda c: c.run("--embeddings", _npz(c, ids=np.array(c.keys), requests=_vecs(len(c.keys), 16),
                                              style=_vecs(len(c.keys), 8))),
         "embedding dimension [8] does not match the others (16)", lambda c: f"{c.tmp / E}, field 'style'"),
    Case("embeddings_one_dimensional",
         lambda c: c.run("--embeddings", _npz(c, ids=np.array(c.keys), style=np.ones(len(c.keys)))),
         "to match 'ids', got (400,)", lambda c: f"{c.tmp / E}, field 'style'"),
    Case("embeddings_rows_not_ids",
         lambda c: c.run("--embeddings", _npz(c, ids=np.array(c.keys), style=_vecs(len(c.keys) - 1))),
         "expected shape (400, d) to match 'ids', got (399, 8)", lambda c: f"{c.tmp / E}, field 'style'"),
    Case("embeddings_missing_ids_array",
         lambda c: c.run("--embeddings", _npz(c, style=_vecs(len(c.keys)))),
         "missing array 'ids'", lambda c: f"{c.tmp / E}, field 'ids'"),
    Case("embeddings_missing_ids",
         lambda c: c.run("--embeddings", _npz(c, ids=np.array(c.keys[:300]), style=_vecs(300))),
         "no embedding for 100 conversation(s)", lambda c: f"{c.tmp / E}, field 'style'"),
    Case("embeddings_duplicate_id",
         lambda c: c.run("--embeddings", _npz(c, ids=np.array(c.keys[:3] + c.keys[:1]), style=_vecs(4))),
         "appears twice (rows 0 and 3)", lambda c: f"{c.tmp / E}:4, field 'ids'"),
    Case("embeddings_not_an_npz",
         lambda c: c.run("--embeddings", str(c.file(E, "id,style\n1,0.5\n"))),
         "not a .npz file (a .npz is a zip archive", lambda c: f"{c.tmp / E}"),
    Case("embeddings_truncated_npz",
         lambda c: c.run("--embeddings", str(c.file(E, Path(_npz(c, ids=np.array(c.keys), style=_vecs(400)))
                                                    .read_bytes()[:3000]))),
         "not a readable .npz file", lambda c: f"{c.tmp / E}"),
    Case("embeddings_pickled_ids",
         lambda c: c.run("--embeddings", _npz(c, ids=np.array(c.keys, dtype=object), style=_vecs(len(c.keys)))),
         "cannot read the array (Object arrays cannot be loaded", lambda c: f"{c.tmp / E}, field 'ids'"),
    Case("embeddings_strings",
         lambda c: c.run("--embeddings", _npz(c, ids=np.array(c.keys),
                                              style=np.full((len(c.keys), 2), "x"))),
         "embeddings must be numbers, got dtype <U1", lambda c: f"{c.tmp / E}, field 'style'"),
    Case("embeddings_zero_vector",
         lambda c: c.run("--embeddings", _npz(c, ids=np.array(c.keys), style=np.zeros((len(c.keys), 4)))),
         "zero embedding at row 0", lambda c: f"{c.tmp / E}:1, field 'style'"),
    Case("embeddings_no_facet_matches",
         lambda c: c.run("--embeddings", _npz(c, ids=np.array(c.keys), stlye=_vecs(len(c.keys)))),
         "no array is named after a measured facet (arrays: stlye", lambda c: f"{c.tmp / E}"),
    Case("embeddings_file_missing", lambda c: c.run("--embeddings", str(c.tmp / "nope.npz")),
         "embeddings file not found", lambda c: f"{c.tmp / 'nope.npz'}"),
    Case("embeddings_wrong_suffix", lambda c: c.run("--embeddings", str(c.file("emb.csv", "1,2\n"))),
         "embeddings must be .npz, .parquet, or a folder", None),
    # --- simulator metadata (--metadata)
    Case("metadata_unknown_simulator", lambda c: c.run("--metadata", _meta(c, _sim_table("gpt-9"))),
         "unknown simulator 'gpt-9' (the data has: sim_", lambda c: f"{c.tmp / 'sims.toml'}, field 'simulator[0].name'"),
    Case("metadata_negative_cost",
         lambda c: c.run("--metadata", _meta(c, _sim_table("sim_terse", "cost = -0.5"))),
         "cost must be >= 0, got -0.5", lambda c: "field 'simulator[0].cost'"),
    Case("metadata_text_cost",
         lambda c: c.run("--metadata", _meta(c, _sim_table("sim_terse", 'cost = "cheap"'))),
         "cost must be a finite number, got 'cheap'", lambda c: "field 'simulator[0].cost'"),
    Case("metadata_infinite_cost",
         lambda c: c.run("--metadata", _meta(c, _sim_table("sim_terse", "cost = inf"))),
         "cost must be a finite number, got inf", lambda c: "field 'simulator[0].cost'"),
    Case("metadata_misspelt_key",
         lambda c: c.run("--metadata", _meta(c, _sim_table("sim_terse", "cots = 0.1"))),
         "unknown key(s) ['cots'] for simulator 'sim_terse'", lambda c: "field 'simulator[0].cots'"),
    Case("metadata_bad_toml", lambda c: c.run("--metadata", _meta(c, '[[simulator]]\nname = "sim_terse\n')),
         "not valid TOML", lambda c: f"{c.tmp / 'sims.toml'}"),
    Case("metadata_not_a_list", lambda c: c.run("--metadata", _meta(c, '[simulator]\nname = "sim_terse"\n')),
         "expected a list of [[simulator]] tables", lambda c: "field 'simulator'"),
    Case("metadata_missing_file", lambda c: c.run("--metadata", str(c.tmp / "none.toml")),
         "file not found", lambda c: f"{c.tmp / 'none.toml'}"),
    # --- budget and costs
    Case("budget_without_metadata", lambda c: c.run("--budget", "0.01"),
         "--budget/--cost-penalty need a --metadata file with costs"),
    Case("budget_metadata_without_costs",
         lambda c: c.run("--budget", "0.01", "--metadata", _meta(c, _sim_table("sim_terse", 'family = "x"'))),
         "gives no simulator a 'cost'"),
    Case("budget_costs_missing_for_some",
         lambda c: c.run("--budget", "0.01", "--metadata", _meta(c, _all_costs(c, skip=1))),
         "need a cost for every simulator"),
    Case("budget_negative", lambda c: c.run("--budget", "-1", "--metadata", _meta(c, _all_costs(c))),
         "--budget must be a finite number >= 0, got -1.0"),
    Case("cost_penalty_nan", lambda c: c.run("--cost-penalty", "nan", "--metadata", _meta(c, _all_costs(c))),
         "--cost-penalty must be a finite number >= 0, got nan"),
    Case("include_unknown_simulator", lambda c: c.run("--include", "sim_nobody"),
         "--include names simulator(s) not in the data: sim_nobody"),
    # --- config file (--config)
    Case("config_bad_toml", lambda c: c.run("--config", _config(c, "[measure\nseed = 1\n")),
         "not valid TOML", lambda c: f"{c.tmp / 'conf.toml'}"),
    Case("config_not_utf8", lambda c: c.run("--config", _config(c, b"[measure]\nseed = 1 # \xff\n")),
         "not valid TOML: not UTF-8 text", lambda c: f"{c.tmp / 'conf.toml'}"),
    Case("config_unknown_table", lambda c: c.run("--config", _config(c, "[mesure]\nseed = 1\n")),
         "unknown table(s) ['mesure']"),
    Case("config_unknown_measure_key", lambda c: c.run("--config", _config(c, "[measure]\nseeds = 1\n")),
         "config [measure]: unknown key(s) ['seeds']"),
    Case("config_unknown_fit_key", lambda c: c.run("--config", _config(c, "[fit]\nbudjet = 1.0\n")),
         "config [fit]: unknown key(s) ['budjet']"),
    Case("config_wrong_type", lambda c: c.run("--config", _config(c, '[measure]\nn_bootstrap = "many"\n')),
         "config [measure] n_bootstrap must be an integer >= 1, got 'many'"),
    Case("config_pca_text", lambda c: c.run("--config", _config(c, '[measure]\npca_variance = "high"\n')),
         "config [measure] pca_variance must be a finite number >= 0, got 'high'"),
    Case("config_bad_divergence", lambda c: c.run("--config", _config(c, '[fit]\ndivergence = "kl"\n')),
         "config [fit] divergence must be 'js' or 'kl_forward', got 'kl'"),
    Case("config_nan_facet_weight",
         lambda c: c.run("--config", _config(c, "[measure]\nfacet_weights = { style = nan }\n")),
         "config [measure] facet_weights.style must be a finite number >= 0, got nan"),
    Case("config_missing", lambda c: c.run("--config", str(c.tmp / "none.toml")), "config file not found"),
    # --- options
    Case("k_zero", lambda c: c.run("--k", "0"), "--k must be >= 1, got 0"),
    Case("k_facet_zero", lambda c: c.run("--k", "style=0"), "--k style=0: k must be >= 1"),
    Case("k_not_a_number", lambda c: c.run("--k", "lots"), "argument --k: expected K or FACET=K"),
    Case("unknown_facet", lambda c: c.run("--facets", "style,tone"), "unknown facet 'tone' (known: requests"),
    Case("no_facet", lambda c: c.run("--facets", ","), "--facets names no facet"),
    Case("heldout_above_one", lambda c: c.run("--heldout", "1.5"), "--heldout must be in [0, 1), got 1.5"),
    Case("heldout_nan", lambda c: c.run("--heldout", "nan"), "--heldout must be in [0, 1), got nan"),
    Case("pca_above_one", lambda c: c.run("--pca", "2"), "--pca must be a fraction of variance in [0, 1]"),
    Case("pca_nan", lambda c: c.run("--pca", "nan"), "--pca must be a finite number, got nan"),
    Case("facet_weight_nan", lambda c: c.run("--facet-weight", "style=nan"),
         "--facet-weight style must be a finite number >= 0, got nan"),
    Case("facet_weight_without_value", lambda c: c.run("--facet-weight", "style"),
         "argument --facet-weight: expected FACET=W"),
    Case("seed_negative", lambda c: c.run("--seed", "-1"), "--seed must be an integer >= 0, got -1"),
    Case("batch_size_zero", lambda c: c.run("--batch-size", "0"), "--batch-size must be an integer >= 1"),
    Case("max_per_source_zero", lambda c: c.run("--max-per-source", "0"),
         "--max-per-source must be a positive integer, got 0"),
    Case("min_above_max_weight", lambda c: c.run("--min-weight", "0.8", "--max-weight", "0.2"),
         "need 0 <= --min-weight <= --max-weight <= 1"),
    Case("max_simulators_zero", lambda c: c.run("--max-simulators", "0"), "--max-simulators must be >= 1"),
    # --- data and output paths
    Case("data_path_missing", lambda c: ["run", "--data", str(c.tmp / "nowhere"), "--out", str(c.tmp / "o")],
         "not found: no such file or folder", lambda c: f"{c.tmp / 'nowhere'}"),
    Case("data_folder_empty",
         lambda c: ["run", "--data", str((c.tmp / "empty").mkdir() or c.tmp / "empty"), "--out", str(c.tmp / "o")],
         "no input files: found no *.jsonl", lambda c: f"{c.tmp / 'empty'}"),
    Case("out_under_a_file", lambda c: c.run("--out", str(c.file("f", "x") / "out")),
         "cannot write", lambda c: f"{c.tmp / 'f' / 'out'}"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_reports_one_line_error(ctx, capsys, case):
    argv = case.argv(ctx)
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and "internal error" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    line = err.rstrip("\n")
    assert line.startswith("error: ") and case.phrase in line, line
    if case.where is not None:
        assert case.where(ctx) in line, line


def test_errors_stay_on_one_line_on_a_narrow_terminal(ctx, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    long_dir = ctx.tmp / ("very-long-folder-name-" * 4)
    rc = main(["run", "--data", str(long_dir / "data.jsonl"), "--out", str(ctx.tmp / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {long_dir / 'data.jsonl'}: not found")


# ------------------------------------------------ the weights sampler (Python API)

SAMPLER_CASES = {
    "sum_below_one": ({"a": 0.5, "b": 0.3}, "weights must sum to 1 (within 1e-06), got 0.8"),
    "sum_above_one": ({"a": 0.7, "b": 0.7}, "got 1.4"),
    "negative": ({"a": 1.5, "b": -0.5}, "weights must be >= 0: b=-0.5"),
    "nan": ({"a": float("nan"), "b": 1.0}, "weights must be finite: a=nan"),
    "not_a_number": ({"a": "0.5", "b": 0.5}, "weights must be numbers: a='0.5'"),
    "empty": ({}, "must be a non-empty mapping"),
}


@pytest.mark.parametrize("name", list(SAMPLER_CASES))
def test_sampler_rejects_bad_weights(name):
    weights, phrase = SAMPLER_CASES[name]
    with pytest.raises(ValueError) as info:
        SimulatorSampler(weights)
    assert phrase in str(info.value) and "\n" not in str(info.value)


def _weights_file(tmp_path, doc) -> Path:
    p = tmp_path / "weights.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


FILE_CASES = {
    "wrong_schema": ({"schema": "other/v9", "weights": {"a": 1.0}}, None, "schema",
                     "unknown schema 'other/v9'"),
    "no_weights": ({"schema": "ensemble-fit/weights/v1"}, None, "weights", "missing"),
    "weights_not_summing": ({"schema": "ensemble-fit/weights/v1", "weights": {"a": 0.2}}, None, "weights",
                            "must sum to 1"),
    "per_task_unknown_simulator": ({"schema": "ensemble-fit/weights/v1", "weights": {"a": 1.0},
                                    "per_task": {"t": {"z": 1.0}}}, None, "per_task.t",
                                   "simulators missing from the global weights: ['z']"),
    "not_json": ('{"schema": "ensemble-fit/weights/v1",\n "weights": {', 2, None, "invalid JSON"),
    "top_level_list": ([1.0], None, None, "top level must be a JSON object, got list"),
}


@pytest.mark.parametrize("name", list(FILE_CASES))
def test_sampler_from_file_rejects_bad_files(tmp_path, name):
    from measure.errors import InputError
    doc, line, field, phrase = FILE_CASES[name]
    path = _weights_file(tmp_path, doc)
    with pytest.raises(InputError) as info:
        SimulatorSampler.from_file(path)
    err = info.value
    assert (err.file, err.line, err.field) == (str(path), line, field)
    assert phrase in err.message


def test_sampler_from_file_missing(tmp_path):
    from measure.errors import InputError
    with pytest.raises(InputError, match=r"cannot read: No such file or directory") as info:
        SimulatorSampler.from_file(tmp_path / "nope.json")
    assert info.value.file == str(tmp_path / "nope.json")


# ------------------------------------ awkward files through the whole CLI path

@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return baseline(tmp_path_factory)


def _copy_data(base, tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(base["data"], data)
    return data


def test_gzip_bom_crlf_files_give_the_same_run(base, tmp_path, capsys):
    data = _copy_data(base, tmp_path)
    terse = data / "sim_terse.jsonl"
    (data / "sim_terse.jsonl.gz").write_bytes(gzip.compress(terse.read_bytes()))
    terse.unlink()
    real = data / "real.jsonl"
    real.write_bytes(b"\xef\xbb\xbf" + real.read_bytes())
    corr = data / "sim_corrector.jsonl"
    corr.write_bytes(corr.read_bytes().replace(b"\n", b"\r\n"))
    cache = tmp_path / "cache"
    shutil.copytree(base["cache"], cache)
    out = tmp_path / "out"
    rc = main(run_args(data, out, cache, base["model"]))
    err = capsys.readouterr().err
    assert rc == 0, err
    assert encoded(err) == 0 and "warning:" not in err
    assert_same_outputs(out, base["outputs"])


def _with_huge_turn(base, tmp_path) -> tuple[Path, Path]:
    data = _copy_data(base, tmp_path)
    bad = data / "sim_terse.jsonl"
    record = {"id": "huge", "source": "sim_terse",
              "messages": [{"role": "user", "content": "y" * 5_000_000}, {"role": "assistant", "content": "ok"}]}
    lines = bad.read_text().splitlines()
    lines.insert(2, json.dumps(record))
    bad.write_text("\n".join(lines) + "\n")
    return data, bad


def test_five_megabyte_user_turn_is_a_located_error(base, tmp_path, capsys):
    data, bad = _with_huge_turn(base, tmp_path)
    rc = main(run_args(data, tmp_path / "out", tmp_path / "cache", base["model"]))
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {bad}:3, field 'messages[0].content': user turn too large: "
                          "5,000,000 characters, the cap is 1,000,000")
    # A record-level error says how to get past it.
    assert err.rstrip().endswith("(to skip bad records and count them, add --on-error skip)")


def test_five_megabyte_user_turn_is_skipped_and_counted(base, tmp_path, capsys):
    data, _ = _with_huge_turn(base, tmp_path)
    cache = tmp_path / "cache"
    shutil.copytree(base["cache"], cache)
    out = tmp_path / "out"
    rc = main(run_args(data, out, cache, base["model"], "--on-error", "skip"))
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "skipped 1 bad records: 1 user turn too large" in " ".join(err.split())
    assert encoded(err) == 0
    assert_same_outputs(out, base["outputs"])


def test_inspect_counts_the_skipped_record(base, tmp_path, capsys):
    data, _ = _with_huge_turn(base, tmp_path)
    assert main(["inspect", str(data)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 record(s) skipped: user turn too large (1)" in out


# ------------------------------------- valid config values that used to crash

def test_config_k_as_one_number_and_include_raw_twice(tmp_path):
    from ensemble.cli import build_parser, settings
    conf = tmp_path / "c.toml"
    conf.write_text("[measure]\nk = 20\ninclude_raw = true\nfacets = [\"style\", \"style\"]\n")
    args = build_parser().parse_args(["run", "--config", str(conf), "--include-raw"])
    m = settings.measure_config(args, settings.read_config(conf))
    assert (m.k_default, m.k, m.facets) == (20, {}, ("style", "raw_user_utterances"))
