"""Pick a user simulator per RL episode according to fitted mixture weights.

    from ensemble.sampler import SimulatorSampler
    sampler = SimulatorSampler.from_file("weights.json", seed=0)
    sim = sampler.draw(task="coding")        # one name per episode

Light on purpose: importing this module loads the standard library, the
weights-file validator and the error classes, nothing else (numpy only for
mode="iid", when the first stream is made), so a training loop can use it
without the measurement stack.

Modes
  "low_discrepancy" (default): a deterministic schedule whose realised counts
    track the weights at every prefix: after n draws from one stream,
    |count_s - n * w_s| < 1 for every simulator s. It is Tijdeman's
    chairman-assignment rule: at step t the simulators whose deficit
    t*w_i - x_i has reached 1 - delta are due, and the due one with the
    earliest deadline (the step at which its deficit would pass delta) is
    drawn; delta = 1 - 1/(2(N-1)) for N simulators with positive weight bounds
    |x_i - t*w_i| by delta. Both times depend only on the simulator's own
    count, so two heaps (waiting by due step, due by deadline) make a draw
    O(log N). The seed breaks equal deadlines (a hash of seed, simulator and
    its count), so seeds give different orders with the same balance.
  "iid": independent draws, the same sequence as
    numpy.random.default_rng(seed).choice(N, p=w) called once per draw.

Tasks: with per-task weights, `draw(task)` uses that task's weights and its
own stream (each task is balanced on its own); task=None uses the global
weights and the global stream. A task without per-task weights is an error
unless the sampler was made with fallback="global", which sends it to the
global stream.

Resuming: `state_dict()` is a small JSON-able dict (the counts of every
stream, and the generator state in iid mode); `load_state_dict()` on a sampler
made with the same weights, seed and mode continues the same schedule.
"""
from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import math
import operator
import zlib
from pathlib import Path
from typing import Any, Mapping

from .weights_file import WeightsError, load_weights, validate_per_task, validate_weights

MODES = ("low_discrepancy", "iid")
FALLBACKS = (None, "global")
STATE_SCHEMA = "ensemble-fit/sampler-state/v1"
_M64 = (1 << 64) - 1
_FAR = 1 << 62                                   # "never" as a step number


class UnknownTaskError(WeightsError, KeyError):
    """A task with no per-task weights, and no fallback was asked for."""

    __str__ = WeightsError.__str__      # not KeyError's repr-quoting


def _task_seed(seed: int, task: str | None) -> list[int]:
    # crc32, not hash(): Python salts str hashes per process.
    return [seed] if task is None else [seed, zlib.crc32(task.encode("utf-8"))]


def _mix64(z: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of an integer."""
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _first_step(w: float, x: int, level: float, reached=operator.ge) -> int:
    """Smallest step s >= 1 with reached(s*w - x, level) (operator.ge: at
    least, operator.gt: strictly above), computed with the same float
    expression the rule compares."""
    guess = (x + level) / w
    if not guess < _FAR:                    # a weight of 1e-300: never due in practice
        return _FAR
    s = max(1, math.ceil(guess))
    # The guess is off by at most a step or two of rounding (usually none);
    # bounded loops, because past 2**53 a step no longer changes s * w.
    for _ in range(4):
        if reached(s * w - x, level):
            break
        s += 1
    for _ in range(4):
        if s > 1 and reached((s - 1) * w - x, level):
            s -= 1
        else:
            break
    return s


def _stream_key(seed: int, task: str | None) -> int:
    words = _task_seed(seed, task)
    z = 0
    for w in words:
        z = _mix64(z ^ (w & _M64))
    return z


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool):
        raise WeightsError(f"must be a non-negative integer, got {seed!r}", field="seed")
    try:
        seed = operator.index(seed)          # ints and numpy ints; not 1.7, not "3"
    except TypeError:
        raise WeightsError(f"must be a non-negative integer, got {type(seed).__name__} "
                           f"{seed!r:.40}", field="seed") from None
    if seed < 0:
        raise WeightsError(f"must be >= 0, got {seed}", field="seed")
    return int(seed)


class _LowDiscrepancyStream:
    """Tijdeman's chairman-assignment rule with two heaps (see the module notes).

    State is the count of each positive-weight simulator; the step t is their
    sum, so restoring counts restores the stream exactly."""

    def __init__(self, w: list[float], key: int):
        self.items = [i for i, x in enumerate(w) if x > 0]
        total = math.fsum(w[i] for i in self.items)
        self.w = [w[i] / total for i in self.items]     # drop the <=1e-6 validation slack
        n = len(self.items)
        self.delta = 1.0 - 1.0 / (2 * (n - 1)) if n > 1 else 0.0
        self.due_at = 1.0 - self.delta - 1e-12
        self.key = key
        self.set_counts([0] * n)

    def set_counts(self, x: list[int]) -> None:
        self.x = list(x)
        self.t = sum(self.x)
        self.waiting = [(self._eligible(j), j) for j in range(len(self.x))]
        heapq.heapify(self.waiting)
        self.ready: list[tuple[int, int, int]] = []

    def _eligible(self, j: int) -> int:
        return _first_step(self.w[j], self.x[j], self.due_at)

    def next(self) -> int:
        return self.next_many(1)[0]

    def next_many(self, n: int) -> list[int]:
        """The next n draws. The one implementation of the rule (`next` is
        n=1): names bound to locals once per batch, since a draw is a handful
        of heap operations and Python's per-call overhead would dominate."""
        items = self.items
        if len(items) == 1:
            self.t += n
            self.x[0] += n
            return [items[0]] * n
        x, w, key = self.x, self.w, self.key
        waiting, ready = self.waiting, self.ready
        delta, due_at = self.delta, self.due_at
        push, pop, first_step, gt = heapq.heappush, heapq.heappop, _first_step, operator.gt
        out = []
        t = self.t
        for _ in range(n):
            t += 1
            # Due simulators become ready, keyed by deadline and a seeded tie-break;
            # an empty ready heap cannot happen (Tijdeman), but then take the next due.
            while waiting and (waiting[0][0] <= t or not ready):
                j = pop(waiting)[1]
                push(ready, (first_step(w[j], x[j], delta, gt), _mix64(key ^ _mix64((items[j] << 32) ^ x[j])), j))
            j = pop(ready)[2]
            x[j] += 1
            push(waiting, (first_step(w[j], x[j], due_at), j))
            out.append(items[j])
        self.t = t
        return out

    def counts(self, size: int) -> list[int]:
        out = [0] * size
        for j, i in enumerate(self.items):
            out[i] = self.x[j]
        return out

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, counts: list[int], extra: Mapping[str, Any]) -> None:
        if any(counts[i] for i in range(len(counts)) if i not in set(self.items)):
            raise WeightsError("state has draws of a simulator whose weight is 0",
                               field="state.streams")
        self.set_counts([counts[i] for i in self.items])


class _IIDStream:
    """numpy's Generator.choice(N, p=w), one draw at a time, with the CDF built
    once (choice rebuilds it every call: O(N) a draw)."""

    def __init__(self, w: list[float], seed: list[int]):
        import numpy as np                              # only here: keeps the import light
        p = np.asarray(w, dtype=float)
        p = p / p.sum()
        cdf = p.cumsum()
        cdf /= cdf[-1]                                  # exactly as Generator.choice does
        self.cdf = cdf.tolist()
        self.rng = np.random.default_rng(seed)

    def next(self) -> int:
        return bisect.bisect_right(self.cdf, self.rng.random())

    def next_many(self, n: int) -> list[int]:
        return [self.next() for _ in range(n)]

    def state(self) -> dict[str, Any]:
        return {"bit_generator": self.rng.bit_generator.state}

    def restore(self, counts: list[int], extra: Mapping[str, Any]) -> None:
        try:
            self.rng.bit_generator.state = dict(extra["bit_generator"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"bad generator state: {exc}", field="state.streams") from None


class SimulatorSampler:
    """Draw simulator names in proportion to mixture weights.

    Parameters
    ----------
    weights : mapping of str to float
        Global mixture: finite, >= 0, summing to 1 within 1e-6 (never
        silently renormalised), else WeightsError (a ValueError).
    per_task : mapping of str to mapping, optional
        Per-task mixtures over the same simulators.
    seed : int
        Non-negative integer; the same seed replays the same draws.
    mode : {"low_discrepancy", "iid"}
    fallback : {None, "global"}
        What a task without per-task weights gets: None (default) raises
        UnknownTaskError; "global" uses the global weights and stream.
    unknown_task : {"raise", "global"}, optional
        Older spelling of `fallback` ("raise" is fallback=None).
    """

    def __init__(self, weights: Mapping[str, float],
                 per_task: Mapping[str, Mapping[str, float]] | None = None,
                 seed: int = 0, mode: str = "low_discrepancy", fallback: str | None = None,
                 unknown_task: str | None = None):
        if mode not in MODES:
            raise WeightsError(f"must be one of {MODES}, got {mode!r:.60}", field="mode")
        if unknown_task is not None:
            if unknown_task not in ("global", "raise"):
                raise WeightsError(f"must be 'global' or 'raise', got {unknown_task!r:.60}",
                                   field="unknown_task")
            fallback = None if unknown_task == "raise" else "global"
        if fallback not in FALLBACKS:
            raise WeightsError(f"must be None or 'global', got {fallback!r:.60}",
                               field="fallback")
        self.seed = _check_seed(seed)
        self.weights = validate_weights(weights)
        self.per_task = validate_per_task(per_task, self.weights)
        self.names = list(self.weights)
        self.mode, self.fallback = mode, fallback
        self.reset()

    @classmethod
    def from_file(cls, path: str | Path, seed: int = 0, mode: str = "low_discrepancy",
                  fallback: str | None = None, unknown_task: str | None = None
                  ) -> "SimulatorSampler":
        """A sampler for the weights (and per-task weights) of a weights.json.

        Parameters
        ----------
        path : path
            weights.json from `ensemble-fit run` (checked: schema, names,
            non-negative weights summing to 1; a `WeightsError` names the field).
        seed, mode, fallback, unknown_task
            As for `SimulatorSampler`.

        Returns
        -------
        SimulatorSampler

        Examples
        --------
        >>> from ensemble.sampler import SimulatorSampler
        >>> from ensemble.weights_file import write_weights
        >>> _ = write_weights(tmp / "w.json", {"sim_a": 0.75, "sim_b": 0.25})
        >>> s = SimulatorSampler.from_file(tmp / "w.json", seed=0)
        >>> names = s.draw_many(8)
        >>> s.counts()
        {'sim_a': 6, 'sim_b': 2}
        """
        wf = load_weights(path)
        return cls(wf.weights, wf.per_task, seed=seed, mode=mode, fallback=fallback,
                   unknown_task=unknown_task)

    def reset(self) -> None:
        """Restart every stream: the same seed then replays the same sequence."""
        self._streams: dict[str | None, Any] = {}
        self._counts: dict[str | None, list[int]] = {}

    @property
    def unknown_task(self) -> str:
        return "raise" if self.fallback is None else "global"

    def _key(self, task: Any) -> str | None:
        if task is None:
            return None
        if not isinstance(task, str):
            raise WeightsError(f"must be a string or None, got {type(task).__name__} "
                               f"{task!r:.40}", field="task")
        if task in self.per_task:
            return task
        if self.fallback == "global":
            return None
        known = sorted(self.per_task)
        shown = ", ".join(repr(t) for t in known[:10]) + (" ..." if len(known) > 10 else "")
        hint = f"known tasks: {shown}" if known else "the weights have no per-task mixtures"
        raise UnknownTaskError(f"no per-task weights for task {task!r:.80} ({hint}); pass "
                               "fallback='global' to use the global weights", field="task")

    def weights_for(self, task: str | None = None) -> dict[str, float]:
        """The weights draws for `task` follow (all simulators, global order)."""
        key = self._key(task)
        w = self.weights if key is None else self.per_task[key]
        return {n: w.get(n, 0.0) for n in self.names}

    def _stream(self, key: str | None):
        stream = self._streams.get(key)
        if stream is None:
            w = list(self.weights_for(key).values())
            if self.mode == "low_discrepancy":
                stream = _LowDiscrepancyStream(w, _stream_key(self.seed, key))
            else:
                stream = _IIDStream(w, _task_seed(self.seed, key))
            self._streams[key] = stream
            self._counts[key] = [0] * len(self.names)
        return stream

    def draw(self, task: str | None = None) -> str:
        """One simulator name for the next episode of `task` (None: global)."""
        key = self._key(task)
        i = self._stream(key).next()
        self._counts[key][i] += 1
        return self.names[i]

    def draw_many(self, n: int, task: str | None = None) -> list[str]:
        """n consecutive draws (the same as calling draw n times)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise WeightsError(f"must be an integer >= 0, got {n!r:.40}", field="n")
        key = self._key(task)
        drawn = self._stream(key).next_many(n)          # one batch: no per-draw call overhead
        counts, names = self._counts[key], self.names
        for i in drawn:
            counts[i] += 1
        return [names[i] for i in drawn]

    draws = draw_many                                   # the 0.1 name

    def counts(self, task: str | None = None) -> dict[str, int]:
        """Realised counts so far in the stream `task` draws from."""
        key = self._key(task)
        c = self._counts.get(key, [0] * len(self.names))
        return dict(zip(self.names, c))

    def counts_by_task(self) -> dict[str | None, dict[str, int]]:
        """Counts of every stream drawn from so far (None: the global stream)."""
        return {k: dict(zip(self.names, c)) for k, c in self._counts.items()}

    # ----------------------------------------------------------- resume

    def fingerprint(self) -> str:
        """sha256 of the weights, per-task weights, seed and mode: a state only
        continues the same schedule on a sampler with the same four."""
        doc = {"weights": self.weights, "per_task": self.per_task, "seed": self.seed,
               "mode": self.mode}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the schedule, as plain JSON-able data.

        Returns
        -------
        dict
            {"schema", "fingerprint", "names", "streams": [{"task", "counts", ...}]};
            save it next to the training checkpoint (json.dump or torch.save).
        """
        streams = []
        for key in sorted(self._streams, key=lambda k: (k is not None, k or "")):
            streams.append({"task": key, "counts": list(self._counts[key]),
                            **self._streams[key].state()})
        return {"schema": STATE_SCHEMA, "fingerprint": self.fingerprint(),
                "mode": self.mode, "seed": self.seed, "names": list(self.names),
                "streams": streams}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from `state_dict()` of a sampler with the same weights, seed and mode.

        Raises
        ------
        WeightsError
            When the state is malformed or was saved by a different sampler.
        """
        if not isinstance(state, Mapping) or state.get("schema") != STATE_SCHEMA:
            raise WeightsError(f"not a sampler state (schema {STATE_SCHEMA!r} expected)",
                               field="state")
        if state.get("fingerprint") != self.fingerprint():
            raise WeightsError("saved by a sampler with other weights, seed or mode; it "
                               "would not continue this schedule", field="state.fingerprint")
        streams = state.get("streams")
        if not isinstance(streams, list):
            raise WeightsError("must be a list", field="state.streams")
        before = (self._streams, self._counts)
        self.reset()
        try:
            for entry in streams:
                if not isinstance(entry, Mapping):
                    raise WeightsError("entries must be objects", field="state.streams")
                task, counts = entry.get("task"), entry.get("counts")
                if task is not None and task not in self.per_task:
                    raise WeightsError(f"unknown task {task!r:.80}", field="state.streams")
                if (not isinstance(counts, list) or len(counts) != len(self.names)
                        or any(isinstance(c, bool) or not isinstance(c, int) or c < 0
                               for c in counts)):
                    raise WeightsError(f"counts must be {len(self.names)} integers >= 0",
                                       field="state.streams")
                self._stream(task).restore(counts, entry)
                self._counts[task] = list(counts)
        except WeightsError:
            self._streams, self._counts = before     # a bad state leaves the sampler as it was
            raise
