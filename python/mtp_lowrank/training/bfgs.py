"""A dense BFGS whose whole state can be saved and restored, so that a run resumed from a
checkpoint takes exactly the iterates the uninterrupted run would have taken (scipy's BFGS
keeps its inverse Hessian private and cannot be resumed).

Each iteration: p = -H g (reset to -g if not a descent direction); backtracking from t = 1 until
f(x + t p) <= f + mu t g.p; H scaled by s.y / y.y after the first step; BFGS update of H when the
curvature condition s.y > 0 holds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BFGSState", "bfgs", "bfgs_update", "stalled"]


def bfgs_update(h: np.ndarray, s: np.ndarray, y: np.ndarray, first: bool) -> np.ndarray:
    """Inverse-Hessian update for the step s and gradient change y: after the first step H is
    rescaled to (s.y / y.y) I; the BFGS formula is applied only when s.y > 0 (curvature)."""
    sy = float(s @ y)
    if first and sy > 0:
        h = np.eye(len(s)) * (sy / float(y @ y))
    if sy > 1e-12 * np.linalg.norm(s) * np.linalg.norm(y):
        rho = 1.0 / sy
        left = np.eye(len(s)) - rho * np.outer(s, y)
        h = left @ h @ left.T + rho * np.outer(s, s)
    return h


def stalled(history: list, patience: int, rel_decrease: float) -> bool:
    """True when the loss fell by at most rel_decrease (relative) over the last `patience`
    iterations."""
    if len(history) <= patience:
        return False
    old = history[-1 - patience]["loss"]
    return old - history[-1]["loss"] <= rel_decrease * abs(old)


@dataclass
class BFGSState:
    x: np.ndarray
    f: float
    g: np.ndarray
    h: np.ndarray                  # inverse-Hessian approximation (n, n)
    iteration: int = 0
    best_x: np.ndarray | None = None
    best_f: float = np.inf
    seconds: float = 0.0           # optimisation time before this (resumed) run
    history: list = field(default_factory=list)

    def save(self, path) -> None:
        np.savez(path, x=self.x, f=self.f, g=self.g, h=self.h, iteration=self.iteration,
                 best_x=self.best_x, best_f=self.best_f, seconds=self.seconds,
                 history=json.dumps(self.history))

    @classmethod
    def load(cls, path) -> "BFGSState":
        z = np.load(path)
        return cls(x=z["x"], f=float(z["f"]), g=z["g"], h=z["h"], iteration=int(z["iteration"]),
                   best_x=z["best_x"], best_f=float(z["best_f"]), seconds=float(z["seconds"]),
                   history=json.loads(str(z["history"])))


def bfgs(fun, x0=None, state: BFGSState | None = None, max_iter: int = 1000, gtol: float = 1e-8,
         rel_decrease: float = 1e-9, patience: int = 20, mu: float = 1e-4, callback=None,
         checkpoint_every: int = 0, on_checkpoint=None):
    """Minimise fun(x) -> (f, grad) from x0 or from a saved `state`; max_iter counts all
    iterations including those before a resume. Returns (state, message). on_checkpoint(state)
    runs every `checkpoint_every` iterations and on Ctrl-C."""
    if state is None:
        f, g = fun(np.asarray(x0, float))
        state = BFGSState(x=np.asarray(x0, float).copy(), f=float(f), g=g, h=np.eye(len(x0)),
                          best_x=np.asarray(x0, float).copy(), best_f=float(f))
    t0 = time.perf_counter() - state.seconds
    message = "maximum number of iterations reached"
    try:
        while state.iteration < max_iter:
            if np.linalg.norm(state.g) < gtol:
                message = "gradient norm below gtol"
                break
            p = -state.h @ state.g
            slope = float(state.g @ p)
            if slope >= 0:
                state.h = np.eye(len(state.x))
                p, slope = -state.g, -float(state.g @ state.g)
            t = 1.0
            while True:
                x_new = state.x + t * p
                f_new, g_new = fun(x_new)
                if f_new <= state.f + mu * t * slope or t < 1e-14:
                    break
                t *= 0.5
            if not f_new <= state.f:
                message = "line search failed"
                break
            state.h = bfgs_update(state.h, x_new - state.x, g_new - state.g, state.iteration == 0)
            state.x, state.f, state.g = x_new, float(f_new), g_new
            state.iteration += 1
            if state.f < state.best_f:
                state.best_f, state.best_x = state.f, state.x.copy()
            state.seconds = time.perf_counter() - t0
            record = {"iteration": state.iteration, "loss": state.f,
                      "grad_norm": float(np.linalg.norm(state.g)), "step": t, "seconds": state.seconds}
            state.history.append(record)
            if callback is not None:
                callback(record)
            if on_checkpoint is not None and checkpoint_every and state.iteration % checkpoint_every == 0:
                on_checkpoint(state)
            if stalled(state.history, patience, rel_decrease):
                message = "relative decrease below rel_decrease"
                break
    except KeyboardInterrupt:
        message = "interrupted"
        if on_checkpoint is not None:
            on_checkpoint(state)
    return state, message
