"""What the command line prints: tables that fit 80 columns with every
simulator name whole, --json on stdout with logs on stderr, --verbose and
--quiet, help on every option, inspect --strict, and the sweep's messages."""
from __future__ import annotations

import argparse
import copy
import io
import json

import pytest
from rich.console import Console

from ensemble.cli import build_parser, main, terminal
from tests.conftest import read_json


def _render(width: int, *renderables) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, force_terminal=False)
    for r in renderables:
        console.print(r)
    return console.file.getvalue()


def _all_tables(measure: dict, weights: dict, explain: dict | None) -> list:
    out = [terminal.ranking_table(measure), *terminal.mixture_tables(weights)]
    if explain is not None:
        out.append(terminal.explain_table(explain))
    return out


def _rename(measure: dict, weights: dict, old: str, new: str) -> tuple[dict, dict]:
    m, w = copy.deepcopy(measure), copy.deepcopy(weights)
    m["ranking"] = [new if s == old else s for s in m["ranking"]]
    m["gap"][new] = m["gap"].pop(old)
    m["codebook_seed_spread"][new] = m["codebook_seed_spread"].pop(old)
    w["weights"][new] = w["weights"].pop(old)
    if old in (w.get("weights_ci") or {}):
        w["weights_ci"][new] = w["weights_ci"].pop(old)
    for row in w.get("by_size") or []:
        if old in row["weights"]:
            row["weights"][new] = row["weights"].pop(old)
    if w.get("heldout", {}).get("best_single", {}).get("name") == old:
        w["heldout"]["best_single"]["name"] = new
    return m, w


def test_terminal_tables_fit_80_columns_with_every_name_whole(demo_run):
    measure, weights = read_json(demo_run / "measure.json"), read_json(demo_run / "weights.json")
    explain = read_json(demo_run / "explain.json")
    out = _render(80, *_all_tables(measure, weights, explain))
    lines = out.splitlines()
    assert max(len(ln) for ln in lines) <= 80, max(lines, key=len)
    for s in measure["ranking"]:
        # whole in the ranking and the per-facet table: once per row of each
        assert sum(s in ln.split() for ln in lines) >= 2, s
    for s, w in weights["weights"].items():
        if w >= 1e-4:
            assert any(s in ln.split() for ln in lines), s
    # every finding's simulators are named whole, under the behaviour
    for fx in explain["facets"].values():
        for d in fx["summary"]["hallucinated"][:2]:
            assert all(s in out for s in d["hallucinated_by"])
    # the per-facet JS moved to a second table, every number still shown
    assert "Per facet (JS, bits)" in out
    first = measure["ranking"][0]
    assert all(f"{measure['gap'][first][f]['js']:.3f}" in out for f in measure["facets"])
    # wide consoles keep one table
    wide = _render(200, terminal.ranking_table(measure))
    assert "Per facet (JS, bits)" not in wide and max(len(ln) for ln in wide.splitlines()) <= 200


def test_a_long_simulator_name_stays_whole_at_80_columns(demo_run):
    measure, weights = read_json(demo_run / "measure.json"), read_json(demo_run / "weights.json")
    long = "gpt-4o-mini-2024-07-18_persona-frontloader_v2"   # 46 characters
    m, w = _rename(measure, weights, measure["ranking"][0], long)
    out = _render(80, *_all_tables(m, w, None))
    assert max(len(ln) for ln in out.splitlines()) <= 80
    # in the ranking, the per-facet tables, the mixture weights and the held-out table
    assert sum(long in ln for ln in out.splitlines()) >= 4


def test_every_option_has_help():
    parser = build_parser()
    missing = []

    def walk(p: argparse.ArgumentParser, where: str) -> None:
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk(sub, f"{where} {name}")
            elif not isinstance(a, (argparse._HelpAction, argparse._VersionAction)):
                if not a.help or a.help == argparse.SUPPRESS:
                    missing.append(f"{where}: {'/'.join(a.option_strings) or a.dest}")

    walk(parser, "ensemble-fit")
    assert not missing, missing
    # the one place where --on-error's default differs says why
    sub = {a.dest: a for a in parser._subparsers._group_actions[0].choices["inspect"]._actions}
    assert "skip" in sub["on_error"].help and "every problem" in sub["on_error"].help


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("small-demo")
    assert main(["demo", "--out", str(d), "--n-per-simulator", "20", "--n-real", "60"]) == 0
    return d


FAST = ["--bootstrap", "5", "--codebook-seeds", "1"]


def test_measure_json_is_the_result_on_stdout(small_demo, tmp_path, shared_cache, capsys):
    out = tmp_path / "m"
    rc = main(["measure", "--data", str(small_demo), "--out", str(out), "--cache", str(shared_cache),
               "--json", "--verbose", *FAST])
    assert rc == 0
    std = capsys.readouterr()
    result = json.loads(std.out)
    assert result == read_json(out / "measure.json")
    # the table and the logs went to stderr
    assert "Behavioural gap" in std.err and "Behavioural gap" not in std.out
    assert "measure settings:" in std.err and "stage times:" in std.err


def test_run_json_and_quiet(small_demo, tmp_path, shared_cache, capsys):
    out = tmp_path / "r"
    rc = main(["run", "--data", str(small_demo), "--out", str(out), "--cache", str(shared_cache), "--json",
               "--quiet", "--no-report", "--weight-bootstrap", "2", *FAST])
    assert rc == 0
    std = capsys.readouterr()
    result = json.loads(std.out)
    assert result["weights"] == read_json(out / "weights.json")
    assert result["measure"]["ranking"] == read_json(out / "measure.json")["ranking"]
    # --quiet: results on stderr, no progress messages
    assert "Mixture weights" in std.err and "stage times" not in std.err


def test_quiet_and_verbose_exclude_each_other(capsys):
    assert main(["measure", "--data", "x", "--out", "y", "--quiet", "--verbose"]) == 2
    assert "not allowed with" in capsys.readouterr().err


def test_inspect_strict_exits_1_on_problems(tmp_path, capsys):
    (tmp_path / "sim_a.jsonl").write_text(json.dumps(
        {"id": "1", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
        + "\n" + json.dumps(
        {"id": "2", "messages": [{"role": "user", "content": "hey"}, {"role": "assistant", "content": "yo"}]})
        + "\n")
    assert main(["inspect", str(tmp_path)]) == 0
    assert "no real-user source" in capsys.readouterr().out
    assert main(["inspect", "--strict", str(tmp_path)]) == 1
    (tmp_path / "real.jsonl").write_text((tmp_path / "sim_a.jsonl").read_text())
    assert main(["inspect", "--strict", str(tmp_path)]) == 0


def test_sweep_says_when_the_study_is_complete_and_states_the_noise(small_demo, tmp_path, shared_cache, capsys):
    out = tmp_path / "s"
    args = ["sweep", "--data", str(small_demo), "--out", str(out), "--cache", str(shared_cache), "--n-trials", "2",
            "--noise-seeds", "1", "--quiet", "--json", *FAST]
    assert main(args) == 0
    std = capsys.readouterr()
    summary = json.loads(std.out)
    assert summary == read_json(out / "sweep.json")
    noise = summary["default_noise"]
    assert len(noise["values"]) == 2 and noise["values"][0] == summary["default"]["value"]
    err = " ".join(std.err.split())   # messages wrap at the console's width
    assert noise["std"] >= 0 and summary["noise_verdict"] in err
    assert summary["importances_caveat"] and "2 complete trials" in summary["importances_caveat"]
    assert "read them as a hint" in err
    assert "already has" not in std.err
    # the same --n-trials again: nothing to run, and it says how to add more
    assert main(args) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "already has 2 complete trials" in err and "--n-trials 22" in err
    assert "(0 run now)" in err


def test_noise_verdict_words():
    from ensemble.tune.study import noise_verdict
    noise = {"values": [0.10, 0.11, 0.12], "std": 0.01}
    assert "more than the yardstick's noise" in noise_verdict(0.05, noise)
    assert "within the yardstick's noise" in noise_verdict(0.015, noise)
    assert "the default settings are as good" in noise_verdict(0.015, noise)
    assert "no trial beats the default settings" in noise_verdict(0.0, noise)
    assert noise_verdict(None, noise) is None and noise_verdict(0.1, None) is None


def test_plan_json_is_the_plan_on_stdout(tmp_path, capsys):
    from ensemble.demo.generator import write_demo

    from tests.reliability_support import build_tiny_model
    model = build_tiny_model(tmp_path / "tiny-bert")
    data = write_demo(tmp_path / "demo", n_per_simulator=60, n_real=150)
    out = tmp_path / "plan"
    assert main(["plan", "--data", str(data), "--out", str(out), "--cache", str(tmp_path / "cache"),
                 "--embedding-model", str(model), "--k", "8", "--bootstrap", "10", "--codebook-seeds", "1",
                 "--plan-bootstrap", "6", "--budget", "120", "--json"]) == 0
    std = capsys.readouterr()
    assert json.loads(std.out) == read_json(out / "plan.json")
    assert "new conversations recommended" in std.err and "recommended" not in std.out.split("{", 1)[0]


def test_inspect_measure_and_plan_print_80_columns_with_names_whole(small_demo, tmp_path, shared_cache,
                                                                    capsys, monkeypatch):
    """The commands' own output (not just the table builders) at COLUMNS=80,
    with a 46-character simulator name among the sources."""
    import shutil

    from ensemble.cli import commands, setup

    data = tmp_path / "data"
    shutil.copytree(small_demo, data)
    long = "gpt-4o-mini-2024-07-18_persona-frontloader_v2"
    old = data / "sim_corrector.jsonl"
    (data / f"{long}.jsonl").write_text(old.read_text().replace('"source": "sim_corrector"',
                                                               f'"source": "{long}"'))
    old.unlink()
    names = sorted(p.stem for p in data.glob("*.jsonl"))
    monkeypatch.setenv("COLUMNS", "80")
    buf = io.StringIO()
    narrow = Console(width=80, file=buf, color_system=None)
    monkeypatch.setattr(commands, "console", narrow)
    monkeypatch.setattr(setup, "console", narrow)
    common = ["--cache", str(shared_cache), *FAST]
    for argv in (["inspect", str(data)],
                 ["measure", "--data", str(data), "--out", str(tmp_path / "m"), *common],
                 ["plan", "--data", str(data), "--out", str(tmp_path / "p"), "--budget", "100",
                  "--plan-bootstrap", "6", *common]):
        assert main(argv) == 0, argv
        std = capsys.readouterr()
        text = buf.getvalue() + std.out + std.err
        buf.seek(0), buf.truncate()
        lines = text.splitlines()
        assert max(len(ln) for ln in lines) <= 80, (argv[0], max(lines, key=len))
        for name in names:
            assert any(name in ln.split() for ln in lines), (argv[0], name)
        if argv[0] == "inspect":     # no column was dropped to make room
            assert all(h in text for h in ("user turns", "chars per", "English", "coding ("))
