"""report.html and report.md for a run folder.

Both are rendered from the JSON files in the folder (measure.json, and when
present weights.json, explain.json, simmap.json), read back from disk, so
every number in the report is one of those files' numbers. The page is built
once as a list of blocks, then written as Markdown (plots as PNG files in
plots/) and as a self-contained HTML page (plots inlined as data URIs).
"""
from __future__ import annotations

import base64
import html
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from . import plots
from . import simmap as simmap_mod
from .assigned import assigned_blocks, check_assignment
from .blocks import Bullets, Details, Heading, Image, Para, Table
from .explain import explain as explain_measurement
from measure.atomic import write_bytes, write_json, write_text
from measure.errors import EnsembleFitError
from measure.pipeline import FLOOR_NOTE, TOO_FEW
from measure.outputs import read_pairwise
from measure.run_folder import check_run_folder, data_fingerprint, measurement_run_id

PLOTS_DIR = "plots"


def _f(x, nd: int = 4) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _pct(x) -> str:
    # "<0.1%", not "0.0%": a share too small to print is still not zero
    return "-" if x is None else ("<0.1%" if 0 < x < 0.0005 else f"{100 * x:.1f}%")


def _p(x) -> str:
    return "-" if x is None else (f"{x:.1e}" if x < 1e-3 else f"{x:.3f}")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


# --------------------------------------------------------------- sections

def _top_behaviours(explain: dict | None, kind: str, n: int = 3) -> list[tuple[str, dict]]:
    """The n largest findings over every facet: missed (largest shortfall of
    even the closest simulator first) or hallucinated (largest excess first)."""
    if not explain:
        return []
    key = "min_shortfall" if kind == "missed" else "max_excess"
    found = [(f, d) for f, fx in explain["facets"].items() for d in (fx.get("summary") or {}).get(kind, [])]
    return sorted(found, key=lambda fd: (-fd[1][key], fd[0], fd[1]["cluster"]))[:n]


def summary_blocks(measure: dict, weights: dict | None, explain: dict | None) -> list:
    """The answers first: closest simulator, mixture to use, its gain with a
    CI, the top 3 missed and top 3 hallucinated behaviours."""
    items = []
    best = measure["ranking"][0] if measure["ranking"] else None
    floor = measure["noise_floor"]["overall"]
    if best:
        g = measure["gap"][best]["overall"]
        times = f", {g['js'] / floor['js']:.1f} x the noise floor" if floor["js"] > 0 else ""
        items.append(f"Closest simulator: {best}, JS {_f(g['js'])} (95% CI {_f(g['js_ci'][0])} to "
                     f"{_f(g['js_ci'][1])}){times}.")
    if weights:
        w, wci = weights["weights"], weights.get("weights_ci") or {}
        mix = ", ".join(f"{s} {w[s]:.3f}" + (f" ({wci[s][0]:.3f} to {wci[s][1]:.3f})" if s in wci else "")
                        for s in sorted(w, key=lambda s: (-w[s], s)) if w[s] >= 0.0005)
        items.append(f"Mixture to use: {mix} (weight, 95% CI; weights.json holds it for training loops).")
        h = weights.get("heldout")
        if h:
            items.append(f"Gain on held-out real users: the mixture scores JS {_f(h['mixture_js'])}"
                         f"{_ci(h, 'mixture_js_ci')} against {_f(h['best_single']['js'])}"
                         f"{_ci(h, 'best_single_js_ci')} for the best single simulator ({h['best_single']['name']}): "
                         f"{_f(h['gain_vs_best_single'])} bits better{_ci(h, 'gain_ci')}"
                         + (f", one-sided p = {h['gain_p']:.3f} (paired bootstrap)" if h.get("gain_p") is not None
                            else "") + ".")
    note = FLOOR_NOTE.split(": ", 1)[1] if FLOOR_NOTE.startswith("noise floor: ") else FLOOR_NOTE
    items.append(f"Noise floor: JS {_f(floor['js'])} (95th percentile {_f(floor.get('js_p95'))}), {note}.")
    if explain:
        mix = explain.get("mixture")
        missed = _top_behaviours(explain, "missed")
        for i, (f, d) in enumerate(missed, 1):
            m = (f"; the mixture: {_pct(d['p_mixture'])}, {_mixture_status(d)}" if mix else "")
            items.append(f"Missed #{i} ({f}): cluster #{d['cluster']} \"{d['label']}\", {_pct(d['p_real'])} of real "
                         f"users; no simulator supplies it, the closest is {d['closest']} with "
                         f"{_pct(d['p_closest'])}{m}.")
        if not missed:
            items.append("Missed: none; every real behaviour is supplied by at least one simulator.")
        elif len(missed) < 3:
            items.append(f"Only {len(missed)} behaviour{'s are' if len(missed) > 1 else ' is'} missed by every "
                         "simulator; the others are supplied by at least one.")
        hall = _top_behaviours(explain, "hallucinated")
        for i, (f, d) in enumerate(hall, 1):
            m = (f"; the mixture: {_pct(d['p_mixture'])}, {_mixture_status(d)}" if mix else "")
            items.append(f"Hallucinated #{i} ({f}): cluster #{d['cluster']} \"{d['label']}\", {_pct(d['p_most'])} of "
                         f"{d['most']}'s conversations against {_pct(d['p_real'])} of real users{m}.")
        if not hall:
            items.append("Hallucinated: none; no simulator shows a behaviour real users lack.")
        elif len(hall) < 3:
            items.append(f"Only {len(hall)} hallucinated behaviour{'s' if len(hall) > 1 else ''} in all.")
    return [Heading(2, "Summary"), Bullets(items),
            Para("Method: each conversation is described along behaviour facets; descriptions "
                 "are grouped into clusters shared by all sources, and a source's behaviour is its share of "
                 "conversations per cluster. The gap is the Jensen-Shannon divergence (JS, bits, 0 = same "
                 "behaviour, 1 = disjoint) between real users' and a simulator's shares.")]


def _mixture_status(d: dict) -> str:
    """The mixture's status in a cluster; a cluster neither real users nor the
    mixture show has none, and is named so instead of a dash."""
    return d.get("mixture_status") or "absent from both"


def _ci(d: dict, key: str) -> str:
    ci = d.get(key)
    return f" (95% CI {_f(ci[0])} to {_f(ci[1])})" if ci else ""


def ranking_blocks(measure: dict) -> list:
    floor = measure["noise_floor"]["overall"]["js"]
    rows = []
    for r, s in enumerate(measure["ranking"], 1):
        g = measure["gap"][s]["overall"]
        if measure["gap"][s].get("too_few_conversations"):
            rows.append([str(r), s, str(g["n"]), TOO_FEW, "-", "-", "-", "-", "-"])
            continue
        spread = (measure.get("codebook_seed_spread") or {}).get(s, {}).get("std")
        d = measure["gap"][s].get("discriminator")
        rows.append([str(r), s, str(g["n"]), _f(g["js"]), _f(g["js_ci"][0]), _f(g["js_ci"][1]),
                     f"{g['js'] / floor:.1f}" if floor > 0 else "-", _f(spread),
                     f"{d['auc']:.3f} [{d['auc_ci'][0]:.3f}, {d['auc_ci'][1]:.3f}]" if d else "-"])
    return [Heading(2, "1. Ranking: how far each simulator is from real users"),
            Image("ranking.png", plots.ranking_plot(measure), "ranking of simulators by JS gap"),
            Table(["rank", "simulator", "n", "JS", "CI low", "CI high", "x floor", "seed std", "AUC [95% CI]"], rows,
                  f"Overall gap (facet-weighted JS, bits). x floor: the gap over the noise floor ({_f(floor)}; "
                  "see the summary). CI: 95% bootstrap over conversations. Seed std: spread over codebook seeds. "
                  "AUC: see the next section.")]


def discriminator_blocks(measure: dict, explain: dict | None) -> list:
    """The classifier lens: AUC per simulator, what gives each one away, and
    where it orders simulators differently from JS."""
    from measure.discriminator import disagreements
    gaps = measure["gap"]
    sims = [s for s in measure["ranking"] if "discriminator" in gaps[s] and not gaps[s].get("too_few_conversations")]
    if not sims:
        return []
    labels = {}
    for f, fx in ((explain or {}).get("facets") or {}).items():
        labels.update({(f, c["id"]): c["label"] for c in fx.get("clusters", [])})
    floor = measure["noise_floor"]
    rows = []
    for s in sims:
        d = gaps[s]["discriminator"]
        tells = "; ".join(f"{t['facet']} #{t['cluster']} {labels.get((t['facet'], t['cluster']), '')}".rstrip()
                          + f" ({_pct(t['share_sim'])} vs {_pct(t['share_real'])} of real users)"
                          for t in d.get("top_features", [])[:3])
        rows.append([s, _f(gaps[s]["overall"]["js"]), f"{d['auc']:.3f}", f"{d['auc_ci'][0]:.3f}",
                     f"{d['auc_ci'][1]:.3f}", tells or "-"])
    pairs = disagreements({s: (gaps[s]["overall"]["js"], tuple(gaps[s]["overall"]["js_ci"])) for s in sims},
                          {s: (gaps[s]["discriminator"]["auc"], tuple(gaps[s]["discriminator"]["auc_ci"]))
                           for s in sims})
    out = [Heading(2, "1b. A second lens: can a classifier tell them apart?"),
           Para("For each simulator a logistic regression, cross-validated in 5 folds, tries to tell its "
                "conversations from real users' on the same facets (cluster one-hots and embedding components). "
                "AUC 0.5: it cannot; 1.0: every conversation gives the simulator away. The same classifier on "
                f"two halves of real users scores {floor.get('discriminator_auc', float('nan')):.3f} "
                "(the floor). The ranking stays by JS; the behaviours listed are the clusters that weigh most "
                "in the classifier (share of the simulator's conversations vs real users')."),
           Table(["simulator", "JS", "AUC", "CI low", "CI high", "what gives it away"], rows,
                 "Out-of-fold ROC AUC with a 95% bootstrap CI.")]
    if pairs:
        out.append(Bullets([f"The lenses disagree: JS puts {a} closer to real users than {b}, yet the classifier "
                            f"spots {a} more easily (AUC {gaps[a]['discriminator']['auc']:.3f} vs "
                            f"{gaps[b]['discriminator']['auc']:.3f}): {a} differs less overall but in "
                            f"sharper, more telling behaviours." for a, b in pairs[:5]]))
    else:
        out.append(Para("The two lenses agree: no pair of simulators is ordered one way by JS and the other "
                        "way by AUC with both differences beyond their CIs."))
    return out


def facet_blocks(measure: dict) -> list:
    facets = measure["facets"]
    rows = [[s, *[_f(measure["gap"][s][f]["js"]) for f in facets]] for s in measure["ranking"]]
    rows.append(["noise floor", *[_f(measure["noise_floor"].get(f, {}).get("js")) for f in facets]])
    return [Heading(2, "2. Gap per facet"),
            Para("Which kind of behaviour is off: requests (what users ask), context (what they supply), "
                 "responses (how they react), style (tone and form), dialogue acts (turn structure)."),
            Image("facets.png", plots.facet_heatmap(measure), "per-facet gap heatmap"),
            Table(["simulator", *facets], rows, "JS per facet (bits).")]


def mixture_blocks(weights: dict | None) -> list:
    out: list = [Heading(2, "3. The mixture")]
    if not weights:
        return out + [Para("No weights.json in this folder: run 'ensemble-fit run' to fit a mixture.")]
    w, ci = weights["weights"], weights.get("weights_ci") or {}
    rows = [[s, _f(w[s], 3), _f(ci[s][0], 3) if s in ci else "-", _f(ci[s][1], 3) if s in ci else "-"]
            for s in sorted(w, key=lambda s: (-w[s], s))]
    sol = weights.get("solver") or {}
    out += [Para("Weights minimise the facet-weighted JS between the weighted mix of simulators and the "
                 "real users of the fit split; the held-out real users never influenced them."),
            Image("weights.png", plots.weights_plot(weights), "mixture weights with confidence intervals"),
            Table(["simulator", "weight", "CI low", "CI high"], rows,
                  f"Solver: {sol.get('method', '-')} / {sol.get('solver', '-')}, status {sol.get('status', '-')}.")]
    h = weights.get("heldout")
    if h:
        def lohi(key):
            ci = h.get(key)
            return [_f(ci[0]), _f(ci[1])] if ci else ["-", "-"]
        p = h.get("gain_p")
        out.append(Table(["candidate", "held-out JS", "CI low", "CI high"], [
            ["mixture", _f(h["mixture_js"]), *lohi("mixture_js_ci")],
            [f"best single ({h['best_single']['name']})", _f(h["best_single"]["js"]), *lohi("best_single_js_ci")],
            ["gain of the mixture over the best single" + (f" (one-sided p = {p:.3f})" if p is not None else ""),
             _f(h.get("gain_vs_best_single")), *lohi("gain_ci")],
            ["uniform over all simulators", _f(h["uniform_js"]), "-", "-"],
            [f"greedy forward ({', '.join(h['greedy']['support'])})", _f(h["greedy"]["js"]), "-", "-"],
            ["real users: fit split vs held-out", _f(h["real_vs_real_js"]), "-", "-"]],
            f"Held-out real users (n = {h.get('n_real_heldout', '-')}); lower is better. CIs and p-value: "
            "paired bootstrap over held-out users and simulator conversations, weights fixed."))
    if weights.get("by_size"):
        rows = [[str(r["size"]), r["method"],
                 ", ".join(f"{s} {v:.3f}" for s, v in sorted(r["weights"].items(), key=lambda x: (-x[1], x[0]))),
                 _f(r["fit_js"]), _f(r.get("heldout_js"))] for r in weights["by_size"]]
        fewer = [str(r["size"]) for r in weights["by_size"] if len(r["weights"]) < r["size"]]
        out.append(Table(["size", "method", "simulators", "fit JS", "held-out JS"], rows,
                         "Best combination of each size (at most that many simulators)."
                         + (f" Size {', '.join(fewer)}: no mix of that many simulators fits better than the one "
                            "shown, so it keeps fewer." if fewer else "")))
    return out


def _cluster_rows(items: list[dict], source: str) -> list[list[str]]:
    return [[source, f"#{x['cluster']}", x["label"], x["status"], _pct(x["p_real"]), _pct(x["p_sim"]),
             _p(x["p_adjusted"])] for x in items]


def behaviour_blocks(explain: dict | None, n_per_source: int = 3) -> list:
    out: list = [Heading(2, "4. Behaviours captured, missed and hallucinated")]
    if not explain:
        return out + [Para("No explain.json in this folder: it is written by 'ensemble-fit run'.")]
    prm = explain["params"]
    d = explain["definitions"]
    lo, hi = prm["band"]
    out.append(Para(
        f"Per cluster, real users' share is compared with each simulator's share (two-proportion test, "
        f"Fisher's exact where cells are small, "
        f"{prm['correction'].upper()}-corrected over the clusters of a facet, significance level {prm['alpha']}). "
        f"Captured: shares within a factor {lo:g} to {hi:g} of each other. Missed: real behaviour the simulator "
        f"shows at less than 1/{prm['gross']:g} of the real share; under: between that and the band. "
        f"Hallucinated: behaviour real users show at less than 1/{prm['gross']:g} of the simulator's share; "
        f"over: between. Not significant: outside the band, but the difference may be sampling noise. "
        f"Absent from both: a cluster that neither real users nor the mixture show (in the mixture "
        f"columns). Coverage: {d['coverage']}. Density: {d['density']}."))
    src = explain["sources"]
    rows = []
    for s in src:
        cov = explain["coverage"][s]["overall"]
        tot = {k: sum(explain["facets"][f]["sources"][s]["counts"][k] for f in explain["facets"])
               for k in ("captured", "missed", "under", "hallucinated", "over")}
        rows.append([s, _f(cov["coverage"], 3), _f(cov["density"], 3), str(tot["captured"]),
                     str(tot["missed"] + tot["under"]), str(tot["hallucinated"] + tot["over"])])
    out.append(Table(["source", "coverage", "density", "captured", "missed/under", "hallucinated/over"], rows,
                     "Coverage and density averaged over facets (facet weights); cluster counts summed over facets."))
    for f, fx in explain["facets"].items():
        labels = {c["id"]: c for c in fx["clusters"]}
        out.append(Heading(3, f"Facet: {f}"))
        focus = explain.get("mixture") or (src[0] if src else None)
        if focus:
            out.append(Image(f"status-{_safe(f)}.png", plots.status_plot(explain, f, focus),
                             f"{f}: real vs {focus} mass per cluster"))
        mix, real = explain.get("mixture"), explain["real"]
        summ = fx.get("summary") or {"missed": [], "hallucinated": []}
        mix_cells = lambda d: [_pct(d["p_mixture"]), _mixture_status(d)] if mix else ["-", "-"]  # noqa: E731
        if summ["missed"]:
            out.append(Table(["cluster", "label", "real share", "closest simulator", "its share",
                              "mixture share", "mixture status"],
                             [[f"#{d['cluster']}", d["label"], _pct(d["p_real"]), d["closest"], _pct(d["p_closest"]),
                               *mix_cells(d)] for d in summ["missed"]],
                             "Real behaviour no simulator supplies: every simulator misses or under-represents it, "
                             "so no mixture of them can supply it."))
        else:
            out.append(Para("Every real behaviour of this facet is supplied by at least one simulator."))
        if summ["hallucinated"]:
            out.append(Table(["cluster", "label", "real share", "simulator", "its share", "also by",
                              "mixture share", "mixture status"],
                             [[f"#{d['cluster']}", d["label"], _pct(d["p_real"]), d["most"], _pct(d["p_most"]),
                               ", ".join(s for s in d["hallucinated_by"] if s != d["most"]) or "-", *mix_cells(d)]
                              for d in summ["hallucinated"]],
                             "Behaviour simulators invent or overdo (largest excess first)."))
        head = ["source", "cluster", "label", "status", "real share", "sim share", "adj. p"]
        if mix:
            rows = _cluster_rows(fx["top_missed"][mix], mix) + _cluster_rows(fx["top_hallucinated"][mix], mix)
            out.append(Table(head, rows, "Where the mixture still differs from real users.") if rows
                       else Para("The mixture shows no significant difference from real users in this facet."))
        missed = [r for s in explain["simulators"] for r in _cluster_rows(fx["top_missed"][s][:n_per_source], s)]
        hall = [r for s in explain["simulators"] for r in _cluster_rows(fx["top_hallucinated"][s][:n_per_source], s)]
        out.append(Details(f"Per simulator: largest misses and excesses ({f})", [
            Table(head, missed, "Missed or under-represented real behaviour (largest shortfall first).")
            if missed else Para("No significantly missed behaviour."),
            Table(head, hall, "Hallucinated or over-represented behaviour (largest excess first).")
            if hall else Para("No significantly hallucinated behaviour.")]))
        named = sorted({d["cluster"] for d in summ["missed"] + summ["hallucinated"]} |
                       {x["cluster"] for s in explain["sources"]
                        for x in fx["top_missed"][s][:n_per_source] + fx["top_hallucinated"][s][:n_per_source]})
        if named:
            crow = []
            for c in named:
                ci = labels[c]
                ex = [f"[{e['source']} {e['id']}] {e['snippet']}" for e in ci["examples"]]
                crow.append([f"#{c}", ci["label"], ci.get("description", ""), str(ci["size"]),
                             _pct(ci["mass"][real]), _pct(ci["mass"][mix]) if mix else "-", ex])
            out.append(Details(f"Clusters named above, with example conversations ({f})", [
                Table(["cluster", "label (its most distinctive phrases)", "typical description", "members",
                       "real share", "mixture share", "examples (first user turns)"], crow,
                      "A label names what sets the cluster apart from the facet's other clusters; the typical "
                      "description is the member nearest the cluster's centre, and the examples are the "
                      "conversations nearest it.")]))
    return out


def simmap_blocks(simmap: dict | None, measure: dict) -> list:
    out: list = [Heading(2, "5. Simulator map")]
    if not simmap:
        return out + [Para("No simulator map available.")]
    out.append(Para("Simulators that sit close together behave alike and can replace each other in a mixture; "
                    "complementary pairs cover each other's gaps, so their 50/50 mix is closer to real users "
                    "than either alone."))
    out.append(Image("simmap.png", plots.pairwise_plot(simmap, measure), "pairwise JS heatmap with dendrogram"))
    pairs = lambda ps: [[p["a"], p["b"], _f(p["js"])] for p in ps]  # noqa: E731
    out.append(Table(["simulator", "simulator", "JS"], pairs(simmap["most_alike"]), "Most alike pairs."))
    out.append(Table(["simulator", "simulator", "JS"], pairs(simmap["most_distinct"]), "Most distinct pairs."))
    comp = simmap.get("complementary") or {}
    if comp.get("pairs"):
        out.append(Table(["simulator a", "simulator b", "JS a", "JS b", "JS 50/50", "gain"],
                         [[p["a"], p["b"], _f(p["js_a"]), _f(p["js_b"]), _f(p["js_mix"]), _f(p["gain"])]
                          for p in comp["pairs"]],
                         f"Complementary pairs: {comp['n_complementary']} of {comp['n_pairs']} pairs."))
    else:
        out.append(Para("No complementary pair: no 50/50 mix beats both of its members."))
    groups = simmap.get("groups") or {}
    grows = [[attr, g, str(v["n"]), _f(v["mean_js"]), _f(v["min_js"]), _f(v["max_js"])]
             for attr in ("family", "size") for g, v in (groups.get(attr) or {}).items()]
    if grows:
        out.append(Table(["by", "group", "n", "mean JS", "min JS", "max JS"], grows, "Gap by family and size."))
    return out


# One line per section, right under its heading (keyed by the heading's start).
HOW_TO_READ = {
    "Summary": "the answers first; every number has its 95% CI, and the sections below hold the details.",
    "1. Ranking": "lower is closer to real users (JS 0 = the same behaviour, 1 = nothing in common); two "
                  "simulators whose CIs overlap are not clearly apart; 'x floor' is the gap in units of the "
                  "noise floor, so 1 means as close as two samples of real users.",
    "1b.": "AUC 0.5 means a classifier cannot tell the simulator from real users, 1.0 that every "
           "conversation gives it away; compare it with the floor, the same classifier on real users alone.",
    "2. Gap per facet": "each column is one kind of behaviour; a cell far above the noise-floor row is where the "
                        "simulator is off.",
    "3. The mixture": "the weights are the share of training conversations to draw from each simulator; the "
                      "held-out table says whether the mixture beats the best single simulator on real users it "
                      "never saw, and how close it gets to the real-vs-real row.",
    "The mixture in training": "compare the mixture training actually drew with the fitted one; the predicted "
                               "gap says what the difference costs.",
    "4. Behaviours": "each cluster is a behaviour, named by its most distinctive description phrases; compare "
                     "real users' share with a simulator's or the mixture's: missed and hallucinated are the "
                     "large, significant differences, and captured means the shares agree within the band below.",
    "5. Simulator map": "darker cells are pairs that behave more differently; simulators close in the tree can "
                        "replace each other, and complementary pairs are worth mixing.",
}


def with_how_to_read(blocks: list) -> list:
    """Put the section's "How to read this" line under each section heading."""
    out = []
    for b in blocks:
        out.append(b)
        if isinstance(b, Heading) and b.level == 2:
            line = next((v for k, v in HOW_TO_READ.items() if b.text.startswith(k)), None)
            if line:
                out.append(Para(f"How to read this: {line}"))
    return out


def report_blocks(measure: dict, weights: dict | None, explain: dict | None, simmap: dict | None,
                  assigned=None) -> list:
    n = measure["n"]
    intro = Para(f"{len(measure['simulators'])} simulators against {n.get('real', '-')} real-user conversations "
                 f"({measure.get('n_heldout_real', 0)} more held out); facets: {', '.join(measure['facets'])}; "
                 f"clusters per facet: {', '.join(f'{f} {k}' for f, k in measure['k'].items())}. "
                 f"ensemble-fit {measure.get('version', '')}, data fingerprint {measure.get('data_fingerprint', '-')}, "
                 f"run id {measure.get('run_id', '-')}.")
    return with_how_to_read([Heading(1, "ensemble-fit report"), intro, *summary_blocks(measure, weights, explain),
                             *ranking_blocks(measure), *discriminator_blocks(measure, explain), *facet_blocks(measure),
                             *mixture_blocks(weights), *assigned_blocks(assigned),
                             *behaviour_blocks(explain), *simmap_blocks(simmap, measure)])


# --------------------------------------------------------------- renderers

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def _md(text: str) -> str:
    """Backslash-escape Markdown syntax so user text stays text (CommonMark
    allows escaping any ASCII punctuation); underscores inside words are safe."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def to_markdown(blocks: list, plots_dir: str = PLOTS_DIR) -> str:
    lines: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + _md(b.text), ""]
        elif isinstance(b, Para):
            lines += [_md(b.text), ""]
        elif isinstance(b, Bullets):
            lines += [f"- {_md(i)}" for i in b.items] + [""]
        elif isinstance(b, Table):
            if b.caption:
                lines += [f"*{_md(b.caption)}*", ""]
            lines.append("| " + " | ".join(_md(h) for h in b.headers) + " |")
            lines.append("|" + "|".join("---" for _ in b.headers) + "|")
            lines += ["| " + " | ".join(_md(" / ".join(c) if isinstance(c, list) else c) for c in r) + " |"
                      for r in b.rows]
            lines.append("")
        elif isinstance(b, Image):
            lines += [f"![{_md(b.alt)}]({plots_dir}/{b.name})", ""]
        elif isinstance(b, Details):
            lines += [f"**{_md(b.summary)}**", ""]
            lines.append(to_markdown(b.blocks, plots_dir).rstrip("\n"))
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}h1{border-bottom:2px solid #1f4e79}h2{margin-top:2em;color:#1f4e79}
table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:.9em}th,td{border:1px solid #ccc;padding:3px 8px;
vertical-align:top}th{background:#eef3f8}td{max-width:480px}caption{caption-side:top;text-align:left;
font-style:italic;padding:4px 0}img{max-width:100%;display:block;margin:.6em 0}details{margin:.5em 0 1.5em}
summary{cursor:pointer;color:#1f4e79}td.n{white-space:nowrap}"""


_NUMBER_CELL = re.compile(r"^[-+<>\[\]0-9.,%e ]+$")


def _html_cell(cell) -> str:
    """A table cell: a list is one item per line; a number or interval never
    wraps (an exponent cut from its mantissa misreads)."""
    if isinstance(cell, list):
        return "<td>" + "<br>".join(html.escape(str(x)) for x in cell) + "</td>"
    text = str(cell)
    return f"<td class=\"n\">{html.escape(text)}</td>" if _NUMBER_CELL.match(text) else f"<td>{html.escape(text)}</td>"


def to_html(blocks: list, title: str = "ensemble-fit report") -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{e(title)}</title>\n"
             f"<style>{CSS}</style>\n</head>\n<body>"]

    def render(bs: list) -> None:
        for b in bs:
            if isinstance(b, Heading):
                parts.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
            elif isinstance(b, Para):
                parts.append(f"<p>{e(b.text)}</p>")
            elif isinstance(b, Bullets):
                parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
            elif isinstance(b, Table):
                cap = f"<caption>{e(b.caption)}</caption>" if b.caption else ""
                head = "".join(f"<th>{e(h)}</th>" for h in b.headers)
                body = "".join("<tr>" + "".join(_html_cell(c) for c in r) + "</tr>" for r in b.rows)
                parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif isinstance(b, Image):
                data = base64.b64encode(b.png).decode("ascii")
                parts.append(f"<img alt=\"{e(b.alt)}\" src=\"data:image/png;base64,{data}\">")
            elif isinstance(b, Details):
                parts.append(f"<details><summary>{e(b.summary)}</summary>")
                render(b.blocks)
                parts.append("</details>")

    render(blocks)
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def images_of(blocks: list) -> list[Image]:
    out = []
    for b in blocks:
        if isinstance(b, Image):
            out.append(b)
        elif isinstance(b, Details):
            out += images_of(b.blocks)
    return out


# -------------------------------------------------------------- the folder

def _read_json(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EnsembleFitError(f"cannot read {path}: {exc}") from None


def _read_npz(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile):  # unreadable: the map is drawn without complementary pairs
        return None


def write_analysis(run_dir: Path, measurement, outcome=None) -> list[Path]:
    """explain.json and simmap.json from an in-memory measurement."""
    weights = None
    if outcome is not None:
        weights = dict(outcome.result.weights)
    else:
        wj = _read_json(run_dir / "weights.json")
        weights = wj["weights"] if wj else None
    # The run's id and fingerprint, like measure.json's: `report` refuses a folder that mixes runs.
    ids = {"data_fingerprint": data_fingerprint(measurement.prep),
           "run_id": measurement_run_id(measurement)}
    return [write_json(run_dir / "explain.json", {**explain_measurement(measurement, weights), **ids}),
            write_json(run_dir / "simmap.json", {**simmap_mod.from_measurement(measurement), **ids})]


def _same_run(run_dir: Path, measure: dict, npz: dict | None) -> dict | None:
    """distributions.npz (None when unreadable), after checking that its run id
    and data fingerprint are measure.json's: another run's is refused."""
    if npz is None:
        return None
    ids = {k: str(npz[k]) for k in ("data_fingerprint", "run_id") if k in npz}
    check_run_folder(run_dir, {"measure.json": measure, "distributions.npz": ids})
    return npz


def write_report(run_dir: str | Path, measurement=None, outcome=None, assigned: str | Path | None = None
                 ) -> list[Path]:
    """Write report.html, report.md and plots/ for a run folder.

    Parameters
    ----------
    run_dir : path
        A folder with measure.json (and weights.json for the mixture
        sections), as `ensemble-fit run` or `Measurement.to_json` /
        `Mixture.to_json` write them. Files from different runs are refused.
    measurement : Measurement, optional
        The run's measurement: explain.json and simmap.json are written from
        it first (the cluster labels need its texts). Without it they are read
        from the folder, or the report goes without them.
    outcome : FitOutcome, optional
        ``Mixture.outcome``, for the mixture's cluster statuses.
    assigned : path, optional
        An assigned dataset, its summary, or a saved sampler state: adds the
        realised mixture and its predicted gap, and writes assigned.json.

    Returns
    -------
    list of Path
        Every file written.

    Examples
    --------
    >>> import ensemble, measure
    >>> data = measure.load_conversations(tmp / "demo")
    >>> m = measure.measure_gap(data, measure.MeasureConfig(k_default=8, n_bootstrap=20, n_codebook_seeds=1,
    ...                         heldout_fraction=0.3), cache_dir=tmp / "cache")
    >>> mix = ensemble.fit_mixture(m, ensemble.FitConfig(weight_bootstrap=5))
    >>> _ = m.to_json(tmp / "run" / "measure.json"), mix.to_json(tmp / "run" / "weights.json")
    >>> paths = ensemble.write_report(tmp / "run", measurement=m, outcome=mix.outcome)
    >>> sorted(p.name for p in paths if p.suffix in (".html", ".md"))
    ['report.html', 'report.md']
    """
    run_dir = Path(run_dir)
    written: list[Path] = []
    if measurement is not None:
        if not (run_dir / "measure.json").exists():
            from measure.outputs import write_measure_outputs
            write_measure_outputs(measurement, run_dir)
            written.append(run_dir / "measure.json")
        written += write_analysis(run_dir, measurement, outcome)
    measure = _read_json(run_dir / "measure.json")
    if measure is None:
        raise EnsembleFitError(f"{run_dir}: no measure.json here; run `ensemble-fit run` or `measure` first")
    if "file" in measure.get("pairwise", {}):   # a large run keeps its matrices in pairwise.npz
        measure = {**measure, "pairwise": read_pairwise(measure, run_dir, per_facet=False)}
    weights = _read_json(run_dir / "weights.json")
    explain = _read_json(run_dir / "explain.json")
    simmap = _read_json(run_dir / "simmap.json")
    check_run_folder(run_dir, {"measure.json": measure, "weights.json": weights, "explain.json": explain})
    if simmap is not None and simmap.get("run_id") != measure.get("run_id"):
        simmap = None  # another run's (or an older version's) map: rebuilt from this run's files
    dists = None
    if simmap is None or assigned is not None:   # read (and checked) once, only when needed
        dists = _same_run(run_dir, measure, _read_npz(run_dir / "distributions.npz"))
    if simmap is None:
        simmap = simmap_mod.from_files(measure, dists)
    check = None
    if assigned is not None:
        if weights is None or dists is None:
            raise EnsembleFitError(f"{run_dir}: --assigned needs weights.json and a readable distributions.npz "
                                   "(the outputs of `ensemble-fit run`)")
        check = check_assignment(assigned, measure, weights, dists)
        ids = {k: measure[k] for k in ("run_id", "data_fingerprint") if measure.get(k)}
        written.append(write_json(run_dir / "assigned.json", {**check.to_json(), **ids}))
    blocks = report_blocks(measure, weights, explain, simmap, assigned=check)
    for img in images_of(blocks):
        written.append(write_bytes(run_dir / PLOTS_DIR / img.name, img.png))
    written.append(write_text(run_dir / "report.md", to_markdown(blocks)))
    written.append(write_text(run_dir / "report.html", to_html(blocks)))
    return [p for p in written if p.suffix in (".html", ".md", ".json")]


# ----------------------------------------------------------- the terminal

def print_explain_summary(console, explain: dict, per_facet: int = 2) -> None:
    """Per facet: behaviour no simulator supplies, behaviour simulators invent,
    and where the mixture still differs. Same numbers as explain.json."""
    from ensemble.cli.terminal import explain_table
    console.print(explain_table(explain, per_facet))
