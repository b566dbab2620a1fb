"""Rich tables for the terminal: the same numbers as the JSON outputs."""
from __future__ import annotations

from rich.console import Console
from rich.text import Text

from measure.pipeline import FLOOR_NOTE, TOO_FEW
from measure.terminal_layout import Fit, group, sized_table
from measure.text_safety import escape_control

# Tables written to a log file or a pipe: rich would squeeze them into 80
# columns and cut every name; a wide fixed width keeps them readable.
LOG_WIDTH = 160


def stdout_console(stderr: bool = False) -> Console:
    """The console for result tables (or, with `stderr`, for warnings and
    progress): the terminal's width, or LOG_WIDTH when the stream is not a
    terminal (and COLUMNS does not say otherwise)."""
    import os
    import sys

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() or os.environ.get("COLUMNS"):
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=LOG_WIDTH)


def _name(text: str) -> Text:
    """A name from the input as a table cell: no markup, no terminal escapes.
    Newlines stay: names cannot hold them (the loader refuses control
    characters), so a newline here is the table's own line break."""
    return Text(escape_control(text, keep_newlines=True))


def _f(x, nd=4) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _ci(pair, nd=3) -> str:
    return "-" if not pair else f"[{pair[0]:.{nd}f}, {pair[1]:.{nd}f}]"


def _split(columns: list, rows: list[list], key: int, parts: list[list[int]]) -> list[tuple[list, list[list]]]:
    """Column groups, each led by the key column (the simulator's name)."""
    out = []
    for idx in parts:
        cols = sorted(set(idx) | {key})
        out.append(([columns[i] for i in cols], [[r[i] for i in cols] for r in rows]))
    return out


def ranking_table(measure: dict, top: int | None = None) -> Fit:
    """The ranking: one table when the console is wide enough; else the gap,
    its CI and the floor ratio first and the per-facet JS in a second table,
    every simulator name whole."""
    floor = measure["noise_floor"]["overall"]["js"]
    facets = list(measure["facets"])
    ranking = measure["ranking"][:top] if top else measure["ranking"]
    auc = any("discriminator" in measure["gap"][s] for s in ranking)
    columns = [("#", "right", False), ("simulator", "left", False), ("n", "right", False),
               ("gap", "right", False), ("95% CI", "right", False), ("x floor", "right", False)]
    if auc:
        columns.append(("AUC", "right", False))
    columns.append(("seed std", "right", False))
    columns += [(f, "right", False) for f in facets]
    rows = []
    for r, s in enumerate(ranking, 1):
        g = measure["gap"][s]
        lo, hi = g["overall"]["js_ci"]
        if g.get("too_few_conversations"):  # a number here would look like a measurement
            rows.append([str(r), _name(s), str(g["overall"]["n"]), "-", TOO_FEW.replace("few ", "few\n").replace("s to", "s\nto")]
                        + ["-"] * (len(columns) - 5))
            continue
        row = [str(r), _name(s), str(g["overall"]["n"]), _f(g["overall"]["js"]), f"[{lo:.3f}, {hi:.3f}]",
               f"{g['overall']['js'] / floor:.1f}" if floor > 0 else "-"]
        if auc:
            d = g.get("discriminator")
            row.append(_f(d["auc"], 3) if d else "-")
        row.append(_f((measure.get("codebook_seed_spread") or {}).get(s, {}).get("std")))
        rows.append(row + [_f(g[f]["js"], 3) for f in facets])
    title = f"Behavioural gap to real users (JS, bits; real-vs-real floor {floor:.4f})"
    caption = ("gap: facet-weighted JS (0 = same behaviour as real users); " + FLOOR_NOTE
               + ("; AUC: a classifier telling the simulator from real users (0.5 = cannot)" if auc else ""))
    layouts = [sized_table(title, columns, rows, False), sized_table(title, columns, rows, True)]
    # Narrow: the headline columns (rank, name, n, gap, CI, x floor) first,
    # then the AUC, seed std and per-facet JS in as few tables as fit.
    main, rest = list(range(6)), list(range(6, len(columns)))
    more = "Per facet (JS, bits)" + (", AUC" if auc else "") + " and codebook seed std"
    for n_per in sorted({len(rest), (len(rest) + 1) // 2, (len(rest) + 2) // 3, 2, 1}, reverse=True):
        parts = [main] + [rest[i:i + n_per] for i in range(0, len(rest), n_per)]
        tables = []
        for j, (cols, rws) in enumerate(_split(columns, rows, 1, parts)):
            tables.append(sized_table(title if j == 0 else more, cols, rws, True, caption=caption if j == 0 else None))
        layouts.append(group(*tables))
    return Fit(*layouts)


def _weights_lines(weights: dict, nd: int = 2) -> Text:
    """Simulators and weights, one per line: a name never wraps."""
    items = sorted(weights.items(), key=lambda x: (-x[1], x[0]))
    return Text("\n").join(Text(escape_control(f"{s} {w:.{nd}f}")) for s, w in items)


def mixture_tables(weights: dict) -> list:
    out: list = []
    title = "Best combinations by size (fit on the fit split, judged on held-out real users)"
    rows = [[str(row["size"]), row["method"], _weights_lines(row["weights"]), _f(row["fit_js"]),
             _f(row.get("heldout_js"))] for row in weights.get("by_size") or []]
    if rows:
        cols = [("size", "right", False), ("method", "left", False), ("simulators", "left", False),
                ("fit JS", "right", False), ("held-out JS", "right", False)]
        narrow = [c for i, c in enumerate(cols) if i != 1]
        fewer = [str(r["size"]) for r in weights["by_size"] if len(r["weights"]) < r["size"]]
        note = (f"size {', '.join(fewer)}: no larger mix fits better, so fewer simulators" if fewer else None)
        out.append(Fit(sized_table(title, cols, rows, False, caption=note),
                       sized_table(title, cols, rows, True, caption=note),
                       sized_table(title, narrow, [[c for i, c in enumerate(r) if i != 1] for r in rows], True,
                                   caption=note)))
    sol = weights["solver"]
    title = (f"Mixture weights ({sol['method']}, {sol['solver']}: {sol['status']}, "
             f"Frank-Wolfe gap {sol['frank_wolfe_gap']:.1e})")
    ci = weights.get("weights_ci") or {}
    rows = []
    for s, w in sorted(weights["weights"].items(), key=lambda x: (-x[1], x[0])):
        if w < 1e-4 and (s not in ci or ci[s][1] < 0.01):
            continue
        rows.append([_name(s), f"{w:.3f}", f"[{ci[s][0]:.3f}, {ci[s][1]:.3f}]" if s in ci else "-"])
    cols = [("simulator", "left", False), ("weight", "right", False), ("95% CI", "right", False)]
    out.append(Fit(sized_table(title, cols, rows, False), sized_table(title, cols, rows, True)))
    h = weights.get("heldout")
    if h:
        title = "Held-out real users (JS, bits; lower is better)"
        gain = h.get("gain_vs_best_single")
        rows = [[Text("mixture", style="bold"), Text(f"{h['mixture_js']:.4f}", style="bold"),
                 _ci(h.get("mixture_js_ci"))],
                [_name(f"best single ({h['best_single']['name']})"), _f(h["best_single"]["js"]),
                 _ci(h.get("best_single_js_ci"))],
                ["uniform over all", _f(h["uniform_js"]), ""],
                [f"greedy forward ({len(h['greedy']['support'])})", _f(h["greedy"]["js"]), ""],
                ["real fit split vs held-out", _f(h["real_vs_real_js"]), ""]]
        if gain is not None:
            p = h.get("gain_p")
            rows.insert(2, ["gain over best single" + (f" (p = {p:.3f})" if p is not None else ""), _f(gain),
                            _ci(h.get("gain_ci"))])
        cols = [("candidate", "left", False), ("held-out JS", "right", False), ("95% CI", "right", False)]
        out.append(Fit(sized_table(title, cols, rows, False), sized_table(title, cols, rows, True)))
    return out


def explain_table(explain: dict, per_facet: int = 2) -> Fit:
    """Per facet: behaviour no simulator supplies, behaviour simulators
    invent, and where the mixture still differs (explain.json's numbers).
    Narrow consoles get the facet as a section heading and the simulators
    under the behaviour instead of in columns of their own."""
    mix = explain.get("mixture")
    rows: list[tuple[str, str, str, str, str, str]] = []   # facet, finding, behaviour, real, sim, who
    for f, fx in explain["facets"].items():
        summ = fx.get("summary") or {"missed": [], "hallucinated": []}
        for d in summ["missed"][:per_facet]:
            rows.append((f, "missed by every simulator", f"#{d['cluster']} {d['label']}", _pct(d["p_real"]),
                         _pct(d["p_closest"]), f"closest: {d['closest']}"))
        for d in summ["hallucinated"][:per_facet]:
            rows.append((f, "hallucinated", f"#{d['cluster']} {d['label']}", _pct(d["p_real"]), _pct(d["p_most"]),
                         f"by: {', '.join(d['hallucinated_by'])}"))
        if mix:
            listed = {"top_missed": {d["cluster"] for d in summ["missed"][:per_facet]},
                      "top_hallucinated": {d["cluster"] for d in summ["hallucinated"][:per_facet]}}
            firsts = [next((x for x in fx[key][mix] if x["cluster"] not in listed[key]), None) for key in listed]
            for x in filter(None, firsts):
                rows.append((f, f"mixture: {x['status']}", f"#{x['cluster']} {x['label']}", _pct(x["p_real"]),
                             _pct(x["p_sim"]), mix))
    style = {"missed by every simulator": "red", "hallucinated": "magenta"}

    def finding(text: str) -> Text:
        return Text(text, style=style.get(text, ""))

    title = "What the simulators miss and hallucinate (share of real users vs simulated)"
    wide = [("facet", "left", False), ("finding", "left", False), ("cluster: behaviour", "left", True),
            ("real", "right", False), ("sim", "right", False), ("who", "left", True)]
    wrows = [[_name(f), finding(fd), _name(b), r, sm, _name(w.split(": ", 1)[-1] if w.startswith("by") else w)]
             for f, fd, b, r, sm, w in rows]
    # Narrow: the facet heads its rows; who comes under the behaviour
    narrow, last = [], None
    for f, fd, b, r, sm, w in rows:
        if f != last:
            narrow.append([Text(escape_control(f), style="bold"), "", "", ""])
            last = f
        narrow.append([finding(fd), Text(escape_control(b)) + Text("\n" + escape_control(w), style="dim"), r, sm])
    cols = [("finding", "left", True), ("cluster: behaviour / simulators", "left", True),
            ("real", "right", False), ("sim", "right", False)]
    return Fit(sized_table(title, wide, wrows, False), sized_table(title, wide, wrows, True), sized_table(title, cols, narrow, True))


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def print_json(result) -> None:
    """The result on stdout as JSON (a dict, or JSON text read from an output file), nothing else."""
    import json
    import sys
    text = result if isinstance(result, str) else json.dumps(result, indent=2, ensure_ascii=False)
    sys.stdout.write(text.rstrip("\n") + "\n")
    sys.stdout.flush()


def print_all(console: Console, tables) -> None:
    for t in tables:
        console.print(t)


def assignment_table(summary: dict) -> Fit:
    """Assigned counts against n x weight, per task (the assignment summary JSON)."""
    rows = []
    for g in summary["groups"]:
        task = "(global)" if g["task"] is None else g["task"]
        first = True
        for s, w in g["weights"].items():
            if w == 0 and g["counts"].get(s, 0) == 0:
                continue
            n_w = g["rows"] * w
            rows.append([_name(task) if first else "", _name(s), f"{w:.4f}", f"{n_w:.1f}",
                         str(g["counts"][s]), f"{g['counts'][s] - n_w:+.2f}"])
            first = False
    cols = [("task", "left", False), ("simulator", "left", False), ("weight", "right", False),
            ("n x w", "right", False), ("assigned", "right", False), ("diff", "right", False)]
    worst = max((g["max_deviation"] for g in summary["groups"]), default=0.0)
    title = f"Assigned {summary['rows']} rows ({summary['new']} new, {summary['kept']} kept)"
    caption = f"largest |assigned - n x w|: {worst:.2f}"
    return Fit(sized_table(title, cols, rows, False, caption=caption),
               sized_table(title, cols, rows, True, caption=caption))
