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

__all__ = ["BFGSState", "bfgs"]


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
            s, y = x_new - state.x, g_new - state.g
            sy = float(s @ y)
            if state.iteration == 0 and sy > 0:
                state.h = np.eye(len(s)) * (sy / float(y @ y))
            if sy > 1e-12 * np.linalg.norm(s) * np.linalg.norm(y):
                rho = 1.0 / sy
                left = np.eye(len(s)) - rho * np.outer(s, y)
                state.h = left @ state.h @ left.T + rho * np.outer(s, s)
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
            if len(state.history) > patience:
                old = state.history[-1 - patience]["loss"]
                if old - state.f <= rel_decrease * abs(old):
                    message = "relative decrease below rel_decrease"
                    break
    except KeyboardInterrupt:
        message = "interrupted"
        if on_checkpoint is not None:
            on_checkpoint(state)
    return state, message
