"""The plan as a Markdown report section and as a terminal table."""
from __future__ import annotations

from .planner import Plan


def _ci(ci) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def _n(x) -> str:
    return "unreachable" if x is None else f"{x:,}"


def _target(sp) -> str:
    if sp.n_for_target_ci is None:
        return "unreachable"
    if sp.n_real_for_target_ci:
        return f"{sp.n_for_target_ci:,} (with {sp.n_real_for_target_ci:,} real)"
    return f"{sp.n_for_target_ci:,}"


def markdown(p: Plan) -> str:
    """A short report section (plan.md)."""
    b = p.budget
    unit = "cost units" if b["unit"] == "cost" else "conversations"
    lines = ["## Generation plan", "",
             f"Budget {b['this_round']:,.6g} {unit} this round"
             + (f" (round 1 of {p.rounds['rounds']}, {b['total']:,.6g} in all)" if p.rounds["rounds"] > 1 else "")
             + f": {b['recommended_conversations']:,} new conversations recommended, "
               f"{b['to_dominated']:,} of them for dominated simulators. Expected reducible error "
               f"{b['error_now']:.2f} -> {b['error_after']:.2f} (1.0 per criterion at the pilot).", "",
             "| simulator | n now | + recommended | weight now [95% CI] | expected CI | gap (bits) [CI] "
             "| n for target CI | n to settle rank | why |",
             "|---|---:|---:|---|---|---|---:|---:|---|"]
    for s, sp in sorted(p.simulators.items(), key=lambda kv: (-kv[1].recommended_additional, kv[0])):
        lines.append(f"| {s} | {sp.n_now:,} | {sp.recommended_additional:,} | {sp.weight_now:.2f} "
                     f"{_ci(sp.weight_ci_now)} | {_ci(sp.expected_weight_ci)} | {sp.gap_now:.3f} "
                     f"[{sp.gap_ci_now[0]:.3f}, {sp.gap_ci_now[1]:.3f}] | {_target(sp)} "
                     f"| {_n(sp.n_to_settle_rank)} | {sp.reason} |")
    r = p.real
    lines += ["", f"**Real users.** {r.n_now:,} now; {r.recommended_additional:,} more help: {r.reason}."]
    if r.floor_now is not None:
        lines[-1] += (f" Real-vs-real floor {r.floor_now:.3f} bits now, "
                      f"{r.expected_floor:.3f} with the recommended real users.")
    unsettled = [x for x in p.ranking if not x["settled_now"]]
    if unsettled:
        lines += ["", "**Ranking.** Not yet settled: " + "; ".join(
            f"{x['better']} vs {x['worse']} (difference {x['gap_difference']:.3f} bits; "
            + ("limited by the real users' noise" if x["limited_by_real"] else f"needs n = {_n(x['n_to_settle'])} each")
            + ")" for x in unsettled) + "."]
    if p.rounds["rounds"] > 1:
        lines += ["", f"**Rounds.** Generate this round's conversations, add them to the data, and run "
                      f"`ensemble-fit plan` again with the remaining {p.rounds['remaining_after_this_round']:,.6g}: "
                      "the cache keeps every description, embedding and codebook, so only the new "
                      "conversations cost time."]
    lines += ["", f"Method: {p.method}.", ""]
    return "\n".join(lines)


def table(p: Plan):
    """The plan for the terminal, fitted to the console: the numbers in one
    table (two when narrow), then why each source gets what it gets, as
    sentences that wrap; simulator names are never cut."""
    from rich.console import Group
    from rich.text import Text

    from measure.terminal_layout import Fit, group, sized_table
    from measure.text_safety import escape_control

    rows, why = [], []
    for s, sp in sorted(p.simulators.items(), key=lambda kv: (-kv[1].recommended_additional, kv[0])):
        style = "dim" if sp.dominated else ""
        name = Text(escape_control(s), style=style)
        rows.append([name, f"{sp.n_now:,}", f"{sp.recommended_additional:,}",
                     f"{sp.weight_now:.2f} {_ci(sp.weight_ci_now)}", _ci(sp.expected_weight_ci),
                     f"{sp.gap_now:.3f}", _target(sp)])
        why.append([name, Text(sp.reason, style=style)])
    r = p.real
    real = Text("real users", style="italic")
    rows.append([real, f"{r.n_now:,}", f"{r.recommended_additional:,}", "", "",
                 "" if r.floor_now is None else f"floor {r.floor_now:.3f}", ""])
    why.append([real, Text(r.reason, style="italic")])
    title = "Generation plan"
    columns = [("simulator", "left", False), ("n now", "right", False), ("+ recom-\nmended", "right", False),
               ("weight [95% CI]", "left", False), ("expected CI", "left", False), ("gap (bits)", "right", False),
               ("n for target CI", "right", False)]
    def part(title_, keep):   # narrow consoles: these columns only, the name leading
        return sized_table(title_, [columns[i] for i in keep], [[row[i] for i in keep] for row in rows], True)

    numbers = Fit(sized_table(title, columns, rows, False), sized_table(title, columns, rows, True),
                  group(part(title, (0, 1, 2, 3, 5)), part(None, (0, 4, 6))))
    reasons, _ = sized_table(None, [("source", "left", False), ("why", "left", True)], why, True)
    return Group(numbers, reasons)
