"""The resumable BFGS: it minimises, and a run resumed from a saved state reproduces the
uninterrupted run bit for bit."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from mtp_lowrank import Potential
from mtp_lowrank.training import Loss, fit_linear
from mtp_lowrank.training.bfgs import BFGSState, bfgs

from test_training_optimize import labelled
from conftest import random_potential


def rosenbrock(x):
    f = np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return f, g


def test_bfgs_minimises_rosenbrock():
    state, message = bfgs(rosenbrock, np.full(6, -1.2), max_iter=500, gtol=1e-10, patience=1000)
    np.testing.assert_allclose(state.best_x, np.ones(6), atol=1e-6)


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    teacher = random_potential(level=6, n_species=2, seed=2)
    images = labelled(teacher, count=5, seed=2)
    student = fit_linear(Potential.from_level(6, ["Li", "Na"], min_dist=1.8, max_dist=4.6,
                                              radial_basis_size=6, seed=11), images)
    loss = Loss(student, images, n_threads=2)
    x0 = student.parameter_vector()
    straight, _ = bfgs(loss, x0, max_iter=8)
    first, _ = bfgs(loss, x0, max_iter=4, checkpoint_every=4,
                    on_checkpoint=lambda s: s.save(tmp_path / "state.npz"))
    resumed, _ = bfgs(loss, state=BFGSState.load(tmp_path / "state.npz"), max_iter=8)
    np.testing.assert_array_equal(resumed.x, straight.x)
    np.testing.assert_array_equal(resumed.h, straight.h)
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in straight.history]
    assert straight.best_f < loss(x0)[0]


def test_bfgs_keeps_pace_with_scipy_on_an_mtp_loss():
    """Same iteration budget, same start: our resumable BFGS gets as low as scipy's (an H0
    rescaling or a backtracking-only line search once left it orders of magnitude behind)."""
    from scipy.optimize import minimize

    teacher = random_potential(level=8, n_species=2, seed=3)
    images = labelled(teacher, count=6, seed=1)
    student = Potential.from_level(8, ["Li", "Na"], min_dist=1.8, max_dist=4.6, radial_basis_size=6, seed=7).to_mf(3)
    student = fit_linear(student, images)
    loss = Loss(student, images, energy_weight=1.0, force_weight=0.01)
    ours = bfgs(loss, student.parameter_vector(), max_iter=40)[0].best_f
    theirs = minimize(loss, student.parameter_vector(), jac=True, method="BFGS", options={"maxiter": 40}).fun
    assert ours < 1.5 * theirs, (ours, theirs)


class SignalAt:
    """Sends the process SIGINT once, at the chosen point of the chosen iteration, as a Ctrl-C
    would arrive: "line search" (inside a loss evaluation after `iteration` steps), "checkpoint"
    or "callback" (while iteration `iteration` is being accepted)."""

    def __init__(self, where: str, iteration: int = 3):
        self.where, self.iteration, self.sent = where, iteration, False
        self.seen, self.checkpoints = [], []

    def send(self, where: str, iteration: int):
        if not self.sent and where == self.where and iteration == self.iteration:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)

    def callback(self, record):
        self.seen.append(record["iteration"])
        self.send("callback", record["iteration"])

    def on_checkpoint(self, iteration: int):
        self.checkpoints.append(iteration)
        self.send("checkpoint", iteration)

    def evaluated(self):   # from inside the loss: the iterations accepted so far
        self.send("line search", len(self.seen))


@pytest.mark.parametrize("where", ["line search", "checkpoint", "callback"])
def test_an_interrupt_leaves_the_state_at_a_reported_iteration(where, ctrl_c_in_training):
    """Ctrl-C wherever it lands (in the line search, or while a step is accepted: its
    checkpoint, its callback): the state, its history, the records the callback saw and the
    last checkpoint all end at the same iteration, each iteration seen once. A Ctrl-C between
    an accepted step and its record used to leave the record missing or repeated; holding it
    back with a signal mask failed whenever another thread took the signal (ctrl_c_in_training)."""
    at = SignalAt(where)

    def fun(x):
        at.evaluated()
        return float(x @ x + 0.1 * (x @ x) ** 2), 2 * x + 0.4 * (x @ x) * x

    state, message = bfgs(fun, np.full(4, 3.0), max_iter=50, callback=at.callback, checkpoint_every=1,
                          on_checkpoint=lambda st: at.on_checkpoint(st.iteration))
    assert at.sent and message == "interrupted"
    n = state.iteration
    assert n == 3 and at.seen == list(range(1, n + 1))
    assert [h["iteration"] for h in state.history] == at.seen and at.checkpoints[-1] == n
