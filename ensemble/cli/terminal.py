"""Rich tables for the terminal: the same numbers as the JSON outputs."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

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
    """A name from the input as a table cell: no markup, no terminal escapes."""
    return Text(escape_control(text))


def _f(x, nd=4) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def ranking_table(measure: dict, top: int | None = None) -> Table:
    floor = measure["noise_floor"]["overall"]["js"]
    t = Table(title=f"Behavioural gap to real users (JS, bits; real-vs-real floor {floor:.4f})")
    t.add_column("#", justify="right")
    t.add_column("simulator")
    t.add_column("n", justify="right")
    t.add_column("gap", justify="right")
    t.add_column("95% CI", justify="right")
    t.add_column("x floor", justify="right")
    t.add_column("seed std", justify="right")
    for f in measure["facets"]:
        t.add_column(f, justify="right")
    for r, s in enumerate(measure["ranking"][:top] if top else measure["ranking"], 1):
        g = measure["gap"][s]
        lo, hi = g["overall"]["js_ci"]
        t.add_row(str(r), _name(s), str(g["overall"]["n"]), _f(g["overall"]["js"]), f"[{lo:.3f}, {hi:.3f}]",
                  f"{g['overall']['js'] / floor:.1f}" if floor > 0 else "-",
                  _f(measure["codebook_seed_spread"][s]["std"]),
                  *[_f(g[f]["js"], 3) for f in measure["facets"]])
    return t


def mixture_tables(weights: dict) -> list[Table]:
    out = []
    t = Table(title="Best combinations by size (fit on the fit split, judged on held-out real users)")
    for c in ("size", "method", "simulators", "fit JS", "held-out JS"):
        t.add_column(c, justify="right" if "JS" in c or c == "size" else "left")
    for row in weights["by_size"]:
        t.add_row(str(row["size"]), row["method"],
                  _name(", ".join(f"{s} {w:.2f}" for s, w in sorted(row["weights"].items(), key=lambda x: -x[1]))),
                  _f(row["fit_js"]), _f(row["heldout_js"]))
    out.append(t)
    t = Table(title=f"Mixture weights ({weights['solver']['method']}, {weights['solver']['solver']}: "
                    f"{weights['solver']['status']}, Frank-Wolfe gap {weights['solver']['frank_wolfe_gap']:.1e})")
    t.add_column("simulator")
    t.add_column("weight", justify="right")
    t.add_column("95% CI", justify="right")
    ci = weights.get("weights_ci") or {}
    for s, w in sorted(weights["weights"].items(), key=lambda x: (-x[1], x[0])):
        if w < 1e-4 and (s not in ci or ci[s][1] < 0.01):
            continue
        t.add_row(_name(s), f"{w:.3f}", f"[{ci[s][0]:.3f}, {ci[s][1]:.3f}]" if s in ci else "-")
    out.append(t)
    h = weights.get("heldout")
    if h:
        t = Table(title="Held-out real users (JS, bits; lower is better)")
        t.add_column("candidate")
        t.add_column("held-out JS", justify="right")
        t.add_row("[bold]mixture[/bold]", f"[bold]{h['mixture_js']:.4f}[/bold]")
        t.add_row(_name(f"best single ({h['best_single']['name']})"), _f(h["best_single"]["js"]))
        t.add_row("uniform over all", _f(h["uniform_js"]))
        t.add_row(f"greedy forward ({len(h['greedy']['support'])})", _f(h["greedy"]["js"]))
        t.add_row("real fit split vs held-out (floor)", _f(h["real_vs_real_js"]))
        out.append(t)
    return out


def print_all(console: Console, tables) -> None:
    for t in tables:
        console.print(t)
