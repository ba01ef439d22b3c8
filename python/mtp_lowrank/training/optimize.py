"""Fitting: linear least squares for the linear parameters, and BFGS over all parameters in
the potential's stored representation (base = full C, MF = (U, V), TF = TT cores), with the
resumable dense BFGS of bfgs.py (scipy's iterates; the loss and gradient come from the C++
kernel)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..potential import Potential
from .bfgs import BFGSState, bfgs
from .data import named_errors
from .distributed import partition, sum_over_ranks
from .loss import Loss, reference_data

__all__ = ["fit_linear", "fit_linear_to_loss", "train_bfgs", "TrainResult"]


def fit_linear(potential: Potential, images, energy_per_atom: bool = True, ridge: float = 1e-10,
               comm=None, fixed_species_coeffs=None) -> Potential:
    """Exact least squares for (species_coeffs, moment_coeffs) on the energies, radial
    parameters fixed (as MLIP does before and during training). The energy is linear in them:
    E = sum_z n_z c_z + sum_alpha xi_alpha sum_i B_alpha(i). `ridge` (relative to the mean
    diagonal) keeps rank-deficient systems well posed. With an MPI communicator each rank
    evaluates its share of `images` and the normal equations are summed.
    `fixed_species_coeffs` (e.g. isolated-atom energies, one per species) are kept, and only
    moment_coeffs are solved for."""
    share = range(len(images))
    if comm is not None and comm.Get_size() > 1:
        share = partition([len(a) for a in images], comm.Get_size())[comm.Get_rank()]
    n = potential.n_species + len(potential.moment_coeffs)
    a, b = np.zeros((len(share), n)), np.zeros(len(share))   # design rows (scaled), targets
    ev = potential.evaluator()
    for row, k in enumerate(share):
        atoms = images[k]
        energy, _, _ = named_errors(reference_data, atoms, k)
        g = named_errors(lambda a: potential.evaluate(a, forces=False, param_gradient=True, evaluator=ev), atoms, k)
        scale = 1.0 / len(atoms) if energy_per_atom else 1.0
        a[row] = np.concatenate([g["grad_species"], g["grad_moment"]]) * scale
        b[row] = energy * scale
    ns = potential.n_species
    fixed = None if fixed_species_coeffs is None else np.asarray(fixed_species_coeffs, float)
    if fixed is not None:
        if fixed.shape != (ns,):
            raise ValueError(f"fixed_species_coeffs needs {ns} values, got shape {fixed.shape}")
        b = b - a[:, :ns] @ fixed
        a = a[:, ns:]
    ata, atb = a.T @ a, a.T @ b
    if comm is not None and comm.Get_size() > 1:
        both = sum_over_ranks(comm, np.concatenate([ata.ravel(), atb]))
        n = len(atb)
        ata, atb = both[: n * n].reshape(n, n), both[n * n:]
    ata[np.diag_indices_from(ata)] += ridge * max(np.trace(ata) / len(ata), 1e-300)
    x = np.linalg.solve(ata, atb)
    if fixed is not None:
        x = np.concatenate([fixed, x])
    return potential.replace(species_coeffs=x[:ns], moment_coeffs=x[ns:])


def fit_linear_to_loss(potential: Potential, loss: Loss, ridge: float = 1e-12) -> Potential:
    """The exact minimiser of the whole loss (energies, forces and stresses with their weights,
    per-configuration weights, MPI if the loss has a communicator) over the linear parameters
    (species_coeffs, moment_coeffs), radial parameters fixed. The loss is quadratic in them, so
    its Hessian there is built exactly from gradient differences, column k = g(x + e_k) - g(x):
    n_linear + 1 loss-and-gradient passes (the C++ adjoint gradient), then one dense solve.
    Species coefficients frozen in `loss` (isolated-atom energies) are kept."""
    ns = potential.n_species
    n_lin = ns + potential.n_basis_functions
    fun = loss.for_template(potential)
    x0 = potential.parameter_vector()
    _, g0 = fun(x0)
    free = np.arange(ns if loss.freeze_species else 0, n_lin)
    hess = np.empty((len(free), len(free)))
    for col, k in enumerate(free):
        x = x0.copy()
        x[k] += 1.0
        hess[:, col] = fun(x)[1][free] - g0[free]
    hess = 0.5 * (hess + hess.T)
    hess[np.diag_indices_from(hess)] += ridge * max(np.trace(hess) / len(hess), 1e-300)
    x = x0.copy()
    x[free] -= np.linalg.solve(hess, g0[free])
    return potential.with_parameter_vector(x)


@dataclass
class TrainResult:
    potential: Potential          # the best iterate
    loss: float                   # its loss
    iterations: int
    message: str
    history: list = field(default_factory=list)  # one dict per iteration
    state: object = None          # the optimizer's final state, where it can resume from one
    kept_iteration: int | None = None   # with a validation rule: the iteration of `potential` (early stopping)


def train_bfgs(potential: Potential, loss: Loss, max_iter: int = 1000, gtol: float = 1e-8,
               rel_decrease: float = 1e-9, patience: int = 20, callback=None,
               checkpoint_every: int = 0, on_checkpoint=None, state: BFGSState | None = None,
               on_state=None) -> TrainResult:
    """Minimise `loss` over all parameters of `potential` (its format decides the
    parameterisation: full, mf or tt) with the resumable BFGS (bfgs.py). Stops at max_iter
    (counting iterations before a resume), when the gradient norm falls below gtol, when the
    loss decreased by less than rel_decrease (relative) over `patience` iterations, or when the
    callback raises Converged. Returns the best iterate. callback(record) gets each
    iteration's record (iteration, loss, gradient norm, seconds); every `checkpoint_every`
    iterations and on Ctrl-C on_checkpoint(best potential) and on_state(BFGSState) run
    (on_state also at the end). `state` resumes exactly. Ctrl-C stops training and returns the
    best iterate."""
    def save(st):
        if on_checkpoint is not None:
            on_checkpoint(potential.with_parameter_vector(st.best_x))
        if on_state is not None:
            on_state(st)

    st, message = bfgs(loss.for_template(potential), None if state else potential.parameter_vector(),
                       state=state, max_iter=max_iter, gtol=gtol, rel_decrease=rel_decrease, patience=patience,
                       callback=callback, checkpoint_every=checkpoint_every, on_checkpoint=save)
    if on_state is not None and message != "interrupted":
        on_state(st)
    return TrainResult(potential.with_parameter_vector(st.best_x), st.best_f, st.iteration, message, st.history, st)
