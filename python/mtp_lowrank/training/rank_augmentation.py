"""MFRA: BFGS over matrix-factorized radial coefficients with rank augmentation (the paper's
Algorithm 1).

Start at rank r = delta_r from random factors. Every `s` BFGS iterations, while r < r_max:
  G = dL/dC_hat at X = U V^T (C_hat = reshape(C, [N_T^2, N_f N_b])),
  (U_d, S_d, V_d) = top-delta_r singular triplets of G,
  h = argmin_h L(xi, X + h U_d S_d V_d^T)   (a 1-D search; h = 0 is allowed, so L never rises),
  U <- [U, h U_d S_d^1/2],  V <- [V, V_d S_d^1/2]   (so U V^T = X + h U_d S_d V_d^T),
  then (U, V) rebalanced to the gauge U^T U = V^T V (mf_balance; the product is unchanged),
then BFGS continues with a fresh inverse-Hessian approximation (the parameter space changed
shape, the old curvature pairs do not carry over). At r_max BFGS runs to convergence. The BFGS
is the resumable one of bfgs.py, so an MFRA run resumes exactly from its saved state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from ..factorization import check_mf_rank, mf_balance
from ..potential import Potential
from .loss import Loss
from .bfgs import BFGSState, bfgs
from .optimize import TrainResult

__all__ = ["MFRAState", "train_mfra", "augment_rank"]


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
    if h == 0.0:  # X unchanged: U's new columns zero, V's at the scale of the existing factors
        nu, nv = (np.array(f) for f in with_step(0.0).factors)
        smallest = np.linalg.svd(u @ v.T, compute_uv=False)[u.shape[1] - 1]
        nv[:, u.shape[1]:u.shape[1] + k] = vd * np.sqrt(max(smallest, 1e-12))
        return pot.replace(factors=[nu, nv], format="mf", ranks=[nu.shape[1]]), h
    # The same X + h U_d S_d V_d^T in the balanced gauge: as built by with_step, the new columns
    # of U are |h| S_d^1/2 small and those of V S_d^1/2 large (measured on Nb-Mo-Ta-W: 1e-3..4e-7
    # against 240-310), which left |grad| at 2e7 and BFGS steps at 1e-14 for hundreds of iterations.
    nu, nv = mf_balance(*with_step(h).factors)
    return pot.replace(factors=[nu, nv], format="mf", ranks=[nu.shape[1]]), h


@dataclass
class MFRAState:
    """Where MFRA is: iterations done before the current BFGS stage, that stage's BFGS state
    (the rank is the shape of its parameters) and the MFRA history. Enough to continue exactly."""
    used: int
    stage: BFGSState
    history: list = field(default_factory=list)

    def save(self, path) -> None:
        np.savez(path, method="mfra", used=self.used, mfra_history=json.dumps(self.history), **self.stage.arrays())

    @classmethod
    def load(cls, path) -> "MFRAState":
        z = np.load(path)
        if "used" not in z:
            raise ValueError(f"{path} is not an MFRA optimizer state")
        return cls(used=int(z["used"]), stage=BFGSState.load(path), history=json.loads(str(z["mfra_history"])))


def train_mfra(pot: Potential, loss: Loss, r_max: int, delta_r: int = 1, s: int = 80,
               max_iter: int = 1000, seed: int | None = 0, callback=None, gtol: float = 1e-8,
               rel_decrease: float = 1e-9, patience: int = 20, checkpoint_every: int = 0,
               on_checkpoint=None, state: MFRAState | None = None, on_state=None) -> TrainResult:
    """Train an MF potential from rank delta_r up to r_max. `pot` gives basis, species and
    linear parameters; its radial factors are replaced by random rank-delta_r ones (seeded)
    unless it is already an mf potential of rank delta_r. Each stage runs the resumable BFGS
    (bfgs.py). `state` (MFRAState, with `pot` of the stage's rank, e.g. its checkpoint) resumes
    exactly; on_state(state) runs with every checkpoint, on Ctrl-C and at the end."""
    nt, nf, nb = pot.n_species, pot.radial_funcs_count, pot.radial_basis_size
    check_mf_rank(r_max, nt, nf, nb)
    check_mf_rank(delta_r, nt, nf, nb)
    if state is not None:
        if state.stage.x.shape != pot.parameter_vector().shape:
            raise ValueError("the MFRA state does not match the potential (rank, species or basis)")
    elif not (pot.format == "mf" and pot.ranks == (delta_r,)):
        rng = np.random.default_rng(seed)
        scale = 1.0 / np.sqrt(nb)
        u = rng.normal(size=(nt * nt, delta_r)) * scale
        v = rng.normal(size=(nf * nb, delta_r)) * scale
        pot = pot.replace(factors=[u, v], format="mf", ranks=[delta_r])
    history: list[dict] = state.history if state is not None else []
    used = state.used if state is not None else 0
    stage = state.stage if state is not None else None
    message = ""
    while True:
        rank = pot.ranks[0]
        budget = max_iter - used if rank >= r_max else min(s, max_iter - used)
        if budget <= 0:
            break
        template = pot

        def live(rec, used=used, rank=rank):  # as each iteration happens (callers may look at the loss)
            rec = dict(rec, iteration=used + rec["iteration"], rank=rank)
            history.append(rec)
            if callback is not None:
                callback(rec)

        def checkpoint(st, used=used, template=template):
            if on_checkpoint is not None:
                on_checkpoint(template.with_parameter_vector(st.best_x))
            if on_state is not None:
                on_state(MFRAState(used, st, history))

        st, msg = bfgs(loss.for_template(template), None if stage is not None else template.parameter_vector(),
                       state=stage, max_iter=budget, gtol=gtol, rel_decrease=rel_decrease, patience=patience,
                       callback=live, checkpoint_every=checkpoint_every, on_checkpoint=checkpoint)
        stage = None
        pot, message = template.with_parameter_vector(st.best_x), msg
        # interrupted (already checkpointed), done, or out of iterations (no augmentation
        # without a stage after it)
        if msg == "interrupted" or rank >= r_max or used + st.iteration >= max_iter:
            final = MFRAState(used, st, history)
            if on_state is not None and msg != "interrupted":
                on_state(final)
            return TrainResult(pot, st.best_f, used + st.iteration, msg, history, final)
        used += max(st.iteration, 1)
        pot, h = augment_rank(pot, loss, min(delta_r, r_max - rank))
        history.append({"iteration": used, "rank": pot.ranks[0], "augmented_with_step": h,
                        "loss": loss.for_template(pot).evaluate(pot, gradient=False)["loss"]})
    final = loss.for_template(pot).evaluate(pot, gradient=False)["loss"]
    return TrainResult(pot, final, used, message, history)
