"""A dense BFGS whose whole state can be saved and restored, so that a run resumed from a
checkpoint takes exactly the iterates the uninterrupted run would have taken (scipy's BFGS
keeps its inverse Hessian private and cannot be resumed).

Each iteration, as scipy's BFGS does it: p = -H g (reset to -g if not a descent direction); a
strong-Wolfe line search (scipy's: MINPACK's, then scipy.optimize.line_search if that fails;
sufficient decrease mu, curvature 0.9; it
may extrapolate beyond t = 1, which matters: Armijo backtracking from t = 1 alone trained MTPs
several times slower); backtracking from t = 1 if that search fails; BFGS update of H when the
curvature condition s.y > 0 holds (no rescaling of H after the first step: see bfgs_update).
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import line_search

from .interrupt import interrupts_deferred

try:  # MINPACK's line search, which scipy's BFGS tries first (a private module of scipy)
    from scipy.optimize._linesearch import line_search_wolfe1
except ImportError:  # pragma: no cover
    line_search_wolfe1 = None

__all__ = ["BFGSState", "Converged", "bfgs", "bfgs_update", "stalled"]


class Converged(Exception):
    """Raised by an optimizer's callback to end training after the iteration it was called
    for (e.g. when the validation loss has stopped improving); the message says why."""


def bfgs_update(h: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Inverse-Hessian update for the step s and gradient change y, applied only when the
    curvature condition s.y > 0 holds. H is not rescaled to (s.y / y.y) I after the first step
    (Nocedal-Wright's heuristic): on MTP losses, whose parameters differ in scale by orders of
    magnitude, that rescaling made BFGS and R-MF several times slower (measured), while the
    line search's first trial step already supplies the scale, as in scipy's BFGS."""
    sy = float(s @ y)
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
    f_prev: float = np.nan         # loss before the last step (the line search's first trial step)
    history: list = field(default_factory=list)
    restarts: list = field(default_factory=list)   # iterations at which H was reset (restart())

    def restart(self) -> None:
        """Forget the curvature estimate (H = I, as at the start) and continue from x."""
        self.h = np.eye(len(self.x))
        self.f_prev = np.nan
        self.restarts.append(self.iteration)

    def arrays(self) -> dict:
        """Everything, as arrays for np.savez (load() reads them back)."""
        return dict(x=self.x, f=self.f, g=self.g, h=self.h, iteration=self.iteration, best_x=self.best_x,
                    best_f=self.best_f, seconds=self.seconds, history=json.dumps(self.history), f_prev=self.f_prev,
                    restarts=np.asarray(self.restarts, int))

    def save(self, path) -> None:
        np.savez(path, **self.arrays())

    @classmethod
    def load(cls, path) -> "BFGSState":
        z = np.load(path)
        return cls(x=z["x"], f=float(z["f"]), g=z["g"], h=z["h"], iteration=int(z["iteration"]),
                   best_x=z["best_x"], best_f=float(z["best_f"]), seconds=float(z["seconds"]),
                   history=json.loads(str(z["history"])),
                   f_prev=float(z["f_prev"]) if "f_prev" in z else np.nan,
                   restarts=[int(k) for k in z["restarts"]] if "restarts" in z else [])


def bfgs(fun, x0=None, state: BFGSState | None = None, max_iter: int = 1000, gtol: float = 1e-8,
         rel_decrease: float = 1e-9, patience: int = 20, mu: float = 1e-4, callback=None,
         checkpoint_every: int = 0, on_checkpoint=None, curvature: float = 0.9):
    """Minimise fun(x) -> (f, grad) from x0 or from a saved `state`; max_iter counts all
    iterations including those before a resume. Returns (state, message). on_checkpoint(state)
    runs every `checkpoint_every` iterations and on Ctrl-C. `curvature` is the strong-Wolfe
    curvature constant (scipy's 0.9; smaller means more exact line searches: 0.1 trained the
    NbMoTaW MTP slower per second, examples/training/time_to_accuracy.py)."""
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
            t, x_new, f_new, g_new = _wolfe_step(fun, state, p, slope, mu, curvature)
            if not f_new <= state.f:
                message = "line search failed"
                break
            # accepting the step is one transaction: a Ctrl-C or SIGTERM arriving in it takes
            # effect after it, so an interrupt always finds the state at an iteration the
            # callback has written (a validation check in the callback delays it that long)
            with interrupts_deferred():
                state.f_prev = state.f
                state.h = bfgs_update(state.h, x_new - state.x, g_new - state.g)
                state.x, state.f, state.g = x_new, float(f_new), g_new
                state.iteration += 1
                if state.f < state.best_f:
                    state.best_f, state.best_x = state.f, state.x.copy()
                state.seconds = time.perf_counter() - t0
                record = _record(state, t)
                state.history.append(record)
                if on_checkpoint is not None and checkpoint_every and state.iteration % checkpoint_every == 0:
                    on_checkpoint(state)
                if callback is not None:
                    callback(record)
            if stalled(state.history, patience, rel_decrease):
                message = "relative decrease below rel_decrease"
                break
    except Converged as e:
        message = str(e)
    except KeyboardInterrupt:
        message = "interrupted"
        if on_checkpoint is not None:
            on_checkpoint(state)
    return state, message


def _record(state: BFGSState, step: float) -> dict:
    """The history record of the iteration `state` is at (step: the line-search step length)."""
    return {"iteration": state.iteration, "loss": state.f, "grad_norm": float(np.linalg.norm(state.g)),
            "step": step, "seconds": state.seconds}


class _Cached:
    """fun(x) -> (f, g) seen as the separate f(x) and g(x) scipy's line search calls."""

    def __init__(self, fun):
        self.fun, self.x, self.f, self.g = fun, None, None, None

    def _at(self, x):
        if self.x is None or not np.array_equal(x, self.x):
            f, g = self.fun(x)
            self.x, self.f, self.g = np.array(x, float), float(f), np.asarray(g, float)

    def value(self, x):
        self._at(x)
        return self.f

    def grad(self, x):
        self._at(x)
        return self.g


def _wolfe_step(fun, state, p, slope, mu, curvature=0.9):
    """(t, x_new, f_new, g_new): strong-Wolfe step along p, else Armijo backtracking from 1."""
    cached = _Cached(fun)
    old_old = state.f_prev if np.isfinite(state.f_prev) else state.f + np.linalg.norm(state.g) / 2
    t = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if line_search_wolfe1 is not None:
            t = line_search_wolfe1(cached.value, cached.grad, state.x, p, gfk=state.g, old_fval=state.f,
                                   old_old_fval=old_old, c1=mu, c2=curvature, amin=1e-100, amax=1e100)[0]
        if t is None:
            t = line_search(cached.value, cached.grad, state.x, p, gfk=state.g, old_fval=state.f,
                            old_old_fval=old_old, c1=mu, c2=curvature, maxiter=20)[0]
    if t is not None and np.isfinite(t) and t > 0:
        x_new = state.x + t * p
        return t, x_new, cached.value(x_new), cached.grad(x_new)
    t = 1.0
    while True:
        x_new = state.x + t * p
        f_new, g_new = fun(x_new)
        if f_new <= state.f + mu * t * slope or t < 1e-14:
            return t, x_new, f_new, g_new
        t *= 0.5
