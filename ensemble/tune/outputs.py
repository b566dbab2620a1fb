"""What a sweep writes besides its summary: plots, the refit of the best settings, the top table."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from measure.atomic import write_bytes

from .objective import SweepContext
from .space import Settings


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def write_plots(study: optuna.Study, summary: dict, folder: Path) -> list[Path]:
    """history.png (values and running best) and importances.png, with matplotlib only."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    complete = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)
    fig, ax = plt.subplots(figsize=(7, 4))
    if complete:
        xs = [t.number for t in complete]
        ys = [t.value for t in complete]
        ax.scatter(xs, ys, s=14, color="tab:blue", label="trial")
        ax.step(xs, np.minimum.accumulate(ys), where="post", color="tab:red", label="best so far")
        if summary["default"]["value"] is not None:
            ax.axhline(summary["default"]["value"], color="grey", ls="--", lw=1, label="default settings")
        # below the axes, as in the report's plots: never over a trial's point
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("yardstick: held-out JS (bits)")
    study_name = str(summary["study"]).replace("$", r"\$")  # user-given: '$' would start mathtext
    ax.set_title(f"Optimization history ({study_name})")
    paths = [write_bytes(folder / "history.png", _png(fig))]
    plt.close(fig)

    imp = summary.get("importances") or {}
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(4, len(imp)) + 1))
    if imp:
        names = list(imp)[::-1]
        ax.barh(names, [imp[n] for n in names], color="tab:green")
        ax.set_xlabel("importance (fANOVA, normalized)")
    else:
        ax.text(0.5, 0.5, f"no importances: {summary.get('importances_note')}", ha="center", va="center")
        ax.set_axis_off()
    caveat = summary.get("importances_caveat")
    ax.set_title("Parameter importances" + (f"\n({caveat.split(':')[0]}: a hint, not a ranking)" if caveat else ""),
                 fontsize=10 if caveat else None)
    paths.append(write_bytes(folder / "importances.png", _png(fig)))
    plt.close(fig)
    return paths


def refit_best(ctx: SweepContext, summary: dict, metadata=None) -> dict | None:
    """weights.json for the best settings: the full `run` fit on them, plus a "study" key."""
    from dataclasses import replace

    from ensemble.mixture.fit import fit, weights_json
    from measure.pipeline import measure

    if summary["best"] is None:
        return None
    s = Settings.from_params(summary["best"]["params"], ctx.space, ctx.default)
    mconf = replace(ctx.mconf, k=dict(s.k), k_default=None, facet_weights=dict(s.facet_weights),
                    pca_variance=s.pca_variance)
    fconf = replace(ctx.fconf, divergence=s.divergence)
    m = measure(ctx.prep, mconf, cache_dir=ctx.cache_dir, metadata=metadata, memo=ctx.memo)
    outcome = fit(m, fconf, costs=ctx.costs, facet_weights=s.facet_weights, seed=mconf.seed)
    study = {"name": summary["study"], "storage": summary["storage"], "best_trial": summary["best"]["number"],
             "yardstick": summary["best"]["value"], "default_yardstick": summary["default"]["value"],
             "n_complete": summary["n_complete"]}
    return weights_json(m, outcome, fconf, mconf.to_dict(), extra={"study": study})


# ------------------------------------------------------------------ terminal


def top_table(summary: dict, facets: list[str], rows: int = 10):
    """Compact: one column of k's and one of facet weights, in facet order."""
    from rich.table import Table
    abbrev = " ".join(f[:4] for f in facets)
    t = Table(title=f"Top trials of '{summary['study']}' (yardstick: held-out JS, bits; lower is better)")
    t.add_column("#", justify="right")
    t.add_column("yardstick", justify="right")
    t.add_column(f"k ({abbrev})")
    t.add_column(f"facet weights ({abbrev})")
    t.add_column("other")
    for r in summary["top"][:rows]:
        fw = r["facet_weights"] or {}
        p = r["params"]
        extra = " ".join(([f"pca {p['pca_variance']:.2f}"] if "pca_variance" in p else [])
                         + ([p["divergence"]] if "divergence" in p else []))
        t.add_row(f"{r['number']}{'*' if r['default'] else ''}", f"{r['value']:.4f}",
                  " ".join(str(r["params"].get(f"k_{f}", "")) for f in facets),
                  " ".join(f"{fw.get(f, 0):.2f}" for f in facets), extra)
    t.caption = "* = default settings (what `ensemble-fit run` uses)"
    return t


# ------------------------------------------------------------------ command
