"""R-MF geometry (retraction, projection, transport and its inverse) and training."""

from __future__ import annotations

import numpy as np
import pytest

from mtp_lowrank import Potential
from mtp_lowrank.training import Loss, fit_linear, rmf_parameter_count, train_rmf
from mtp_lowrank.training.riemannian import FixedRankPoint

from test_training_optimize import labelled
from test_training_bfgs import SignalAt
from conftest import random_potential


def random_point(rng, m=9, n=12, r=3):
    u, _ = np.linalg.qr(rng.normal(size=(m, r)))
    v, _ = np.linalg.qr(rng.normal(size=(n, r)))
    return FixedRankPoint(u, np.sort(rng.uniform(1, 3, r))[::-1], v)


def in_tangent_space(point, w):
    pu = point.u_perp @ point.u_perp.T
    pv = point.v_perp @ point.v_perp.T
    return np.abs(pu @ w @ pv).max() < 1e-12 * max(np.abs(w).max(), 1)


def test_projection_and_coordinates():
    rng = np.random.default_rng(0)
    x = random_point(rng)
    assert x.dim == rmf_parameter_count(9, 12, 3) == 3 * (9 + 12 - 3)
    w = rng.normal(size=(9, 12))
    proj = x.ambient(x.coords(w))
    assert in_tangent_space(x, proj)
    # Proj(W) = W - P_Uperp W P_Vperp, and projecting twice changes nothing
    pu, pv = x.u_perp @ x.u_perp.T, x.v_perp @ x.v_perp.T
    np.testing.assert_allclose(proj, w - pu @ w @ pv, atol=1e-12)
    np.testing.assert_allclose(x.coords(proj), x.coords(w), atol=1e-12)


def test_retraction_keeps_rank_and_is_first_order():
    rng = np.random.default_rng(1)
    x = random_point(rng)
    c = rng.normal(size=x.dim)
    for t in (1e-1, 1e-2, 1e-3):
        y = x.retract(t * c)
        assert y.rank == 3 and np.allclose(y.u.T @ y.u, np.eye(3)) and np.allclose(y.v.T @ y.v, np.eye(3))
        assert np.linalg.matrix_rank(y.matrix(), tol=1e-10) == 3
        # R_X(t xi) = X + t xi + O(t^2)
        err = np.linalg.norm(y.matrix() - x.matrix() - t * x.ambient(c))
        assert err < 10 * t**2 * np.linalg.norm(x.ambient(c)) ** 2


def test_transport_maps_into_tangent_space_and_inverse_transport_inverts_it():
    rng = np.random.default_rng(2)
    x = random_point(rng)
    y = x.retract(0.3 * rng.normal(size=x.dim))
    tm = x.transport_matrix(y)
    xi = rng.normal(size=x.dim)
    moved = y.ambient(tm @ xi)
    assert in_tangent_space(y, moved)
    np.testing.assert_allclose(moved, y.ambient(y.coords(x.ambient(xi))), atol=1e-12)
    back = np.linalg.solve(tm, tm @ xi)
    np.testing.assert_allclose(back, xi, atol=1e-10)


def test_rmf_training_lowers_the_loss_at_fixed_rank():
    teacher = random_potential(level=8, n_species=2, seed=3)
    images = labelled(teacher, count=6, seed=1)
    student = Potential.from_level(8, ["Li", "Na"], min_dist=1.8, max_dist=4.6, radial_basis_size=6, seed=7)
    student = fit_linear(student, images).to_mf(3)
    loss = Loss(student, images, energy_weight=1.0, force_weight=0.01)
    start = loss.evaluate(student)["loss"]
    result = train_rmf(student, loss, max_iter=30)
    assert result.potential.format == "mf" and result.potential.ranks == (3,)
    assert result.loss < 0.2 * start
    losses = [r["loss"] for r in result.history]
    assert all(b <= a for a, b in zip(losses, losses[1:]))  # sufficient decrease every step
    assert result.loss == pytest.approx(loss.evaluate(result.potential)["loss"], rel=1e-10)


class CountingLoss:
    """`loss` that tells `at` of every evaluation (so a signal can arrive inside the line search)."""

    def __init__(self, loss, at):
        self.loss, self.at = loss, at

    def for_template(self, template):
        return self

    def evaluate(self, pot):
        self.at.evaluated()
        return self.loss.for_template(pot).evaluate(pot)


@pytest.mark.parametrize("where", ["line search", "checkpoint", "callback"])
def test_an_interrupt_leaves_the_rmf_state_at_a_reported_iteration(where, ctrl_c_in_training):
    """As for BFGS (test_training_bfgs.py): wherever Ctrl-C lands, the R-MF state, its history,
    the records the callback saw and the last checkpoint end at the same iteration. Before,
    a Ctrl-C during a step's checkpoint left that iteration out of the records."""
    teacher = random_potential(level=6, n_species=2, seed=3)
    images = labelled(teacher, count=4, seed=1)
    student = Potential.from_level(6, ["Li", "Na"], min_dist=1.8, max_dist=4.6, radial_basis_size=4, seed=7)
    student = fit_linear(student, images).to_mf(2)
    at = SignalAt(where)
    loss = CountingLoss(Loss(student, images, energy_weight=1.0, force_weight=0.01), at)
    result = train_rmf(student, loss, max_iter=30, callback=at.callback, checkpoint_every=1,
                       on_state=lambda st: at.on_checkpoint(st.iteration))
    assert at.sent and result.message == "interrupted"
    n = result.iterations
    assert n == 3 and at.seen == list(range(1, n + 1))
    assert [h["iteration"] for h in result.history] == at.seen and at.checkpoints[-1] == n
