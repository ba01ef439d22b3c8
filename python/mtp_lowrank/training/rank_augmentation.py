"""MFRA: BFGS over matrix-factorized radial coefficients with rank augmentation (the paper's
Algorithm 1).

Start at rank r = delta_r from random factors. Every `s` BFGS iterations, while r < r_max:
  G = dL/dC_hat at X = U V^T (C_hat = reshape(C, [N_T^2, N_f N_b])),
  (U_d, S_d, V_d) = top-delta_r singular triplets of G,
  h = argmin_h L(xi, X + h U_d S_d V_d^T)   (a 1-D search; h = 0 is allowed, so L never rises),
  U <- [U, h U_d S_d^1/2],  V <- [V, V_d S_d^1/2]   (so U V^T = X + h U_d S_d V_d^T),
then BFGS continues with a fresh inverse-Hessian approximation (the parameter space changed
shape, the old curvature pairs do not carry over). At r_max BFGS runs to convergence.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from ..potential import Potential
from .loss import Loss
from .optimize import TrainResult, train_bfgs

__all__ = ["train_mfra"]


def _radial_gradient(pot: Potential, loss: Loss) -> np.ndarray:
    """dL/dC_hat (N_T^2, N_f N_b) at pot's current C."""
    full = pot.to_full()
    grad = loss.for_template(full).evaluate(full)["grad"]
    nt, nf, nb = pot.n_species, pot.radial_funcs_count, pot.radial_basis_size
    return grad[nt + pot.n_basis_functions:].reshape(nt * nt, nf * nb)


def augment_rank(pot: Potential, loss: Loss, delta_r: int) -> tuple[Potential, float]:
    """One augmentation step: returns the rank-(r + delta_r) potential and the step h."""
    u, v = pot.factors
    g = _radial_gradient(pot, loss)
    gu, gs, gvt = np.linalg.svd(g, full_matrices=False)
    k = min(delta_r, gs.size)
    ud, sd, vd = gu[:, :k], gs[:k], gvt[:k].T
    root = np.sqrt(sd)

    def with_step(h):
        nu = np.hstack([u, h * ud * root] + ([np.zeros((u.shape[0], delta_r - k))] if k < delta_r else []))
        nv = np.hstack([v, vd * root] + ([np.zeros((v.shape[0], delta_r - k))] if k < delta_r else []))
        return pot.replace(factors=[nu, nv], format="mf", ranks=[u.shape[1] + delta_r])

    def f(h):
        p = with_step(h)
        return loss.for_template(p).evaluate(p, gradient=False)["loss"]

    # Scale of a first step: a small fraction of ||X|| along the descent direction (h < 0).
    x_norm = np.linalg.norm(u @ v.T)
    step = 1e-2 * max(x_norm, 1e-12) / max(np.linalg.norm(sd), 1e-300)
    f0 = f(0.0)
    # A step length needs no more than ~1% relative accuracy: a loose tolerance keeps this to a
    # dozen or so loss evaluations (each one a pass over the training set).
    res = minimize_scalar(f, bracket=(0.0, -step), options={"maxiter": 20, "xtol": 1e-2})
    h = float(res.x) if res.fun < f0 else 0.0
    return with_step(h), h


def train_mfra(pot: Potential, loss: Loss, r_max: int, delta_r: int = 1, s: int = 80,
               max_iter: int = 1000, seed: int | None = 0, callback=None, **bfgs_options) -> TrainResult:
    """Train an MF potential from rank delta_r up to r_max. `pot` gives basis, species and
    linear parameters; its radial factors are replaced by random rank-delta_r ones (seeded)
    unless it is already an mf potential of rank delta_r."""
    nt, nf, nb = pot.n_species, pot.radial_funcs_count, pot.radial_basis_size
    if not (pot.format == "mf" and pot.ranks == (delta_r,)):
        rng = np.random.default_rng(seed)
        scale = 1.0 / np.sqrt(nb)
        u = rng.normal(size=(nt * nt, delta_r)) * scale
        v = rng.normal(size=(nf * nb, delta_r)) * scale
        pot = pot.replace(factors=[u, v], format="mf", ranks=[delta_r])
    history: list[dict] = []
    used = 0
    message = ""
    while True:
        rank = pot.ranks[0]
        budget = max_iter - used if rank >= r_max else min(s, max_iter - used)
        if budget <= 0:
            break

        def live(rec, used=used, rank=rank):  # as each iteration happens (callers may look at the loss)
            rec = dict(rec, iteration=used + rec["iteration"], rank=rank)
            history.append(rec)
            if callback is not None:
                callback(rec)

        result = train_bfgs(pot, loss.for_template(pot), max_iter=budget, callback=live, **bfgs_options)
        if result.message == "interrupted":
            return TrainResult(result.potential, result.loss, used + result.iterations, "interrupted", history)
        used += max(result.iterations, 1)
        pot, message = result.potential, result.message
        if rank >= r_max:
            break
        pot, h = augment_rank(pot, loss, min(delta_r, r_max - rank))
        history.append({"iteration": used, "rank": pot.ranks[0], "augmented_with_step": h,
                        "loss": loss.for_template(pot).evaluate(pot, gradient=False)["loss"]})
    final = loss.for_template(pot).evaluate(pot, gradient=False)["loss"]
    return TrainResult(pot, final, used, message, history)
