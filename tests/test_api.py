"""The public Python API: its examples run, it writes what the CLI writes
byte for byte, the tour script works through it alone, every command goes
through one composition (the sweep honours or rejects each option of `run`),
and there is no import cycle."""
from __future__ import annotations

import argparse
import ast
import doctest
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ensemble
import measure
from ensemble.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ examples

@pytest.mark.parametrize("module", ["measure._api", "ensemble._api", "ensemble.assign", "ensemble.sampler",
                                    "ensemble.report.render"])
def test_docstring_examples_run(module, tmp_path, shared_cache):
    import importlib

    from ensemble.demo import write_demo
    write_demo(tmp_path / "demo", n_per_simulator=40, n_real=120)
    (tmp_path / "cache").symlink_to(shared_cache, target_is_directory=True)
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, extraglobs={"tmp": tmp_path}, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 3
    assert result.failed == 0


def test_every_public_function_has_numpydoc_sections():
    import inspect
    for mod in (measure, ensemble):
        for name in mod.__all__:
            obj = getattr(mod, name)
            fns = [obj] if inspect.isfunction(obj) else \
                [getattr(obj, m) for m in ("from_file",) if inspect.isclass(obj) and hasattr(obj, m)]
            for fn in fns:
                doc = fn.__doc__ or ""
                for section in ("Parameters\n", "Returns\n", "Examples\n"):
                    assert section in doc or (section == "Parameters\n" and not inspect.signature(fn).parameters), \
                        f"{mod.__name__}.{name} has no {section.strip()} section"


def test_public_functions_have_numpydoc_sections():
    for fn in (measure.load_conversations, measure.measure_gap, ensemble.fit_mixture, ensemble.sweep):
        doc = fn.__doc__ or ""
        for section in ("Parameters\n", "Returns\n", "Examples\n"):
            assert section in doc, f"{fn.__name__} has no {section.strip()} section"


# ------------------------------------------------------------------ API == CLI, byte for byte

def test_api_writes_the_cli_outputs_byte_for_byte(demo_data, demo_run, shared_cache, tmp_path):
    data = measure.load_conversations([demo_data])
    m = measure.measure_gap(data, measure.MeasureConfig(heldout_fraction=0.3), cache_dir=shared_cache)
    m.to_json(tmp_path / "measure.json")
    assert (tmp_path / "measure.json").read_bytes() == (demo_run / "measure.json").read_bytes()

    mix = ensemble.fit_mixture(m, ensemble.FitConfig())
    mix.to_json(tmp_path / "weights.json")
    assert (tmp_path / "weights.json").read_bytes() == (demo_run / "weights.json").read_bytes()

    # Typed access agrees with the file.
    import json
    doc = json.loads((demo_run / "measure.json").read_text())
    best = m.ranking[0]
    assert m.ranking == doc["ranking"]
    # The file rounds floats to 10 significant digits (byte-stable across platforms).
    assert m.gap[best].js == pytest.approx(doc["gap"][best]["overall"]["js"], rel=1e-9)
    assert m.gap[best].ci == pytest.approx(tuple(doc["gap"][best]["overall"]["js_ci"]), rel=1e-9)
    assert m.gap[best].facets["style"].js == pytest.approx(doc["gap"][best]["style"]["js"], rel=1e-9)
    assert m.floor.js == pytest.approx(doc["noise_floor"]["overall"]["js"], rel=1e-9)
    assert mix.heldout.best_single.name == json.loads((demo_run / "weights.json").read_text())[
        "heldout"]["best_single"]["name"]
    assert mix.heldout.gain == pytest.approx(mix.heldout.best_single.js - mix.heldout.mixture_js)


def test_tour_script_runs_on_the_api_alone(tmp_path, shared_cache):
    src = (ROOT / "scripts" / "api_tour.py").read_text()
    imported = {n.module or "" for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Import) for a in n.names}
    # Only the package faces (and the demo data writer) are used.
    assert {m for m in imported if m.split(".")[0] in ("measure", "ensemble")} <= {
        "measure", "ensemble", "ensemble.demo"}
    env = {**os.environ, "ENSEMBLE_FIT_CACHE": str(shared_cache), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "api_tour.py"), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "noise floor (real vs real)" in proc.stdout and "mixture:" in proc.stdout
    assert "100 episodes:" in proc.stdout
    assert (tmp_path / "measure.json").exists() and (tmp_path / "weights.json").exists()


# ------------------------------------------------------------------ one composition

class _Recorder(argparse.Namespace):
    """A namespace that remembers which options were read."""

    def __init__(self, **kw):
        super().__init__(**kw)
        object.__setattr__(self, "_read", set())

    def __getattribute__(self, name):
        if not name.startswith("_"):
            object.__getattribute__(self, "_read").add(name)
        return object.__getattribute__(self, name)


class _Stop(Exception):
    pass


def _subparser(name: str) -> argparse.ArgumentParser:
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _flags(parser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.option_strings and a.dest != "help"}


def _value_args(action: argparse.Action, data: Path, meta: Path) -> list[str]:
    """Command-line words that set `action` to a non-default value."""
    flag = action.option_strings[-1]
    special = {"data": str(data), "metadata": str(meta), "real": "real", "include": "sim_terse",
               "exclude": "sim_corrector", "facets": "style,requests", "k": "style=7",
               "facet_weight": "style=2", "where": None, "config": None, "max_turn_chars": "100000",
               "min_user_turns": "1", "max_per_source": "15", "min_conversations": "2",
               "embeddings": None, "extractor": "rules", "divergence": "kl_forward",
               "on_error": "skip", "base_url": "http://127.0.0.1:9/v1", "llm_model": "m",
               "embedding_model": None, "device": "cpu", "out": None, "cache": None,
               "verbose": None, "json": None}   # --verbose excludes --quiet; --json changes only printing
    if action.dest in special:
        return [] if special[action.dest] is None else [flag, special[action.dest]]
    if action.nargs == 0:
        return [flag]
    if action.type in (int,) or action.dest in ("seed",):
        return [flag, "3"]
    if action.type in (float,):
        return [flag, "0.5" if action.dest not in ("budget",) else "10"]
    raise AssertionError(f"test_api: give a value for {flag} in _value_args")


def test_sweep_honours_or_rejects_every_run_option(tmp_path, monkeypatch):
    from ensemble.demo import write_demo
    from ensemble.demo.generator import PERSONAS
    data = write_demo(tmp_path / "d", n_per_simulator=20, n_real=60)
    meta = tmp_path / "sims.toml"
    meta.write_text("".join(f'[[simulator]]\nname = "{p}"\ncost = 0.01\n' for p in PERSONAS))
    run_flags, sweep_flags = _flags(_subparser("run")), _flags(_subparser("sweep"))
    base = ["sweep", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")]

    # Options that `sweep` lacks are rejected at once, as usage errors.
    for dest in sorted(set(run_flags) - set(sweep_flags)):
        words = _value_args(run_flags[dest], data, meta) or [run_flags[dest].option_strings[-1]]
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args(base + words)
        assert exc.value.code == 2, dest

    # The shared ones: set each, run the command up to the sweep itself, and
    # check that every one of them was read.
    words = list(base)
    shared = sorted((set(run_flags) & set(sweep_flags)) - {"dry_run"})
    for dest in shared:
        words += _value_args(run_flags[dest], data, meta)
    args = build_parser().parse_args(words)
    rec = _Recorder(**vars(args))
    seen = {}

    def fake_sweep(ds, **kw):
        seen.update(kw, data=ds)
        raise _Stop

    import ensemble._api as api
    import measure.mauve_lens
    monkeypatch.setattr(api, "sweep", fake_sweep)
    # --mauve is checked for its optional package before the sweep starts; this
    # test is about which options are read, so it must not depend on the bench extra.
    monkeypatch.setattr(measure.mauve_lens, "check_available", lambda: None)
    from ensemble.cli.sweep import run_sweep_command
    with pytest.raises(_Stop):
        run_sweep_command(rec)
    unread = [d for d in shared if d not in rec._read]
    assert not unread, f"sweep accepts but ignores: {unread}"
    # And the values arrive where they belong.
    assert seen["representation"].batch_size == 3 and seen["representation"].concurrency == 3
    assert seen["measure_config"].k == {"style": 7} and seen["measure_config"].seed == 3
    assert seen["fit_config"].include == ["sim_terse"] and seen["fit_config"].divergence == "kl_forward"
    assert seen["costs"] == {p: 0.01 for p in PERSONAS}

    # --dry-run is honoured too: it applies to the LLM extractor and says so.
    rc = main(base + ["--data", str(data), "--dry-run", "--quiet"])
    assert rc == 2


def test_sweep_honours_precomputed_embeddings(tmp_path, shared_cache):
    import json

    from ensemble.demo import write_demo
    from measure.embed import Embedder
    from measure.facets.offline import describe_conversation
    data = write_demo(tmp_path / "d", n_per_simulator=40, n_real=120)
    ds = measure.load_conversations([data])
    vecs = Embedder(cache_dir=shared_cache).embed(
        [describe_conversation(c, ("style",))["style"].text for c in ds.conversations])
    np.savez(tmp_path / "emb.npz", ids=np.array([f"{c.source}/{c.id}" for c in ds.conversations]), style=vecs)
    out = tmp_path / "sweep"
    rc = main(["sweep", "--data", str(data), "--out", str(out), "--cache", str(shared_cache), "--quiet",
               "--facets", "style,requests", "--n-trials", "2", "--embeddings", str(tmp_path / "emb.npz")])
    assert rc == 0
    rep = json.loads((out / "sweep.json").read_text())["representation"]
    assert rep["precomputed_embeddings"]["facets"] == ["style"]
    assert rep["precomputed_embeddings"]["file"].endswith("emb.npz")


# ------------------------------------------------------------------ imports

def _module_imports(path: Path, package: str) -> set[str]:
    """Modules one file imports, at module level or inside functions (a lazy
    import is still a dependency); `if TYPE_CHECKING:` blocks never run."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    out = set()
    for n in ast.walk(tree):
        if id(n) in skip:
            continue
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            if n.level:
                base = package.split(".")
                base = base[:len(base) - n.level + 1]
                mod = ".".join(base + ([n.module] if n.module else []))
            else:
                mod = n.module or ""
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in n.names}
    return out


def _graph() -> dict[str, set[str]]:
    files = {}
    for top in ("measure", "ensemble"):
        for path in (ROOT / top).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            pkg = ".".join(parts[:-1]) if parts[-1] != "__init__" else name
            files[name] = (path, pkg)
    # `from . import plots` inside ensemble.report names a sibling module, not
    # the package's __init__: an edge to one's own package is not a cycle.
    return {name: {m for m in _module_imports(path, pkg)
                   if m in files and m != name and not name.startswith(m + ".")}
            for name, (path, pkg) in files.items()}


def test_measure_never_imports_ensemble():
    for path in (ROOT / "measure").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for n in ast.walk(tree):
            mods = ([a.name for a in n.names] if isinstance(n, ast.Import)
                    else [n.module or ""] if isinstance(n, ast.ImportFrom) and not n.level else [])
            assert not any(m == "ensemble" or m.startswith("ensemble.") for m in mods), path


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_light_faces():
    """`import measure` / `import ensemble` load no numerical library (names resolve on use)."""
    code = ("import sys, measure, ensemble\n"
            "heavy = [m for m in ('numpy', 'torch', 'cvxpy', 'optuna', 'sklearn') if m in sys.modules]\n"
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == ""


def test_measure_config_takes_one_k_as_the_issue_writes_it():
    import measure
    from measure.errors import ConfigError
    conf = measure.MeasureConfig(k=50, seed=0)            # as `--k 50`: every facet
    assert (conf.k, conf.k_default) == ({}, 50)
    assert measure.MeasureConfig(k={"style": 7}).k == {"style": 7}
    for bad in ({"k": "50"}, {"k": {"style": 0}}, {"k": 5, "k_default": 6}, {"k_default": True}):
        with pytest.raises(ConfigError):
            measure.MeasureConfig(**bad)


def test_configs_default_toml_spells_out_the_run_defaults():
    """configs/default.toml says it holds the defaults of `run`: passing it changes no setting."""
    from ensemble.cli import settings
    args = build_parser().parse_args(["run"])
    cfg = settings.read_config(ROOT / "configs" / "default.toml")
    assert settings.measure_config(args, cfg, heldout_default=0.3).to_dict() == \
        settings.measure_config(args, {}, heldout_default=0.3).to_dict()
    assert vars(settings.fit_config(args, cfg)) == vars(settings.fit_config(args, {}))
