"""Gauge-free coordinates of a potential's trainable parameters, for active learning.

A configuration's row is b = dE/dtheta. For a full potential theta = (species_coeffs,
moment_coeffs, C). MF (C = U V^T) and TT factors have gauge freedom (U V^T = (U G)(G^-1 V^T)),
so rows in raw factor coordinates are linearly dependent and an active set built from them is
singular. The radial part is therefore expressed in an orthonormal basis Q of the tangent space
of the fixed-rank manifold at C: the span of dC/d(factor parameters), of dimension r(m + n - r)
for MF and the TT manifold's dimension for TT. The radial row is Q^T dE/dC. The tangent space
depends on C only, not on the factors' gauge, so grades (invariant under any invertible change
of coordinates) do not either.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..potential import Potential

__all__ = ["ParameterCoordinates"]


def _tangent_basis(pot: Potential) -> np.ndarray:
    """(N_C, d): orthonormal basis of span(dC/d factor parameter). C is affine in any single
    factor parameter, so a unit step gives each column exactly."""
    x0 = pot.parameter_vector()
    start = pot.n_species + pot.n_basis_functions
    c0 = pot.radial_coeffs.ravel()
    jac = np.empty((c0.size, x0.size - start))
    for col, k in enumerate(range(start, x0.size)):
        x = x0.copy()
        x[k] += 1.0
        jac[:, col] = pot.with_parameter_vector(x).radial_coeffs.ravel() - c0
    u, s, _ = np.linalg.svd(jac, full_matrices=False)
    rank = int(np.sum(s > s[0] * 1e-10)) if s.size and s[0] > 0 else 0
    return u[:, :rank]


class ParameterCoordinates:
    """Rows b = dE/dtheta of configurations in gauge-free coordinates (see the module doc):
    [species_coeffs (N_T), moment_coeffs (N_alpha), radial (d)]."""

    def __init__(self, pot: Potential):
        self.potential = pot
        self.full = pot if pot.format == "full" else pot.to_full()   # same energies, dE/dC directly
        self.basis = None if pot.format == "full" else _tangent_basis(pot)
        n_radial = self.full.radial_coeffs.size if self.basis is None else self.basis.shape[1]
        self.dimension = pot.n_species + pot.n_basis_functions + n_radial

    def row(self, atoms, evaluator=None) -> np.ndarray:
        return self.row_of(self.full.evaluate(atoms, forces=False, param_gradient=True, evaluator=evaluator))

    def row_of(self, result: dict) -> np.ndarray:
        """The row of a `full.evaluate(..., param_gradient=True)` result."""
        radial = result["grad_radial"] if self.basis is None else self.basis.T @ result["grad_radial"]
        return np.concatenate([result["grad_species"], result["grad_moment"], radial])

    def site_rows(self, atoms, evaluator=None) -> np.ndarray:
        """(N, dimension): rows b_i = dV_i/dtheta of the atoms' neighbourhoods."""
        return self.site_rows_of(self.full.evaluate(atoms, forces=False, site_param_gradients=True,
                                                    evaluator=evaluator))

    def site_rows_of(self, result: dict) -> np.ndarray:
        """The rows of a `full.evaluate(..., site_param_gradients=True)` result."""
        g = result["site_gradients"]
        n_lin = self.potential.n_species + self.potential.n_basis_functions
        radial = g[:, n_lin:] if self.basis is None else g[:, n_lin:] @ self.basis
        return np.hstack([g[:, :n_lin], radial])

    def rows(self, images) -> np.ndarray:
        ev = self.full.evaluator()
        return np.array([self.row(a, ev) for a in images]).reshape(len(images), self.dimension)


def fingerprint(pot: Potential) -> str:
    """SHA-256 of the potential's text (parameters, basis, species): ties an active set to it."""
    return hashlib.sha256(pot.to_text(mlip_compatible=False).encode()).hexdigest()
