"""R-MF: Riemannian BFGS on R^|linear| x M_r, M_r = {m x n matrices of rank r}, for the
matrix-factorized radial coefficients C_hat = reshape(C, [N_T^2, N_f N_b]) (m = N_T^2,
n = N_f N_b).

Geometry (Absil, Mahony, Sepulchre; Vandereycken 2013), all in factored form:
* a point is X = U diag(S) V^T with U (m, r), V (n, r) orthonormal;
* T_X M_r = { U A V^T + U_perp B V^T + U C V_perp^T }: coordinates (A, B, C) in an orthonormal
  basis (Frobenius), dimension r (m + n - r) - the radial parameter count reported for R-MF;
* Riemannian gradient = Proj_X(Euclidean gradient), Proj_X(W) = W - P_U_perp W P_V_perp;
* retraction R_X(xi) = SVD_r(X + xi), computed from QR factors of the tangent components and
  the SVD of a 2r x 2r core (X + xi is never formed);
* vector transport by projection T_{X->Y} = Proj_Y restricted to T_X, a d x d matrix in
  coordinates; the inverse transport (T_{X->Y})^{-1} : T_Y -> T_X is its matrix inverse, so
  T^{-1} T xi = xi on tangent vectors (tested);
* inverse-Hessian update: H <- BFGS(T H T^{-1}, s, y) with s = T(step), y = grad_new -
  T grad_old; skipped when s.y <= 0 (curvature condition fails);
* step size: backtracking until f(R(t p)) <= f + mu t <grad, p> (mu = 1e-3 by default), from
  the first trial step min(1, 2.02 (f_prev - f) / -<grad, p>) that repeats the last decrease
  (scipy's line-search start; from t = 1 each iteration took ~15 loss evaluations).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np

from ..potential import Potential
from .bfgs import Converged, bfgs_update, stalled
from .interrupt import interrupts_deferred
from .loss import Loss
from .optimize import TrainResult

__all__ = ["FixedRankPoint", "RMFState", "train_rmf", "rmf_parameter_count"]


def rmf_parameter_count(m: int, n: int, r: int) -> int:
    """Dimension of M_r: r (m + n - r)."""
    return r * (m + n - r)


def _complement(q: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the orthogonal complement of the columns of q."""
    full, _ = np.linalg.qr(np.hstack([q, np.eye(q.shape[0])]))
    return full[:, q.shape[1]: q.shape[0]]


@dataclass
class FixedRankPoint:
    u: np.ndarray  # (m, r) orthonormal
    s: np.ndarray  # (r,) singular values, descending
    v: np.ndarray  # (n, r) orthonormal

    def __post_init__(self):
        self.u_perp = _complement(self.u)
        self.v_perp = _complement(self.v)

    @property
    def rank(self) -> int:
        return self.s.size

    @property
    def dim(self) -> int:
        m, r = self.u.shape
        return rmf_parameter_count(m, self.v.shape[0], r)

    def matrix(self) -> np.ndarray:
        return (self.u * self.s) @ self.v.T

    # tangent vectors <-> coordinates (A, B, C) flattened
    def coords(self, w: np.ndarray) -> np.ndarray:
        """Coordinates of Proj_X(w) for an ambient m x n matrix w."""
        wv = w @ self.v
        return np.concatenate([(self.u.T @ wv).ravel(), (self.u_perp.T @ wv).ravel(),
                               (self.u.T @ w @ self.v_perp).ravel()])

    def split(self, c: np.ndarray):
        m, r = self.u.shape
        n = self.v.shape[0]
        a = c[: r * r].reshape(r, r)
        b = c[r * r: r * r + (m - r) * r].reshape(m - r, r)
        cc = c[r * r + (m - r) * r:].reshape(r, n - r)
        return a, b, cc

    def ambient(self, c: np.ndarray) -> np.ndarray:
        a, b, cc = self.split(c)
        return self.u @ a @ self.v.T + self.u_perp @ b @ self.v.T + self.u @ cc @ self.v_perp.T

    def retract(self, c: np.ndarray) -> "FixedRankPoint":
        """SVD_r(X + xi) in factored form."""
        a, b, cc = self.split(c)
        r = self.rank
        up = self.u_perp @ b          # (m, r): U_perp B
        vp = self.v_perp @ cc.T       # (n, r): V_perp C^T
        qu, ru = np.linalg.qr(up)
        qv, rv = np.linalg.qr(vp)
        # X + xi = [U qu] [[S + A, rv^T], [ru, 0]] [V qv]^T
        core = np.zeros((2 * r, 2 * r))
        core[:r, :r] = np.diag(self.s) + a
        core[:r, r:] = rv.T
        core[r:, :r] = ru
        cu, cs, cvt = np.linalg.svd(core)
        u = np.hstack([self.u, qu]) @ cu[:, :r]
        v = np.hstack([self.v, qv]) @ cvt[:r].T
        return FixedRankPoint(u, cs[:r], v)

    def transport_matrix(self, target: "FixedRankPoint") -> np.ndarray:
        """Coordinates of Proj_target restricted to T_self (d x d)."""
        d = self.dim
        eye = np.eye(d)
        return np.stack([target.coords(self.ambient(eye[k])) for k in range(d)], axis=1)


def _point_from_mf(pot: Potential) -> FixedRankPoint:
    u, v = pot.factors
    qu, ru = np.linalg.qr(u)
    qv, rv = np.linalg.qr(v)
    cu, cs, cvt = np.linalg.svd(ru @ rv.T)
    return FixedRankPoint(qu @ cu, cs, qv @ cvt.T)


@dataclass
class RMFState:
    """Everything R-MF needs to continue exactly: the iterate (linear part and the point's
    factors, which fix the tangent coordinates), loss, gradient and inverse Hessian in those
    coordinates, the iteration count and the history."""
    lin: np.ndarray
    point: FixedRankPoint  # its U, S, V are saved (they fix the tangent coordinates)
    f: float
    g: np.ndarray
    h: np.ndarray
    iteration: int = 0
    seconds: float = 0.0
    history: list = field(default_factory=list)
    f_prev: float = np.nan  # loss before the last step (sets the first trial step)

    def save(self, path) -> None:
        p = self.point
        np.savez(path, method="rmf", lin=self.lin, u=p.u, s=p.s, v=p.v, f=self.f, g=self.g, h=self.h,
                 iteration=self.iteration, seconds=self.seconds, history=json.dumps(self.history),
                 f_prev=self.f_prev)

    @classmethod
    def load(cls, path) -> "RMFState":
        z = np.load(path)
        if "u" not in z:
            raise ValueError(f"{path} is not an R-MF optimizer state")
        return cls(lin=z["lin"], point=FixedRankPoint(z["u"], z["s"], z["v"]), f=float(z["f"]), g=z["g"], h=z["h"],
                   iteration=int(z["iteration"]), seconds=float(z["seconds"]),
                   history=json.loads(str(z["history"])), f_prev=float(z["f_prev"]))


def train_rmf(pot: Potential, loss: Loss, max_iter: int = 500, gtol: float = 1e-8, mu: float = 1e-3,
              rel_decrease: float = 1e-9, patience: int = 20, callback=None, checkpoint_every: int = 0,
              on_checkpoint=None, state: RMFState | None = None, on_state=None) -> TrainResult:
    """Riemannian BFGS for an mf potential of rank r (the rank stays r). Linear parameters
    (species and moment coefficients) are the Euclidean factor of the product manifold.
    max_iter counts all iterations, those before a resume included. `state` (RMFState) resumes
    exactly; on_state(state) runs with every checkpoint and at the end (save it to resume).
    The result's `state` is the final RMFState."""
    if pot.format != "mf":
        raise ValueError("R-MF trains an mf potential: convert with to_mf(rank) first")
    nt, nf, nb = pot.n_species, pot.radial_funcs_count, pot.radial_basis_size
    m, n = nt * nt, nf * nb
    n_lin = pot.n_species + pot.n_basis_functions

    def as_potential(lin, point):
        root = np.sqrt(point.s)
        return pot.replace(species_coeffs=lin[: pot.n_species], moment_coeffs=lin[pot.n_species:],
                           factors=[point.u * root, point.v * root], format="mf", ranks=[point.rank])

    def value_and_grad(lin, point):
        full = as_potential(lin, point).to_full()
        res = loss.for_template(full).evaluate(full)
        g = res["grad"]
        return res["loss"], np.concatenate([g[:n_lin], point.coords(g[n_lin:].reshape(m, n))])

    if state is None:
        lin = np.concatenate([pot.species_coeffs, pot.moment_coeffs])
        point = _point_from_mf(pot)
        f, g = value_and_grad(lin, point)
        state = RMFState(lin=lin, point=point, f=float(f), g=g, h=np.eye(n_lin + point.dim))
    elif state.lin.shape != (n_lin,) or state.point.u.shape[0] != m or state.point.v.shape[0] != n:
        raise ValueError("the R-MF state does not match the potential (species, level or radial basis)")

    def checkpoint():
        if on_checkpoint is not None:
            on_checkpoint(as_potential(state.lin, state.point))
        if on_state is not None:
            on_state(state)

    t0 = time.perf_counter() - state.seconds
    try:
        message = _rbfgs_loop(state, value_and_grad, n_lin, max_iter, gtol, mu, rel_decrease, patience,
                              callback, checkpoint_every, checkpoint, t0)
    except Converged as e:
        message = str(e)
    except KeyboardInterrupt:
        message = "interrupted"
        checkpoint()
    if on_state is not None and message != "interrupted":
        on_state(state)
    return TrainResult(as_potential(state.lin, state.point), float(state.f), state.iteration, message,
                       state.history, state)


def _rbfgs_loop(state, value_and_grad, n_lin, max_iter, gtol, mu, rel_decrease, patience, callback,
                checkpoint_every, checkpoint, t0):
    dim = len(state.g)
    message = "maximum number of iterations reached"
    while state.iteration < max_iter:
        lin, point, f, g, h = state.lin, state.point, state.f, state.g, state.h
        if np.linalg.norm(g) < gtol:
            message = "gradient norm below gtol"
            break
        p = -h @ g
        slope = g @ p
        if slope >= 0:  # not a descent direction: restart from the gradient
            h = np.eye(dim)
            p, slope = -g, -(g @ g)
        # first trial step: the one that repeats the last decrease on the model (as scipy's
        # line search starts), at most 1; then halving until sufficient decrease
        last_decrease = (state.f_prev - f) if np.isfinite(state.f_prev) else np.linalg.norm(g) / 2
        t = min(1.0, 1.01 * 2 * last_decrease / -slope) if last_decrease > 0 else 1.0
        while True:
            lin_new = lin + t * p[:n_lin]
            point_new = point.retract(t * p[n_lin:])
            f_new, g_new = value_and_grad(lin_new, point_new)
            if f_new <= f + mu * t * slope or t < 1e-12:
                break
            t *= 0.5
        if f_new > f:
            message = "line search failed"
            break
        # transport to the new tangent space, then the BFGS update there
        tm = point.transport_matrix(point_new)
        tm_full = np.eye(dim)
        tm_full[n_lin:, n_lin:] = tm
        s_vec = tm_full @ (t * p)
        y_vec = g_new - tm_full @ g
        h = bfgs_update(tm_full @ h @ np.linalg.inv(tm_full), s_vec, y_vec)
        with interrupts_deferred():   # accepting the step is one transaction, as in bfgs.py
            state.lin, state.point = lin_new, point_new
            state.f_prev, state.f, state.g, state.h = state.f, float(f_new), g_new, h
            state.iteration += 1
            state.seconds = time.perf_counter() - t0
            record = {"iteration": state.iteration, "loss": state.f, "grad_norm": float(np.linalg.norm(g_new)),
                      "step": t, "seconds": state.seconds}
            state.history.append(record)
            if checkpoint_every and state.iteration % checkpoint_every == 0:
                checkpoint()
            if callback is not None:
                callback(record)
        if stalled(state.history, patience, rel_decrease):
            message = "relative decrease below rel_decrease"
            break
    return message
