"""The report reads at a glance: the answers at the top, a "how to read
this" line per section, whole captions, one word per mixture status, and
legends that cover no data."""
from __future__ import annotations

import re

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from ensemble.report import plots
from ensemble.report.render import (Details, Heading, Para, Table, _mixture_status, _pct, report_blocks,
                                    summary_blocks)
from tests.conftest import read_json


def _tables(blocks):
    for b in blocks:
        if isinstance(b, Table):
            yield b
        elif isinstance(b, Details):
            yield from _tables(b.blocks)


@pytest.fixture(scope="module")
def demo_blocks(demo_run):
    files = {n: read_json(demo_run / f"{n}.json") for n in ("measure", "weights", "explain", "simmap")}
    return files, report_blocks(files["measure"], files["weights"], files["explain"], files["simmap"])


def test_summary_answers_first(demo_blocks):
    files, _ = demo_blocks
    items = summary_blocks(files["measure"], files["weights"], files["explain"])[1].items
    heads = [re.match(r"[A-Za-z ]+", i).group(0).strip() for i in items]
    assert heads[:4] == ["Closest simulator", "Mixture to use", "Gain on held", "Noise floor"]
    ex = files["explain"]
    n_missed = sum(len(fx["summary"]["missed"]) for fx in ex["facets"].values())
    n_hall = sum(len(fx["summary"]["hallucinated"]) for fx in ex["facets"].values())
    assert heads.count("Missed") == max(1, min(3, n_missed)) and heads.count("Hallucinated") == min(3, n_hall) == 3
    ms, ws = files["measure"], files["weights"]
    assert ms["ranking"][0] in items[0] and f"{ms['gap'][ms['ranking'][0]]['overall']['js']:.4f}" in items[0]
    assert "95% CI" in items[0] and "95% CI" in items[1]
    h = ws["heldout"]
    assert f"{h['gain_vs_best_single']:.4f} bits better" in items[2] and "95% CI" in items[2]
    # the largest shortfall over every facet comes first
    if n_missed:
        f, d = max(((f, d) for f, fx in ex["facets"].items() for d in fx["summary"]["missed"]),
                   key=lambda fd: fd[1]["min_shortfall"])
        assert next(i for i in items if i.startswith("Missed #1")).startswith(
            f"Missed #1 ({f}): cluster #{d['cluster']} \"{d['label']}\"")
    else:
        assert "Missed: none; every real behaviour is supplied by at least one simulator." in items
    # hallucinated ones are ordered by excess, largest first
    hall = [i for i in items if i.startswith("Hallucinated #")]
    shares = [float(re.search(r"\", ([\d.]+)% of", i).group(1)) - float(re.search(r"against ([\d.]+)%", i).group(1))
              for i in hall]
    assert shares == sorted(shares, reverse=True)


def test_every_section_says_how_to_read_it(demo_blocks):
    _, blocks = demo_blocks
    for i, b in enumerate(blocks):
        if isinstance(b, Heading) and b.level == 2:
            nxt = blocks[i + 1]
            assert isinstance(nxt, Para) and nxt.text.startswith("How to read this: "), b.text


def test_captions_are_whole_sentences(demo_blocks):
    _, blocks = demo_blocks
    captions = [t.caption for t in _tables(blocks) if t.caption]
    assert captions
    for c in captions:
        assert c.rstrip().endswith((".", ")")), c


def test_mixture_status_is_one_word_set(demo_blocks):
    files, blocks = demo_blocks
    words = {"captured", "under", "missed", "over", "hallucinated", "not significant", "absent from both"}
    seen = set()
    for t in _tables(blocks):
        if "mixture status" in t.headers:
            col = t.headers.index("mixture status")
            seen |= {r[col] for r in t.rows}
    assert seen and seen <= words, seen - words
    assert _mixture_status({"mixture_status": None}) == "absent from both"


def test_small_shares_are_not_printed_as_zero():
    assert _pct(0.0) == "0.0%" and _pct(0.0004) == "<0.1%" and _pct(0.0005) == "0.1%" and _pct(None) == "-"


def test_status_legend_lies_outside_the_bars(demo_run):
    ex = read_json(demo_run / "explain.json")
    for facet in ex["facets"]:
        fig = plots.status_figure(ex, facet)
        FigureCanvasAgg(fig).draw()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent()
        assert legend.y1 <= ax.get_window_extent().y0, facet
        # cluster labels are wrapped, not cut
        for tick in ax.get_yticklabels():
            assert len(tick.get_text().split("\n")) <= 3
