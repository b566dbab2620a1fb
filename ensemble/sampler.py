"""Pick a user simulator per RL episode according to fitted mixture weights.

    from ensemble.sampler import SimulatorSampler
    sampler = SimulatorSampler.from_file("weights.json", seed=0)
    sim = sampler.draw(task="coding")        # one name per episode

Modes
  "low_discrepancy" (default): a deterministic schedule whose realised counts
    track the weights at every prefix: after n draws from one stream,
    |count_s - n * w_s| < 1 for every simulator s. It is Tijdeman's
    chairman-assignment rule (earliest deadline first among the simulators
    that are due), whose bound 1 - 1/(2(N-1)) for N simulators with positive
    weight holds for time-varying rates too. The seed makes sequences differ
    without losing balance: it dithers the per-step rates by a small amount
    (keeping the bound below 1) and breaks equal deadlines at random.
  "iid": independent draws with numpy.random.default_rng(seed).choice.

Tasks: with per-task weights, `draw(task)` uses that task's weights and its
own stream (each task is balanced on its own). A task without per-task
weights, or task=None, uses the global weights and the global stream; pass
unknown_task="raise" to make unknown tasks a KeyError instead.
"""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import Mapping

import numpy as np

from .weights_file import load_weights, validate_per_task, validate_weights

MODES = ("low_discrepancy", "iid")


def _task_seed(seed: int, task: str | None) -> list[int]:
    # crc32, not hash(): Python salts str hashes per process.
    return [seed] if task is None else [seed, zlib.crc32(task.encode("utf-8"))]


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _uniform(key: np.uint64, t: np.ndarray, n: int) -> np.ndarray:
    """Counter-based uniforms in [0, 1), shape (len(t), n): splitmix64 of
    (key, t, item). Random access in t lets the schedule look ahead."""
    ctr = (np.asarray(t, dtype=np.uint64)[:, None] * np.uint64(n)
           + np.arange(n, dtype=np.uint64)[None, :])
    z = key + (ctr + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


class _LowDiscrepancyStream:
    """Tijdeman's chairman-assignment rule on the positive-weight items.

    Cumulative targets T_i(t) = t*w_i + phi_i(t) with a small seeded dither
    phi (sum_i phi_i(t) = 0, |phi_i| <= 2c*w_i, phi(0) = 0, and per-step rates
    T(t) - T(t-1) >= 0). At step t the items with T_i(t) - x_i >= 1 - delta
    are due; the due item whose deficit T_i - x_i first exceeds delta (the
    earliest deadline; seeded random order among equal deadlines) is drawn.
    Tijdeman's theorem (valid for time-varying rates) keeps |x_i - T_i| <=
    delta = 1 - 1/(2(N-1)), and c is chosen so |phi_i| <= (1 - delta)/2: hence
    |x_i(t) - t*w_i| <= 1 - 1/(4(N-1)) < 1 at every t."""

    def __init__(self, w: np.ndarray, rng: np.random.Generator):
        self.items = np.flatnonzero(w > 0)
        self.w = w[self.items] / w[self.items].sum()   # drop the <=1e-6 validation slack
        n = self.n = len(self.items)
        self.delta = 1.0 - 1.0 / (2 * (n - 1)) if n > 1 else 0.0
        self.c = min(0.25, (1.0 - self.delta) / (4 * self.w.max())) if n > 1 else 0.0
        self.key = np.uint64(rng.integers(0, 2 ** 63))
        self.x = np.zeros(n)
        self.t = 0

    def _target(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T(t), the uniforms behind its dither) for integer times t."""
        u = _uniform(self.key, t, self.n)
        v = 2.0 * u - 1.0
        phi = self.c * self.w * (v - (v @ self.w)[:, None])
        phi[np.asarray(t) == 0] = 0.0
        return np.asarray(t, dtype=float)[:, None] * self.w + phi, u

    def next(self) -> int:
        self.t += 1
        if self.n == 1:
            self.x[0] += 1
            return int(self.items[0])
        t = self.t
        T_now, u_now = self._target(np.array([t]))
        deficit = T_now[0] - self.x
        due = np.flatnonzero(deficit >= (1.0 - self.delta) - 1e-12)
        if len(due) == 0:                              # cannot happen (Tijdeman); be safe
            due = np.array([int(np.argmax(deficit))])
        # Deadline: first t' >= t with T_i(t') - x_i > delta. |phi_i| <= 2c w_i
        # and 4c <= 1 put it among three consecutive integers from t0.
        w, x = self.w[due], self.x[due]
        t0 = np.maximum(t, np.floor((x + self.delta) / w - 2 * self.c).astype(np.int64))
        cand = t0[:, None] + np.arange(4)[None, :]
        T = self._target(cand.ravel())[0].reshape(len(due), 4, self.n)[
            np.arange(len(due))[:, None], np.arange(4)[None, :], due[:, None]]
        over = T - x[:, None] > self.delta
        over[:, -1] = True                             # guard; the window always suffices
        deadline = cand[np.arange(len(due)), np.argmax(over, axis=1)]
        tied = due[deadline == deadline.min()]
        pick = tied[np.argmin(u_now[0, tied])]      # seeded order among equal deadlines
        self.x[pick] += 1
        return int(self.items[pick])


class _IIDStream:
    def __init__(self, w: np.ndarray, rng: np.random.Generator):
        self.p = w / w.sum()
        self.rng = rng

    def next(self) -> int:
        return int(self.rng.choice(len(self.p), p=self.p))


class SimulatorSampler:
    """Draw simulator names in proportion to mixture weights.

    Weights must be finite, >= 0 and sum to 1 within 1e-6, else ValueError
    (they are never silently renormalised)."""

    def __init__(self, weights: Mapping[str, float],
                 per_task: Mapping[str, Mapping[str, float]] | None = None,
                 seed: int = 0, mode: str = "low_discrepancy", unknown_task: str = "global"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if unknown_task not in ("global", "raise"):
            raise ValueError(f"unknown_task must be 'global' or 'raise', got {unknown_task!r}")
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.weights = validate_weights(weights)
        self.per_task = validate_per_task(per_task, self.weights)
        self.names = list(self.weights)
        self.seed, self.mode, self.unknown_task = seed, mode, unknown_task
        self.reset()

    @classmethod
    def from_file(cls, path: str | Path, seed: int = 0, mode: str = "low_discrepancy",
                  unknown_task: str = "global") -> "SimulatorSampler":
        wf = load_weights(path)
        return cls(wf.weights, wf.per_task, seed=seed, mode=mode, unknown_task=unknown_task)

    def reset(self) -> None:
        """Restart every stream: the same seed then replays the same sequence."""
        self._streams: dict[str | None, object] = {}
        self._counts: dict[str | None, np.ndarray] = {}

    def _key(self, task: str | None) -> str | None:
        if task is None or task in self.per_task:
            return task
        if self.unknown_task == "raise":
            raise KeyError(f"no per-task weights for task {task!r}; known tasks: "
                           f"{sorted(self.per_task)}")
        return None

    def weights_for(self, task: str | None = None) -> dict[str, float]:
        """The weights draws for `task` follow (all simulators, global order)."""
        key = self._key(task)
        w = self.weights if key is None else self.per_task[key]
        return {n: w.get(n, 0.0) for n in self.names}

    def _stream(self, key: str | None):
        stream = self._streams.get(key)
        if stream is None:
            w = np.array(list(self.weights_for(key).values()))
            rng = np.random.default_rng(_task_seed(self.seed, key))
            cls = _LowDiscrepancyStream if self.mode == "low_discrepancy" else _IIDStream
            stream = self._streams[key] = cls(w, rng)
            self._counts[key] = np.zeros(len(self.names), dtype=np.int64)
        return stream

    def draw(self, task: str | None = None) -> str:
        """One simulator name for the next episode."""
        key = self._key(task)
        i = self._stream(key).next()
        self._counts[key][i] += 1
        return self.names[i]

    def draws(self, n: int, task: str | None = None) -> list[str]:
        """n consecutive draws (same as calling draw n times)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return [self.draw(task) for _ in range(int(n))]

    def counts(self, task: str | None = None) -> dict[str, int]:
        """Realised counts so far in the stream `task` draws from."""
        key = self._key(task)
        c = self._counts.get(key, np.zeros(len(self.names), dtype=np.int64))
        return {n: int(x) for n, x in zip(self.names, c)}
