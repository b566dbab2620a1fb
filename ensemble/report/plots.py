"""Report figures as PNG bytes, drawn from the JSON outputs only.

Byte-stable on purpose: a fixed Agg canvas (no pyplot global state), no
'Software' or date metadata in the PNG, a fixed hash salt, and every input
sorted, so rerunning `ensemble-fit report` gives identical files.
"""
from __future__ import annotations

import functools
import io

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

# Applied per call, so importing this module changes no global matplotlib state.
# text.parse_math off: labels are source names from the input, and a '$' in
# one would start mathtext (an unknown command in it raises while drawing).
RC = {"svg.hashsalt": "ensemble-fit", "font.size": 9, "path.simplify": True, "text.parse_math": False}

STATUS_COLORS = {"captured": "#4c9a2a", "under": "#e3a21a", "missed": "#c0392b", "over": "#8e6cc0",
                 "hallucinated": "#6c3483", "not significant": "#9e9e9e", None: "#9e9e9e"}
REAL_COLOR = "#1f4e79"
DPI = 100
# Figures show at most this many simulators (the closest to real users, or
# the largest weights) and say so in the title: a row per simulator at 2,000
# sources is a 900-inch figure that matplotlib cannot draw. The tables and
# the JSON files keep every simulator.
PLOT_MAX = 50


def _capped(names: list, what: str) -> tuple[list, str]:
    """The first PLOT_MAX of `names`, and a title note when some were left out."""
    if len(names) <= PLOT_MAX:
        return names, ""
    return names[:PLOT_MAX], f" ({what} {PLOT_MAX} of {len(names)})"


def _styled(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return fn(*args, **kwargs)
    return wrapper


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _wrapped(text: str, width: int = 38, lines: int = 3) -> str:
    """A tick label on up to `lines` lines (cluster labels are phrases; a cut
    one loses the phrase that tells two clusters apart)."""
    import textwrap
    out = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    if len(out) > lines:
        out = out[:lines - 1] + [_short(" ".join(out[lines - 1:]), width)]
    return "\n".join(out)


@_styled
def ranking_plot(measure: dict) -> bytes:
    """Overall gap per simulator with 95% CI whiskers and the real-vs-real noise floor."""
    names, note = _capped(list(measure["ranking"]), "closest")
    js = np.array([measure["gap"][s]["overall"]["js"] for s in names])
    ci = np.array([measure["gap"][s]["overall"]["js_ci"] for s in names])
    err = np.vstack([np.clip(js - ci[:, 0], 0, None), np.clip(ci[:, 1] - js, 0, None)])
    fig = Figure(figsize=(7, 0.45 * len(names) + 1.4))
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1]
    ax.barh(y, js, xerr=err, color="#5b8db8", ecolor="#333333", capsize=3)
    floor = measure["noise_floor"]["overall"]
    ax.axvline(floor["js"], color="#c0392b", linestyle="--", label=f"noise floor {floor['js']:.4f}")
    if "js_p95" in floor:
        ax.axvspan(0, floor["js_p95"], color="#c0392b", alpha=0.08, label="floor 95th percentile")
    ax.set_yticks(y, names)
    ax.set_xlabel("behavioural gap to real users (JS, bits; lower is better)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    ax.set_title("Simulator ranking" + note)
    return _png(fig)


@_styled
def facet_heatmap(measure: dict) -> bytes:
    """Per-facet JS of every simulator, rows in ranking order."""
    names, note = _capped(list(measure["ranking"]), "closest")
    facets = list(measure["facets"])
    M = np.array([[measure["gap"][s][f]["js"] for f in facets] for s in names])
    fig = Figure(figsize=(1.1 * len(facets) + 3, 0.42 * len(names) + 1.5))
    ax = fig.add_subplot()
    im = ax.imshow(M, cmap="Reds", aspect="auto", vmin=0)
    ax.set_xticks(range(len(facets)), facets, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    hi = M.max() if M.size else 1.0
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            ax.text(j, i, f"{M[i, j]:.3f}", ha="center", va="center", fontsize=8,
                    color="white" if M[i, j] > 0.6 * hi else "black")
    fig.colorbar(im, ax=ax, label="JS (bits)")
    ax.set_title("Gap per facet" + note)
    return _png(fig)


@_styled
def weights_plot(weights: dict) -> bytes:
    """Mixture weights with bootstrap 95% CIs, largest first."""
    w = weights["weights"]
    ci = weights.get("weights_ci") or {}
    names, note = _capped(sorted(w, key=lambda s: (-w[s], s)), "largest")
    vals = np.array([w[s] for s in names])
    lo = np.array([ci.get(s, [w[s], w[s]])[0] for s in names])
    hi = np.array([ci.get(s, [w[s], w[s]])[1] for s in names])
    err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
    fig = Figure(figsize=(7, 0.45 * len(names) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1]
    ax.barh(y, vals, xerr=err, color="#4c9a2a", ecolor="#333333", capsize=3)
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1)
    ax.set_xlabel("mixture weight (95% bootstrap CI)")
    ax.set_title("Mixture weights" + note)
    return _png(fig)


@_styled
def pairwise_plot(simmap: dict, measure: dict) -> bytes:
    """Pairwise JS heatmap in dendrogram order, with the dendrogram above it."""
    from scipy.cluster.hierarchy import dendrogram

    names = list(measure["pairwise"]["names"])
    js = np.asarray(measure["pairwise"]["js"], float)
    order = simmap.get("order") or names
    linkage_ = simmap.get("linkage")
    note = ""
    if len(names) > PLOT_MAX:
        # Real users and the simulators closest to them, in their own tree's order.
        from .simmap import dendrogram_order
        keep = [n for n in names if n not in measure.get("ranking", ())] + list(measure.get("ranking", ()))
        keep = keep[:PLOT_MAX]
        pos = {n: i for i, n in enumerate(names)}
        sub = [pos[n] for n in keep]
        tree = dendrogram_order(keep, js[np.ix_(sub, sub)])
        order, linkage_ = tree["order"], tree["linkage"]
        note = f" - {PLOT_MAX} of {len(names)} sources: real users and the closest simulators"
    pos = {n: i for i, n in enumerate(names)}
    idx = [pos[n] for n in order]
    M = js[np.ix_(idx, idx)]
    n = len(order)
    fig = Figure(figsize=(0.55 * n + 3, 0.55 * n + 3))
    if linkage_:
        gs = fig.add_gridspec(2, 2, height_ratios=[1, 4], width_ratios=[20, 1], hspace=0.02, wspace=0.05)
        axd = fig.add_subplot(gs[0, 0])
        dendrogram(np.asarray(linkage_), ax=axd, no_labels=True, color_threshold=0,
                   above_threshold_color="#555555")
        axd.set_xlim(0, n * 10)  # leaves at 5, 15, ...: the same x as the heatmap cells
        axd.set_axis_off()
        axd.set_title("Simulator map (pairwise JS, average linkage)" + note)
        ax, cax = fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])
    else:
        gs = fig.add_gridspec(1, 2, width_ratios=[20, 1])
        ax, cax = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1])
        ax.set_title("Simulator map (pairwise JS)" + note)
    im = ax.imshow(M, cmap="viridis_r", vmin=0, aspect="auto", extent=(0, n * 10, n * 10, 0))
    ticks = np.arange(n) * 10 + 5  # dendrogram leaves sit at 5, 15, 25, ...
    ax.set_xticks(ticks, order, rotation=45, ha="right")
    ax.set_yticks(ticks, order)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                ax.text(ticks[j], ticks[i], f"{M[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if M[i, j] > 0.5 * max(M.max(), 1e-12) else "black")
    fig.colorbar(im, cax=cax, label="JS (bits)")
    return _png(fig)


@_styled
def status_plot(explain: dict, facet: str, source: str | None = None, n: int = 8) -> bytes:
    """Real vs simulated mass of the facet's most different clusters, colored by status.

    `source` defaults to the mixture when there is one, else the first simulator.
    """
    return _png(status_figure(explain, facet, source, n))


@_styled
def status_figure(explain: dict, facet: str, source: str | None = None, n: int = 8) -> Figure:
    """The figure of `status_plot`."""
    fx = explain["facets"][facet]
    source = source or explain.get("mixture") or explain["simulators"][0]
    rows = fx["sources"][source]["clusters"]
    rows = sorted(rows, key=lambda r: (-abs(r["p_sim"] - r["p_real"]), r["cluster"]))[:n]
    labels = {c["id"]: c["label"] for c in fx["clusters"]}
    names = [_wrapped(f"#{r['cluster']} {labels.get(r['cluster'], '')}") for r in rows]
    y = np.arange(len(rows))[::-1]
    fig = Figure(figsize=(8, 0.62 * len(rows) + 1.8))
    ax = fig.add_subplot()
    h = 0.38
    ax.barh(y + h / 2, [r["p_real"] for r in rows], height=h, color=REAL_COLOR)
    ax.barh(y - h / 2, [r["p_sim"] for r in rows], height=h,
            color=[STATUS_COLORS.get(r["status"], "#9e9e9e") for r in rows])
    for yy, r in zip(y, rows):
        ax.text(max(r["p_real"], r["p_sim"]) + 0.005, yy, r["status"], va="center", fontsize=8,
                color=STATUS_COLORS.get(r["status"], "#555555"))
    ax.set_yticks(y, names)
    ax.set_xlabel("share of conversations in the cluster")
    top = max([max(r["p_real"], r["p_sim"]) for r in rows] or [1.0])
    ax.set_xlim(0, top * 1.3 + 0.02)
    ax.set_title(f"{facet}: real users vs {source} (largest differences)")
    shown = sorted({r["status"] for r in rows}, key=lambda s: list(STATUS_COLORS).index(s))
    handles = [Patch(color=REAL_COLOR, label="real users")] + \
        [Patch(color=STATUS_COLORS[s], label=f"{source}: {s}") for s in shown]
    # Below the axes: inside, it covered bars and their status words.
    # 0.55 inch under the axes: below the x label (axes are 0.77 of the figure's height)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.55 / (0.77 * fig.get_figheight())),
              ncol=min(4, len(handles)), frameon=False, fontsize=8)
    return fig
