"""The snippets of docs/rl-integration.md marked *tested* run as written, in a
fresh process, on a weights file with per-task mixtures and a task dataset."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ensemble.weights_file import write_weights

DOC = Path(__file__).resolve().parents[1] / "docs" / "rl-integration.md"
PER_TASK = {"math": {"sim_a": 0.2, "sim_b": 0.8}, "code": {"sim_a": 0.1, "sim_b": 0.3, "sim_c": 0.6},
            "chat": {"sim_a": 0.37, "sim_b": 0.33, "sim_c": 0.3}}


def _tested_snippets(text: str) -> list[str]:
    """The python block after each line that says (*tested*)."""
    out = []
    for m in re.finditer(r"\(\*tested\*\)[^\n]*\n(?:[^\n]*\n)*?```python\n(.*?)```", text, re.S):
        out.append(m.group(1))
    return out


def test_tested_snippets_run_and_give_balanced_counts(tmp_path):
    snippets = _tested_snippets(DOC.read_text())
    assert len(snippets) == 5
    write_weights(tmp_path / "weights.json", {"sim_a": 0.5, "sim_b": 0.3, "sim_c": 0.2}, per_task=PER_TASK)
    tasks = ["math", "code", "chat"]
    (tmp_path / "tasks.jsonl").write_text("".join(
        json.dumps({"id": f"t{i}", "task": tasks[i % 3], "prompt": f"prompt {i}"}) + "\n" for i in range(900)))
    checks = """
import json as _json
_rows = [_json.loads(l) for l in open("tasks.assigned.jsonl")]
assert ds.num_rows == 900 and ds["simulator"] == [r["simulator"] for r in _rows]
for _g in result.groups:
    _sims = [r["simulator"] for r in _rows if r["task"] == _g.task]
    assert all(abs(_sims.count(s) - len(_sims) * w) < 1 for s, w in _g.weights.items())
assert vf_dataset.column_names == ["question", "answer", "info"]
assert [i["simulator"] for i in vf_dataset["info"]] == ds["simulator"]
_verl = datasets.load_dataset("parquet", data_files="train.parquet", split="train")
assert [e["simulator"] for e in _verl["extra_info"]] == ds["simulator"]
assert all(e["interaction_kwargs"]["simulator"] == e["simulator"] for e in _verl["extra_info"])
assert sum(sampler.counts(task="math").values()) == 100
assert resumed.counts(task="math") == {**sampler.counts(task="math"), next_one: sampler.counts(task="math")[next_one] + 1}
assert next_one == sampler.draw(task="math")
print("ok")
"""
    script = "\n".join(snippets) + checks
    env = dict(os.environ, HF_DATASETS_CACHE=str(tmp_path / "hf-cache"), HF_DATASETS_OFFLINE="1",
               HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
    assert "math 300 {'sim_a': 60, 'sim_b': 240, 'sim_c': 0}" in out.stdout
