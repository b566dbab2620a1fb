"""What a loaded dataset contains, per source, and what went wrong loading it.

Backs `ensemble-fit inspect PATH`: users check their data here before paying
for facet extraction.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .loaders import Dataset
from .terminal_layout import Fit, group, sized_table
from .text_safety import escape_control


@dataclass
class SourceSummary:
    name: str
    is_real: bool
    n_conversations: int
    tasks: dict[str, int]      # task -> conversations; conversations without a task not listed
    n_without_task: int
    turns_mean: float          # user turns per conversation
    turns_median: float
    turns_min: int
    turns_max: int
    mean_user_chars: float     # characters per user turn, over all user turns
    # Share of conversations written mostly in languages other than English,
    # estimated on an evenly spaced sample of LANGUAGE_SAMPLE conversations.
    non_english_share: float = 0.0
    language_sampled: int = 0


LANGUAGE_SAMPLE = 200
LANGUAGE_GAP = 0.25  # a real-vs-simulator difference in that share worth a warning


@dataclass
class DatasetSummary:
    sources: list[SourceSummary]  # real sources first, then simulators, each by name
    n_conversations: int
    tasks: list[str]
    n_files: int
    records_read: int
    records_kept: int
    skipped: int
    skip_reasons: dict[str, int]
    real_deduplicated: int
    fingerprint: str
    problems: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


def _mostly_non_english(conv) -> bool:
    from .facets.turns import is_non_english
    turns = conv.user_turns[:3]
    return sum(is_non_english(t) for t in turns) * 2 > len(turns)


def non_english_share(convs: list, sample: int = LANGUAGE_SAMPLE) -> tuple[float, int]:
    """(share of conversations mostly not in English, conversations looked at)."""
    if not convs:
        return 0.0, 0
    step = max(1, len(convs) // sample)
    picked = convs[::step][:sample]
    return sum(_mostly_non_english(c) for c in picked) / len(picked), len(picked)


def summarize_source(name: str, is_real: bool, convs: list) -> SourceSummary:
    turns = [c.n_user_turns for c in convs]
    lengths = [len(t) for c in convs for t in c.user_turns]
    tasks = Counter(c.task for c in convs if c.task is not None)
    share, sampled = non_english_share(convs)
    return SourceSummary(
        name=name, is_real=is_real, n_conversations=len(convs),
        tasks=dict(sorted(tasks.items())),
        n_without_task=sum(1 for c in convs if c.task is None),
        turns_mean=statistics.fmean(turns) if turns else 0.0,
        turns_median=float(statistics.median(turns)) if turns else 0.0,
        turns_min=min(turns, default=0), turns_max=max(turns, default=0),
        mean_user_chars=statistics.fmean(lengths) if lengths else 0.0,
        non_english_share=share, language_sampled=sampled)


def find_problems(dataset: Dataset, sources: list[SourceSummary]) -> list[str]:
    """Load-report problems plus gaps that make a comparison lopsided."""
    report = dataset.report
    problems = []
    if report.skipped:
        reasons = ", ".join(f"{r} ({n})" for r, n in sorted(report.reasons.items(),
                                                              key=lambda kv: (-kv[1], kv[0])))
        problems.append(f"{report.skipped} record(s) skipped: {reasons}")
    problems.extend(report.warnings)
    # A missing side (no real-user or no simulator source) is among the
    # loader's warnings above: it is said there, once.
    # A simulator missing a task that real users have cannot be compared on it.
    real_tasks = {t for s in sources if s.is_real for t in s.tasks}
    for s in sources:
        if not s.is_real and real_tasks:
            missing = sorted(real_tasks - set(s.tasks))
            if missing:
                problems.append(f"simulator '{s.name}' has no conversations for task(s) "
                                f"{', '.join(missing)} that real users have")
    # Simulators that speak another language than the real users differ on
    # that alone; say so before the gap is read as behaviour.
    real_src = [s for s in sources if s.is_real]
    if real_src:
        n_real = sum(s.language_sampled for s in real_src)
        real_share = sum(s.non_english_share * s.language_sampled for s in real_src) / max(n_real, 1)
        off = [s for s in sources if not s.is_real
               and abs(s.non_english_share - real_share) > LANGUAGE_GAP]
        if off:
            problems.append(
                f"real users write {real_share:.0%} of conversations mostly in languages other than "
                f"English, against " + ", ".join(f"{s.name} {s.non_english_share:.0%}" for s in off) +
                ": that difference shows in every facet's gap (see the style facet's 'language')")
    return problems


def summarize(dataset: Dataset) -> DatasetSummary:
    groups = dataset.by_source()
    real = set(dataset.real_sources)
    order = sorted(groups, key=lambda n: (n not in real, n))
    sources = [summarize_source(n, n in real, groups[n]) for n in order]
    report = dataset.report
    return DatasetSummary(
        sources=sources, n_conversations=len(dataset.conversations), tasks=dataset.tasks,
        n_files=len(report.files), records_read=report.records_read,
        records_kept=report.records_kept, skipped=report.skipped,
        skip_reasons=dict(report.reasons), real_deduplicated=report.real_deduplicated,
        fingerprint=dataset.fingerprint, problems=find_problems(dataset, sources),
        examples=list(report.examples))


def _tasks_cell(s: SourceSummary) -> str:
    parts = [f"{t} ({n})" for t, n in s.tasks.items()]
    if s.n_without_task and s.tasks:
        parts.append(f"none ({s.n_without_task})")
    return ", ".join(parts) or "-"


def sources_table(summary: DatasetSummary) -> Fit:
    """One row per source; at 80 columns the headers stack and the tasks wrap,
    but a source name is never cut."""
    rows = []
    for s in summary.sources:
        approx = "~" if s.language_sampled < s.n_conversations else ""
        rows.append([Text(escape_control(s.name)), "real" if s.is_real else "simulator", str(s.n_conversations),
                     Text(escape_control(_tasks_cell(s))),
                     f"{s.turns_mean:.2f} / {s.turns_median:g} / {s.turns_min}-{s.turns_max}",
                     f"{s.mean_user_chars:.1f}", f"{approx}{s.non_english_share:.0%}"])
    wide = [("source", "left", False), ("kind", "left", False), ("conversations", "right", False),
            ("tasks", "left", True), ("user turns\nmean / median / min-max", "right", False),
            ("chars per\nuser turn", "right", False), ("non-English", "right", False)]
    # Narrow: shorter cells (kind "sim", turns as mean and range), tasks in a table of their own.
    narrow = [("source", "left", False), ("kind", "left", False), ("conver-\nsations", "right", False),
              ("user turns\nmean (range)", "right", False), ("chars per\nuser turn", "right", False),
              ("non-\nEnglish", "right", False)]
    short = [[r[0], "real" if r[1] == "real" else "sim", r[2],
              f"{s.turns_mean:.2f} ({s.turns_min}-{s.turns_max})", r[5], r[6]]
             for r, s in zip(rows, summary.sources)]
    tasks = sized_table(None, [("source", "left", False), ("tasks", "left", True)],
                        [[r[0], r[3]] for r in rows], True)
    # Long names: the numbers in two tables as well.
    split = group(sized_table("Sources", narrow[:4], [r[:4] for r in short], True),
                  sized_table(None, [narrow[0], *narrow[4:]], [[r[0], *r[4:]] for r in short], True), tasks)
    return Fit(sized_table("Sources", wide, rows, False), sized_table("Sources", wide, rows, True),
               group(sized_table("Sources", narrow, short, True), tasks), split)


def render_summary(summary: DatasetSummary, console: Console, max_examples: int = 5) -> None:
    console.print(sources_table(summary))
    console.print(f"{summary.n_conversations} conversations from {summary.n_files} file(s), "
                  f"{summary.records_kept} of {summary.records_read} records kept; "
                  f"{summary.real_deduplicated} repeated real conversation(s) merged; "
                  f"fingerprint {summary.fingerprint}", highlight=False)
    if not summary.problems:
        console.print("No problems found.")
        return
    problems = Table(title="Problems", show_header=False)
    problems.add_column("problem")
    for p in summary.problems:
        problems.add_row(Text(escape_control(p)))  # Text: file names and fields hold '[...]'
    console.print(problems)
    if summary.examples:
        console.print("Examples of skipped records:")
        for e in summary.examples[:max_examples]:
            console.print(f"  {escape_control(e)}", markup=False, highlight=False)
        if len(summary.examples) > max_examples:
            console.print(f"  ... {len(summary.examples) - max_examples} more")
