"""Shared fixtures. The demo run is expensive (about a minute with the real
embedding model), so it runs once per test session and every test that reads
its outputs shares it."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One embedding/codebook cache for the session, like a user's ~/.cache."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    from ensemble.demo.generator import write_demo
    return write_demo(tmp_path_factory.mktemp("demo-data"))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, demo_data, shared_cache) -> Path:
    """`ensemble-fit run` on the demo data, default settings."""
    from ensemble.cli import main
    out = tmp_path_factory.mktemp("demo-run")
    rc = main(["run", "--data", str(demo_data), "--out", str(out), "--cache", str(shared_cache), "--quiet"])
    assert rc == 0
    return out


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())
