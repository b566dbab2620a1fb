"""The discriminator on behaviour changes made to the same real users
(scripts/behaviour_change_auc.py, small version): changed populations are
told apart, an unchanged resample is not."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "behaviour_change_auc.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("behaviour_change_auc", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_transforms_keep_topics_and_change_behaviour(script):
    from measure.conversation import Conversation, Message
    c = Conversation("1", "real", (Message("user", "Fix my parser. It fails on empty input and I need it today."),
                                   Message("assistant", "Here is a fix."),
                                   Message("user", "Still broken on tabs, see the log below."),
                                   Message("assistant", "Try this.")))
    assert [m.content for m in script.first_turn_only(c).messages] == [c.messages[0].content, "Here is a fix."]
    short = script.shortened(c).messages
    assert short[0].content == "Fix my parser." and short[1] == c.messages[1]
    assert short[2].content == "Still broken on tabs, see the log below."
    pol = script.polite(c).messages
    assert pol[0].content.startswith("Hello! Fix my parser.") and pol[2].content.endswith("thank you so much!")
    assert pol[1] == c.messages[1]


def test_changed_populations_are_told_apart_unchanged_is_not(script, shared_cache, tmp_path):
    res = script.run(tmp_path, n_real=600, seed=0, cache=shared_cache)
    assert res["n_per_population"] == 200   # thirds: real, unchanged, the changed ones
    pops = res["populations"]
    for s in script.CHANGED:
        assert pops[s]["auc"] >= 0.75, (s, pops[s])
    u = pops["unchanged"]
    assert u["auc"] <= 0.6 and u["auc_ci"][0] <= 0.5 <= u["auc_ci"][1]
    assert res["passed"]
    # the unchanged resample is also closest by JS
    assert u["js"] < min(pops[s]["js"] for s in script.CHANGED)
