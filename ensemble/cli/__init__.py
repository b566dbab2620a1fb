"""The `ensemble-fit` command. Parses options, then hands off to `commands` (one function per subcommand)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from measure import __version__
from measure.errors import EnsembleFitError, InputError
from measure.text_safety import escape_control

FACET_HELP = "comma-separated facets (default: requests,context,responses,style,dialogue_acts)"


def _kv_int(text: str) -> tuple[str | None, int]:
    facet, _, value = text.rpartition("=") if "=" in text else (None, "", text)
    try:
        return (facet.strip() if facet is not None else None), int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K or FACET=K with an integer K, got {text!r}") from None


def _kv_float(text: str) -> tuple[str, float]:
    facet, sep, value = text.partition("=")
    try:
        if not sep or not facet.strip():
            raise ValueError
        return facet.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FACET=W with a number W, got {text!r}") from None


def _add_data(p: argparse.ArgumentParser, required: bool = False) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", action="append", type=Path, required=required, metavar="PATH",
                   help="file or folder of conversations, a datasets save_to_disk folder, or "
                        "hf:OWNER/NAME[@REVISION][:SPLIT] for a Hugging Face dataset; INPUT#NAME "
                        "names its source NAME (repeatable; formats are detected per record)")
    _add_reading(g, on_error="raise")


def _add_reading(g, on_error: str) -> None:
    """How records are read; shared by every subcommand that loads data."""
    g.add_argument("--real", action="append", metavar="NAME",
                   help="source(s) that are real users (default: 'real', 'real:*', 'real_*')")
    g.add_argument("--on-error", choices=["raise", "skip"], default=on_error,
                   help=f"stop at the first bad record or skip and count bad records (default {on_error}: "
                        + ("inspect lists every problem instead of stopping at the first" if on_error == "skip"
                           else "a measurement never silently drops data; inspect defaults to skip") + ")")
    g.add_argument("--min-conversations", type=int, default=2, metavar="N",
                   help="smallest source size accepted (default 2)")
    g.add_argument("--max-turn-chars", type=int, default=None, metavar="N",
                   help="longest user turn accepted, in characters (default 1,000,000)")
    g.add_argument("--drop-empty-turns", action="store_true",
                   help="drop empty or whitespace-only user turns instead of rejecting their conversation")
    g.add_argument("--max-per-source", type=int, default=None, metavar="N",
                   help="keep a uniform random sample of at most N conversations per source "
                        "(bounded memory on very large logs; the same ids across paired sources)")
    g.add_argument("--where", action="append", metavar="FIELD=VALUE",
                   help="keep records whose FIELD equals VALUE, e.g. language=English, toxic=false "
                        "(repeatable: different fields must all match, one field repeated matches any)")
    g.add_argument("--min-user-turns", type=int, default=None, metavar="N",
                   help="keep conversations with at least N user turns")


def _add_measure(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("measurement")
    g.add_argument("--config", type=Path, help="TOML config with [measure] and [fit] tables; flags override it")
    g.add_argument("--facets", help=FACET_HELP)
    g.add_argument("--include-raw", action="store_true",
                   help="also measure the raw_user_utterances baseline facet (topic-laden; slower)")
    g.add_argument("--k", action="append", type=_kv_int, metavar="[FACET=]K",
                   help="clusters per facet, e.g. --k 50 or --k style=80 (default: n/10, at most 500)")
    g.add_argument("--pca", type=float, default=None, metavar="FRAC",
                   help="PCA variance kept before k-means (default 0.9; 0 or 1 disables)")
    g.add_argument("--facet-weight", action="append", type=_kv_float, metavar="FACET=W",
                   help="facet weight in the overall gap and the fit (default: equal)")
    g.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    g.add_argument("--bootstrap", type=int, default=None, metavar="N", help="bootstrap resamples (default 200)")
    g.add_argument("--codebook-seeds", type=int, default=None, metavar="N",
                   help="codebooks refit with N seeds for the seed spread (default 3)")
    g.add_argument("--allow-small", action="store_true",
                   help="show numbers for sources under 20 conversations (default: their rows say "
                        "'too few conversations to measure')")
    g.add_argument("--no-discriminator", action="store_true",
                   help="skip the classifier lens (the real-vs-simulated AUC)")
    g.add_argument("--mauve", action="store_true",
                   help="also report MAUVE per simulator on the facet embeddings (needs the bench extra: mauve-text)")
    g.add_argument("--metadata", type=Path, help="simulators TOML: name, family, size, cost")
    g.add_argument("--cache", type=Path, default=None,
                   help="cache folder (default $ENSEMBLE_FIT_CACHE or ~/.cache/ensemble-fit)")
    g.add_argument("--embeddings", type=Path, metavar="PATH",
                   help="precomputed embeddings (.npz/.npy/.parquet) keyed by conversation id and facet")
    e = p.add_argument_group("facet extractor and embedding model")
    e.add_argument("--extractor", choices=["rules", "llm"], default="rules",
                   help="offline rule-based descriptions (default) or an OpenAI-compatible LLM server")
    e.add_argument("--base-url", help="LLM server, e.g. http://localhost:8000/v1")
    e.add_argument("--model", dest="llm_model", help="LLM model name on the server")
    e.add_argument("--concurrency", type=int, default=8, help="parallel LLM requests (default 8)")
    e.add_argument("--request-budget", type=int, default=None, help="most LLM requests this run may send")
    e.add_argument("--max-failed-share", type=float, default=0.05, metavar="SHARE",
                   help="LLM extractor: stop with an error when facet extraction fails for more than "
                        "this share of conversations (default 0.05)")
    e.add_argument("--dry-run", action="store_true", help="LLM extractor: print request and token estimates, send nothing")
    e.add_argument("--embedding-model", default=None, metavar="PATH",
                   help="sentence-transformers model folder (default: the bundled all-MiniLM-L6-v2)")
    e.add_argument("--device", default="cpu", help="torch device for the embedding model (default cpu)")
    e.add_argument("--batch-size", type=int, default=64, metavar="N",
                   help="descriptions embedded per batch (default 64; lower it if memory is short)")


def _add_fit(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("mixture")
    g.add_argument("--heldout", type=float, default=None, metavar="FRAC",
                   help="share of real users held out of codebooks and weights (default 0.3)")
    g.add_argument("--divergence", choices=["js", "kl_forward"], default=None,
                   help="what the weights minimise: Jensen-Shannon (default js) or KL(real || mixture)")
    g.add_argument("--max-simulators", type=int, default=None, metavar="K",
                   help="use at most K simulators in the mixture (default: no limit)")
    g.add_argument("--min-weight", type=float, default=None, metavar="W",
                   help="every simulator not excluded gets at least weight W (default 0)")
    g.add_argument("--max-weight", type=float, default=None, metavar="W",
                   help="no simulator gets more than weight W (default 1)")
    g.add_argument("--include", action="append", default=None, metavar="SIM",
                   help="simulator that must be in the mixture (repeatable)")
    g.add_argument("--exclude", action="append", default=None, metavar="SIM",
                   help="simulator left out of the mixture (repeatable)")
    g.add_argument("--budget", type=float, default=None, help="max expected cost per conversation (needs --metadata)")
    g.add_argument("--cost-penalty", type=float, default=None, metavar="L",
                   help="add L x expected cost to the objective (needs --metadata with costs; default 0)")
    g.add_argument("--no-per-task", action="store_true", help="skip per-task mixtures")
    g.add_argument("--weight-bootstrap", type=int, default=None, metavar="N",
                   help="resamples for weight CIs (default 30)")


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error (`--help` shows the usage)."""

    def error(self, message: str):
        _print_error(f"{self.prog}: {message} (see '{self.prog} --help')")
        self.exit(2)


def add_output_options(p: argparse.ArgumentParser, json_result: bool = True) -> None:
    """--quiet / --verbose, and --json for commands with a result to print."""
    g = p.add_argument_group("output")
    v = g.add_mutually_exclusive_group()
    v.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bars or progress messages; results, warnings and errors only")
    v.add_argument("-v", "--verbose", action="store_true",
                   help="also print the settings used, the cache folder and each stage's time")
    if json_result:
        g.add_argument("--json", action="store_true",
                       help="print the result as JSON on stdout (tables and messages go to stderr)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="ensemble-fit",
        description="Measure how far LLM user simulators behave from real users, "
                    "and fit the mixture of simulators that comes closest.")
    p.add_argument("--version", action="version", version=f"ensemble-fit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sp = sub.add_parser("inspect", help="summarize a dataset and the problems found in it")
    sp.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders of conversations")
    # inspect reports bad records rather than stopping at the first one.
    _add_reading(sp, on_error="skip")
    sp.add_argument("--strict", action="store_true",
                    help="exit with status 1 when any problem is found (for scripts and CI)")

    sp = sub.add_parser("measure", help="behaviour distributions and divergences per simulator")
    _add_data(sp, required=True)
    sp.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="output folder for measure.json, measure.csv, distributions.npz")
    _add_measure(sp)
    add_output_options(sp)

    sp = sub.add_parser("run", help="the main job: measure, fit the mixture, report (demo data without --data)")
    _add_data(sp)
    sp.add_argument("--out", type=Path, default=Path("out/demo"), metavar="DIR",
                    help="output folder (default out/demo)")
    _add_measure(sp)
    _add_fit(sp)
    sp.add_argument("--no-report", action="store_true", help="skip the HTML/Markdown report")
    add_output_options(sp)

    sp = sub.add_parser("sweep", help="Optuna sweep over cluster counts and facet weights")
    _add_data(sp)
    sp.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="output folder for sweep.json, trials.csv, weights.json and plots/")
    _add_measure(sp)
    _add_fit(sp)
    sp.add_argument("--storage", default=None, help="Optuna storage URL (default sqlite:///DIR/sweep.db)")
    sp.add_argument("--study", default=None, help="study name (default ensemble-fit)")
    sp.add_argument("--new-study", action="store_true",
                    help="start a new study in a storage file that exists but holds no study (an emptied or "
                         "truncated database is refused without it, so a sweep never silently starts over)")
    sp.add_argument("--n-trials", type=int, default=None, metavar="N",
                    help="complete trials the study should hold in total, over all runs and workers "
                         "(default 50); a rerun with a larger N adds trials, a smaller one runs none")
    sp.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                    help="stop starting new trials after this many seconds")
    sp.add_argument("--tune-pca", action="store_true", help="also sweep the PCA variance")
    sp.add_argument("--tune-divergence", action="store_true", help="also sweep js vs kl_forward")
    sp.add_argument("--noise-seeds", type=int, default=3, metavar="N",
                    help="re-score the default settings with N more codebook seeds to tell whether the best "
                         "trial beats them by more than the yardstick's noise (default 3; 0 skips)")
    add_output_options(sp)

    sp = sub.add_parser("report", help="write report.html and report.md for a run folder")
    sp.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a folder written by run or measure")
    sp.add_argument("--assigned", type=Path, default=None, metavar="OUT",
                    help="an assigned dataset (or its .assignment.json, or a saved sampler state): show its "
                         "realized mixture and predicted gap next to the fitted one")

    sp = sub.add_parser("assign", help="add a simulator column to a training dataset (per-task, "
                                       "balanced, stable per row id)")
    sp.add_argument("--weights", type=Path, required=True, metavar="FILE", help="weights.json from run")
    sp.add_argument("--data", type=Path, required=True, metavar="PATH",
                    help="tasks or prompts: .jsonl, .json (array), .parquet, or a datasets save_to_disk folder")
    sp.add_argument("--out", type=Path, required=True, metavar="PATH",
                    help="written in the input's format; an earlier assignment there keeps its rows")
    sp.add_argument("--seed", type=int, default=0, help="row order and schedule seed (default 0)")
    sp.add_argument("--column", default="simulator", metavar="NAME",
                    help="name of the added column (default simulator)")
    sp.add_argument("--task-column", default="task", metavar="NAME",
                    help="column naming each row's task (default task); used when the weights have per-task mixtures")
    sp.add_argument("--id-column", default=None, metavar="NAME",
                    help="column identifying a row (default: id if present, else a content hash of the row)")
    sp.add_argument("--fallback", choices=["global"], default=None,
                    help="give rows whose task has no per-task mixture the global mixture (default: an error)")
    sp.add_argument("--format", dest="data_format", choices=["jsonl", "json", "parquet", "datasets"],
                    default=None, help="input format when the path does not say")
    sp.add_argument("-q", "--quiet", action="store_true", help="no summary table")

    sp = sub.add_parser("plan", help="plan the generation budget: how many conversations each simulator "
                                     "needs, and which to generate next (from a pilot sample)")
    _add_data(sp, required=True)
    sp.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder for plan.json, plan.md")
    _add_measure(sp)
    g = sp.add_argument_group("plan")
    b = g.add_mutually_exclusive_group()
    b.add_argument("--budget", type=float, default=None, metavar="N",
                   help="new simulated conversations to allocate (default 0: only the curves and targets)")
    b.add_argument("--cost-budget", type=float, default=None, metavar="COST",
                   help="allocate this much cost instead (needs --metadata with a cost per simulator)")
    g.add_argument("--target-ci", type=float, default=None, metavar="BITS",
                   help="full width of the gap's 95%% CI to reach, in bits (default 0.05)")
    g.add_argument("--rounds", type=int, default=1, metavar="R",
                   help="spend the budget over R rounds of plan -> generate -> plan; this plan is round 1 "
                        "(default 1)")
    g.add_argument("--objective", choices=["both", "weights", "mixture_js"], default="both",
                   help="what the allocation reduces: weight error, mixture JS excess, or both (default)")
    g.add_argument("--plan-bootstrap", type=int, default=None, metavar="N",
                   help="replicates per size for the curves (default 20)")
    g.add_argument("--negligible-weight", type=float, default=0.02, metavar="W",
                   help="a simulator whose pilot weight CI stays under W gets no budget (default 0.02)")
    add_output_options(sp)

    sp = sub.add_parser("demo", help="write the synthetic demo dataset (with its true mixture) to a folder")
    sp.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the JSONL files")
    sp.add_argument("--seed", type=int, default=0, help="random seed (default 0; same seed, same bytes)")
    sp.add_argument("--n-per-simulator", type=int, default=200, metavar="N",
                    help="conversations per simulated persona (default 200)")
    sp.add_argument("--n-real", type=int, default=600, metavar="N", help="real-user conversations (default 600)")
    sp.add_argument("--topic-pool", default="A",
                    help="which pool of topics the conversations draw from (default A; B has other topics, "
                         "for held-out checks)")
    return p


def _names_hub_dataset(argv: list[str]) -> bool:
    """An `hf:` input anywhere on the command line (`--data hf:...`, `--data=hf:...`, inspect's paths)."""
    return any(a.startswith("hf:") or "=hf:" in a for a in argv)


def main(argv: list[str] | None = None) -> int:
    # Models load from local folders only; the Hub stays off unless the user's
    # own input is a hub dataset (then datasets/huggingface_hub need it on,
    # and HF_HUB_OFFLINE / HF_DATASETS_OFFLINE, if the user set them, decide).
    # (huggingface_hub reads TRANSFORMERS_OFFLINE as HF_HUB_OFFLINE too.)
    if not _names_hub_dataset(sys.argv[1:] if argv is None else list(argv)):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else 2
    if not args.command:
        parser.print_help()
        return 0
    try:
        from ensemble.cli import commands
        with _output_folder(args):
            return getattr(commands, f"cmd_{args.command}")(args) or 0
    except EnsembleFitError as exc:
        message = str(exc)
        if isinstance(exc, InputError) and exc.line is not None \
                and getattr(args, "on_error", None) == "raise":
            # Real logs always hold some broken records; say how to get past them.
            message += " (to skip bad records and count them, add --on-error skip)"
        _print_error(message)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished work is cached and will be reused", file=sys.stderr)
        return 130
    except MemoryError as exc:
        print(f"error: out of memory{memory_hint(exc)}", file=sys.stderr)
        return 3
    except OSError as exc:
        # Environment problems (disk full, permissions) are not bugs: one line.
        where = f"{exc.filename}: " if exc.filename else ""
        _print_error(f"{where}{exc.strerror or exc}")
        return 3
    except Exception as exc:  # a bug: keep the traceback in a file, not on the screen
        import tempfile
        import traceback
        if os.environ.get("ENSEMBLE_FIT_DEBUG"):
            raise
        fd, log = tempfile.mkstemp(prefix="ensemble-fit-crash-", suffix=".log")
        with os.fdopen(fd, "w") as fh:
            traceback.print_exc(file=fh)
        print(f"internal error: {type(exc).__name__}: {escape_control(str(exc))}\n(traceback written to {log}; "
              "please report it; set ENSEMBLE_FIT_DEBUG=1 to see it here)", file=sys.stderr)
        return 70


# Where a MemoryError was raised (the innermost package frame) -> what helps there.
# --k does not: codebooks are k x dim, tiny; memory grows with conversations,
# sources (pairwise matrices are sources^2 per facet) and facets.
_MEMORY_HINTS = (
    (("measure/loaders", "measure/hub", "measure/conversation", "measure/record_filter"),
     "while reading the data; read less at a time: --max-per-source N, or split the data into several runs"),
    (("measure/facets", "measure/facet_table"),
     "while describing conversations; try --max-per-source N or fewer facets (--facets a,b)"),
    (("measure/embed", "measure/_encode_worker", "measure/precomputed"),
     "while embedding; try a smaller --batch-size, --max-per-source N, or fewer facets (--facets a,b)"),
    (("measure/codebook",),
     "while clustering; try --max-per-source N, fewer facets (--facets a,b), or a lower "
     "minibatch_threshold in the config (MiniBatchKMeans)"),
    (("ensemble/report", "ensemble/mixture", "ensemble/tune"),
     "with many simulators; measure fewer sources per run (the simulator map and the fit grow with "
     "the number of sources)"),
    (("measure/pipeline", "measure/divergence", "measure/uncertainty", "measure/discriminator", "measure/outputs"),
     "while comparing sources; measure fewer sources per run (pairwise matrices grow with the square of "
     "the number of sources), or use --max-per-source N and fewer facets (--facets a,b)"),
)


def memory_hint(exc: BaseException) -> str:
    """What helps after a MemoryError, from the innermost frame of ours in its traceback."""
    import traceback

    import ensemble
    import measure
    roots = [Path(pkg.__file__).resolve().parent for pkg in (measure, ensemble)]
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        for root in roots:
            if path.is_relative_to(root):
                where = f"{root.name}/{path.relative_to(root).as_posix()}"
    for parts, hint in _MEMORY_HINTS:
        if any(where.startswith(p) for p in parts):
            return f" {hint}"
    return ("; what helps: fewer conversations per source (--max-per-source N), fewer sources per run, "
            "or fewer facets (--facets a,b)")


# Commands that write a run folder hold it for the whole run: one run per folder.
_FOLDER_OF = {"measure": "out", "run": "out", "sweep": "out", "plan": "out", "report": "run_dir"}


def _output_folder(args):
    """The lock on the folder this command writes (measure.run_folder), or a no-op."""
    import contextlib

    from measure.run_folder import hold_output_folder
    attr = _FOLDER_OF.get(args.command)
    folder = getattr(args, attr, None) if attr else None
    if folder is None or (args.command == "report" and not Path(folder).is_dir()):
        return contextlib.nullcontext()   # report's own error names the missing folder
    return hold_output_folder(folder, command=args.command, reader=args.command == "report")


def _print_error(message: str) -> None:
    """One line on stderr, whatever the terminal width (rich would wrap it)."""
    line = escape_control(" ".join(message.split("\n")).strip())
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.text import Text
        Console(stderr=True, soft_wrap=True).print(Text("error: ", style="bold red") + Text(line),
                                                   highlight=False)
    else:
        print(f"error: {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
