"""The report: explain.json findings on the demo, and report.html/report.md
that render, carry the JSON numbers, escape user text and are byte-stable."""
from __future__ import annotations

import base64
import io
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from ensemble.report.render import print_explain_summary, write_report
from measure import divergence as dv
from measure.conversation import Conversation, Message
from measure.distributions import histogram
from measure.facet_table import FacetColumn, FacetTable
from measure.outputs import write_measure_outputs
from measure.pipeline import REAL, MeasureConfig, Measurement, Prepared, pairwise_matrix
from measure.results import NoiseFloor, SeedSpread, SimulatorGap

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- fixtures

# `demo_run` (tests/conftest.py): the default `ensemble-fit run` on the demo, once per session.


def _load(run: Path, name: str) -> dict:
    return json.loads((run / name).read_text(encoding="utf-8"))


def fake_measurement() -> Measurement:
    """Two facets, real users and two simulators, with user text that must be escaped."""
    rng = np.random.default_rng(0)
    texts = {"style": ["all caps shouting, urgent", "polite, thanks", "casual, emoji, slang", "terse lowercase"],
             "requests": ["asks to fix code", "asks to write an essay", "asks a why question"]}
    plan = {REAL: ([0.2, 0.5, 0.0, 0.3], [0.5, 0.3, 0.2]),
            "sim_a": ([0.0, 0.8, 0.0, 0.2], [0.5, 0.5, 0.0]),
            "sim_b": ([0.0, 0.0, 0.7, 0.3], [0.3, 0.3, 0.4])}
    convs, idx = [], {f: [] for f in texts}
    for src, (ps, pr) in plan.items():
        for i in range(200 if src == REAL else 100):
            convs.append(Conversation(id=f"{src}-{i}", source=src, messages=(
                Message("user", f"<script>alert({i})</script> | *fix* [this](http://x) & more"),
                Message("assistant", "ok"))))
            idx["style"].append(rng.choice(4, p=ps))
            idx["requests"].append(rng.choice(3, p=pr))
    cols = {}
    for f, t in texts.items():
        e = rng.normal(size=(len(t), 8))
        cols[f] = FacetColumn(f, t, np.array(idx[f], dtype=np.int32),
                              (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32))
    sources = np.array([c.source for c in convs], dtype=object)
    sims = ["sim_a", "sim_b"]
    prep = Prepared(conversations=convs, table=FacetTable(cols), facets=list(texts), sources=sources,
                    is_real=sources == REAL, heldout=np.zeros(len(convs), bool),
                    tasks=np.array([""] * len(convs), dtype=object), real_names=[REAL], simulators=sims,
                    embedder_key="fake")
    labels = {f: cols[f].index.copy() for f in texts}
    k = {f: len(t) for f, t in texts.items()}
    dist = {f: {s: histogram(labels[f][prep.rows_of(s)], k[f]) for s in [REAL, *sims]} for f in texts}
    fw = {f: 0.5 for f in texts}
    gap = {}
    for s in sims:
        row = {f: {**dv.all_divergences(dist[f][REAL], dist[f][s]), "js_ci": [0.0, 1.0]} for f in texts}
        js = sum(fw[f] * row[f]["js"] for f in texts)
        row["overall"] = {"js": js, "js_ci": [0.9 * js, 1.1 * js], "n": 100}
        gap[s] = row
    floor = {"overall": {"js": 0.01, "js_p95": 0.02}, "n_half": 100,
             **{f: {"js": 0.01, "js_p95": 0.02} for f in texts}}
    return Measurement(config=MeasureConfig(facets=tuple(texts)), prep=prep, k=k, facet_weights=fw,
                       labels=labels, dist=dist, gap={s: SimulatorGap.from_dict(gap[s], texts) for s in sims},
                       floor=NoiseFloor.from_dict(floor, texts),
                       seed_spread={s: SeedSpread(1, gap[s]["overall"]["js"], 0.0) for s in sims},
                       pairwise=pairwise_matrix(prep, dist, fw), by_task={}, by_family={})


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.imgs: list[dict] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def _md_table(md: str, first_header: str) -> tuple[list[str], list[list[str]]]:
    """The Markdown table whose header row starts with `first_header`."""
    lines = md.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_header} |"))
    split = lambda ln: [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", ln.strip())[1:-1]]  # noqa: E731
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append(split(ln))
    return split(lines[start]), rows


# ------------------------------------------------------ findings on the demo

def _statuses(fx: dict, cluster: int) -> dict[str, str]:
    """source -> status of one cluster (sources with no mass there and no real mass are absent)."""
    return {s: x["status"] for s, v in fx["sources"].items() for x in v["clusters"] if x["cluster"] == cluster}


def test_all_caps_urgency_is_missed_by_every_simulator_and_the_mixture(demo_run):
    ex = _load(demo_run, "explain.json")
    assert ex["mixture"] == "mixture" and "mixture" in ex["sources"]
    fx = ex["facets"]["style"]
    caps = [c for c in fx["clusters"] if re.search(r"caps|urgent", c["label"])]
    assert caps, [c["label"] for c in fx["clusters"]]
    # the planted behaviour is 10% of real users; the caps clusters hold most of it
    assert 0.05 < sum(c["mass"][REAL] for c in caps) < 0.2
    big = max(caps, key=lambda c: c["mass"][REAL])
    assert re.search(r"caps|urgent", big["label"]) and big["mass"][REAL] > 0.03
    status = _statuses(fx, big["id"])
    assert set(status) == set(ex["sources"])
    # The mixture misses it outright. A simulator whose users sometimes write
    # "asap" can share the coarse (k=20) cluster a little: it is then "under"
    # (under-represented), never captured.
    assert status["mixture"] == "missed"
    assert set(status.values()) <= {"missed", "under"}
    assert sum(v == "missed" for v in status.values()) >= len(status) - 2
    assert big["id"] in fx["missed_by_all"]
    for s in ex["sources"]:
        assert big["mass"][s] < 0.35 * big["mass"][REAL]
    # for the mixture it is the largest shortfall of the style facet
    assert fx["top_missed"]["mixture"][0]["cluster"] in [c["id"] for c in caps]
    # and the facet summary puts it first among behaviours no simulator supplies
    first = fx["summary"]["missed"][0]
    assert first["cluster"] == big["id"] and first["mixture_status"] == "missed"
    # the examples of the cluster are real users shouting
    assert {e["source"] for e in big["examples"]} == {REAL}
    assert all(re.search(r"[A-Z]{4,}.*!", e["snippet"]) for e in big["examples"])


def test_emoji_casual_is_hallucinated_by_its_persona(demo_run):
    ex = _load(demo_run, "explain.json")
    fx = ex["facets"]["style"]
    top = fx["top_hallucinated"]["sim_emoji_casual"]
    assert top and top[0]["status"] == "hallucinated"
    assert "emoji" in top[0]["label"]
    cluster = next(c for c in fx["clusters"] if c["id"] == top[0]["cluster"])
    assert cluster["mass"][REAL] < 0.2 * cluster["mass"]["sim_emoji_casual"]
    assert top[0]["p_adjusted"] < ex["params"]["alpha"]
    summ = fx["summary"]["hallucinated"][0]
    assert (summ["cluster"], summ["most"]) == (cluster["id"], "sim_emoji_casual")
    # personas that never use emoji do not hallucinate this cluster
    assert _statuses(fx, cluster["id"]).get("sim_polite_frontloader") in (None, "not significant", "captured")


def test_coverage_and_density_on_the_demo(demo_run):
    ex = _load(demo_run, "explain.json")
    cov = ex["coverage"]
    for s in ex["sources"]:
        for v in cov[s]["overall"].values():
            assert 0.0 <= v <= 1.0 + 1e-9
    # the mixture covers more real behaviour than the emoji persona, and invents less
    style = ex["facets"]["style"]["sources"]
    assert style["mixture"]["coverage"] > style["sim_emoji_casual"]["coverage"]
    assert style["mixture"]["density"] > style["sim_emoji_casual"]["density"]
    # a simulator absent from the caps cluster loses at least its real mass in coverage
    caps = max((c for c in ex["facets"]["style"]["clusters"] if re.search(r"caps|urgent", c["label"])),
               key=lambda c: c["mass"][REAL])
    absent = [s for s in ex["sources"] if caps["mass"].get(s, 0.0) == 0.0]
    assert absent
    assert all(style[s]["coverage"] <= 1.0 - caps["mass"][REAL] + 1e-9 for s in absent)


def test_simulator_map_on_the_demo(demo_run):
    sm = _load(demo_run, "simmap.json")
    ms = _load(demo_run, "measure.json")
    assert sorted(sm["order"]) == sorted(ms["pairwise"]["names"])
    assert len(sm["most_alike"]) == 5 and len(sm["most_distinct"]) == 5
    assert sm["most_alike"][0]["js"] <= sm["most_distinct"][0]["js"]
    # the planted real users mix three personas, so some pairs complement each other
    assert sm["complementary"]["n_complementary"] > 0
    best = sm["complementary"]["pairs"][0]
    assert best["js_mix"] < min(best["js_a"], best["js_b"])
    gap = ms["gap"]
    assert best["js_a"] == pytest.approx(gap[best["a"]]["overall"]["js"], rel=1e-6)


# ------------------------------------------------------------- the report

def test_html_is_self_contained_and_images_are_pngs(demo_run):
    html_path = demo_run / "report.html"
    page = _parse(html_path)
    assert "script" not in page.tags and "link" not in page.tags
    assert len(page.imgs) >= 5
    for img in page.imgs:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        raw = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert raw.startswith(PNG_MAGIC)
        pixels = imread(io.BytesIO(raw), format="png")
        assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50
    text = "".join(page.text)
    for section in ("Summary", "Ranking", "Gap per facet", "The mixture", "Behaviours captured",
                    "Simulator map"):
        assert section in text
    assert "http://" not in html_path.read_text() and "https://" not in html_path.read_text()


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no /usr/bin/chromium")
def test_html_renders_in_headless_chromium(demo_run, tmp_path):
    shot = tmp_path / "shot.png"
    subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    f"--screenshot={shot}", "--window-size=1200,2000",
                    (demo_run / "report.html").resolve().as_uri()], check=True, timeout=120,
                   capture_output=True)
    assert shot.exists() and shot.stat().st_size > 1000


def test_markdown_numbers_equal_the_json(demo_run):
    md = (demo_run / "report.md").read_text(encoding="utf-8")
    ms, ws = _load(demo_run, "measure.json"), _load(demo_run, "weights.json")
    head, rows = _md_table(md, "rank")
    assert head[:6] == ["rank", "simulator", "n", "JS", "CI low", "CI high"]
    assert [r[1] for r in rows] == ms["ranking"]
    for r in rows:
        g = ms["gap"][r[1]]["overall"]
        assert int(r[2]) == g["n"]
        assert float(r[3]) == round(g["js"], 4)
        assert [float(r[4]), float(r[5])] == [round(v, 4) for v in g["js_ci"]]
    head, rows = _md_table(md, f"simulator | {ms['facets'][0]}")  # the per-facet table
    assert head == ["simulator", *ms["facets"]]
    for r in rows[:-1]:
        assert [float(v) for v in r[1:]] == [round(ms["gap"][r[0]][f]["js"], 4) for f in ms["facets"]]
    head, rows = _md_table(md, "candidate")
    assert float(rows[0][1]) == round(ws["heldout"]["mixture_js"], 4)
    assert float(rows[1][1]) == round(ws["heldout"]["best_single"]["js"], 4)
    head, rows = _md_table(md, "simulator | weight")
    assert sorted(r[0] for r in rows) == sorted(ws["weights"])
    for name, w, lo, hi in rows:
        assert float(w) == round(ws["weights"][name], 3)
        assert [float(lo), float(hi)] == [round(v, 3) for v in ws["weights_ci"][name]]
    assert f"{ws['heldout']['gain_vs_best_single']:.4f}" in md
    # every plot the Markdown names exists beside it
    for rel in re.findall(r"\]\((plots/[^)]+\.png)\)", md):
        assert (demo_run / rel).read_bytes().startswith(PNG_MAGIC)


def test_report_command_rerenders_byte_identically(demo_run):
    from ensemble.cli import main
    before = {p.name: p.read_bytes() for p in [demo_run / "report.md", demo_run / "report.html",
                                               *sorted((demo_run / "plots").glob("*.png"))]}
    assert main(["report", str(demo_run)]) == 0
    after = {p.name: p.read_bytes() for p in [demo_run / "report.md", demo_run / "report.html",
                                              *sorted((demo_run / "plots").glob("*.png"))]}
    assert after == before


def test_terminal_summary_names_the_findings(demo_run):
    from rich.console import Console
    console = Console(record=True, width=200)
    print_explain_summary(console, _load(demo_run, "explain.json"))
    out = console.export_text()
    assert re.search(r"missed by every simulator[^\n]*#\d+ [^\n]*(caps|urgent)", out), out
    assert re.search(r"hallucinated[^\n]*#\d+ [^\n]*emoji[^\n]*sim_emoji_casual", out), out


# ------------------------------------------------- small hand-made measurement

def test_user_text_is_escaped_in_html_and_markdown(tmp_path):
    m = fake_measurement()
    write_measure_outputs(m, tmp_path)
    paths = write_report(tmp_path, measurement=m)
    assert {p.name for p in paths} >= {"report.html", "report.md", "explain.json", "simmap.json"}
    html_text = (tmp_path / "report.html").read_text()
    assert "<script>" not in html_text and "&lt;script&gt;alert(" in html_text
    page = _parse(tmp_path / "report.html")
    assert "script" not in page.tags and "a" not in page.tags
    md = (tmp_path / "report.md").read_text()
    assert "<script>" not in md and "\\<script\\>alert(" in md
    assert "\\*fix\\* \\[this\\](http://x)" in md
    # a snippet's '|' cannot break the Markdown table: every row of a table has its header's cell count
    for block in re.findall(r"(?:^\|.*\n)+", md, flags=re.M):
        counts = {len(re.split(r"(?<!\\)\|", ln)) for ln in block.splitlines()}
        assert len(counts) == 1, block


def test_report_without_weights_or_explain(tmp_path):
    m = fake_measurement()
    write_measure_outputs(m, tmp_path)
    paths = write_report(tmp_path)  # `ensemble-fit report` on a `measure` folder
    assert {p.name for p in paths} == {"report.html", "report.md"}
    md = (tmp_path / "report.md").read_text()
    assert "No weights.json" in md and "No explain.json" in md
    # the simulator map is rebuilt from measure.json and distributions.npz
    assert "Complementary pairs" in md


def test_explain_with_mixture_on_hand_made_measurement(tmp_path):
    from ensemble.report.explain import explain
    ex = explain(fake_measurement(), {"sim_a": 0.6, "sim_b": 0.4})
    fx = ex["facets"]["style"]
    labels = {c["id"]: c["label"] for c in fx["clusters"]}
    assert "caps" in labels[0] and "emoji" in labels[2]
    assert fx["missed_by_all"] == [0]
    assert [d["cluster"] for d in fx["summary"]["missed"]] == [0]
    assert fx["summary"]["hallucinated"][0]["cluster"] == 2 and fx["summary"]["hallucinated"][0]["most"] == "sim_b"
    st = {s: {x["cluster"]: x["status"] for x in v["clusters"]} for s, v in fx["sources"].items()}
    assert st["sim_a"][0] == st["sim_b"][0] == st["mixture"][0] == "missed"
    assert st["sim_b"][2] == st["mixture"][2] == "hallucinated" and 2 not in st["sim_a"]
    mass = {c["id"]: c["mass"] for c in fx["clusters"]}
    assert mass[1]["mixture"] == pytest.approx(0.6 * mass[1]["sim_a"] + 0.4 * mass[1]["sim_b"])
    # examples show both sides of a shared cluster
    shared = next(c for c in fx["clusters"] if c["id"] == 3)
    assert {e["source"] for e in shared["examples"]} == {REAL, "sim_a", "sim_b"}
    assert json.loads(json.dumps(ex)) == ex  # JSON-ready


def test_plots_are_pngs_and_byte_stable(tmp_path):
    from ensemble.report import plots
    from ensemble.report.explain import explain
    from ensemble.report.simmap import from_measurement
    m = fake_measurement()
    ms = json.loads(json.dumps(write_measure_outputs(m, tmp_path), default=lambda a: np.asarray(a).tolist()))
    ex = explain(m, {"sim_a": 0.5, "sim_b": 0.5})
    sm = from_measurement(m)
    weights = {"weights": {"sim_a": 0.5, "sim_b": 0.5}, "weights_ci": {"sim_a": [0.4, 0.6], "sim_b": [0.4, 0.6]}}
    calls = [lambda: plots.ranking_plot(ms), lambda: plots.facet_heatmap(ms), lambda: plots.weights_plot(weights),
             lambda: plots.pairwise_plot(sm, ms), lambda: plots.status_plot(ex, "style"),
             lambda: plots.status_plot(ex, "requests", "sim_b")]
    for call in calls:
        first, second = call(), call()
        assert first.startswith(PNG_MAGIC) and first == second
        assert b"Software" not in first and b"matplotlib" not in first


def test_terminal_summary_on_hand_made_measurement():
    from rich.console import Console

    from ensemble.report.explain import explain
    console = Console(record=True, width=200)
    print_explain_summary(console, explain(fake_measurement(), {"sim_a": 0.6, "sim_b": 0.4}))
    out = console.export_text()
    assert re.search(r"missed by every simulator[^\n]*#0 [^\n]*caps", out), out
    assert re.search(r"hallucinated[^\n]*#2 [^\n]*emoji[^\n]*sim_b", out), out


def test_report_on_a_folder_without_measure_json_is_a_clear_error(tmp_path):
    from measure.errors import EnsembleFitError
    with pytest.raises(EnsembleFitError, match="no measure.json"):
        write_report(tmp_path)


def test_corrupt_distributions_npz_still_renders(tmp_path):
    m = fake_measurement()
    write_measure_outputs(m, tmp_path)
    (tmp_path / "distributions.npz").write_bytes(b"not a zip")
    write_report(tmp_path)
    assert "No complementary pair" in (tmp_path / "report.md").read_text()
