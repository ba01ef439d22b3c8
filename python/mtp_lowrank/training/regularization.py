"""Smoothness of the radial functions, a penalty for where the data says nothing.

    P = lambda * sum_{a, b, mu} integral_{min_dist}^{max_dist} (d^2 f_mu^{ab} / dr^2)^2 dr
      = lambda * sum_{a, b, mu} c^T K c,   K_{beta beta'} = integral phi_beta'' phi_beta'' dr,

with f_mu^{ab}(r) = sum_beta C[a, b, mu, beta] phi_beta(r), phi_beta the radial basis (MLIP's
RBChebyshev: scaling * T_beta(xi(r)) * (max_dist - r)^2). Where configurations pin a radial
function down the penalty costs little; where none do (a species pair closer than it ever is in
the data, say) it keeps the function from swinging, so the potential extrapolates tamely. K is
computed once per basis by Gauss-Legendre quadrature (exact: the integrand is a polynomial).
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import chebyshev as cheb
from numpy.polynomial import polynomial as poly

__all__ = ["curvature_matrix", "RadialSmoothness"]


def curvature_matrix(min_dist: float, max_dist: float, n_basis: int, scaling: float = 1.0) -> np.ndarray:
    """K (n_basis, n_basis) = integral over [min_dist, max_dist] of phi_beta'' phi_beta'' dr."""
    width = max_dist - min_dist
    # phi_beta as a polynomial in r: T_beta(xi(r)) with xi = (2 r - min - max) / width, times (max - r)^2
    xi = np.array([-(min_dist + max_dist) / width, 2.0 / width])   # xi(r) as power series in r
    cut = np.array([max_dist**2, -2 * max_dist, 1.0])             # (max_dist - r)^2
    second = []
    for beta in range(n_basis):
        t_beta = cheb.cheb2poly(np.eye(n_basis)[beta])                 # T_beta(x) in powers of x
        in_r = np.zeros(1)
        for power, coef in enumerate(t_beta):                           # compose with xi(r)
            in_r = poly.polyadd(in_r, coef * poly.polypow(xi, power))
        second.append(poly.polyder(poly.polymul(in_r, cut) * scaling, 2))
    nodes, weights = np.polynomial.legendre.leggauss(n_basis + 4)
    r = min_dist + (nodes + 1) * width / 2
    values = np.array([poly.polyval(r, d) for d in second])           # (n_basis, n_nodes)
    return (values * weights) @ values.T * (width / 2)


class RadialSmoothness:
    """P(C) and dP/dC for one radial basis (min_dist, max_dist, N_b, scaling)."""

    def __init__(self, strength: float, min_dist: float, max_dist: float, n_basis: int, scaling: float = 1.0):
        self.strength = float(strength)
        self.k = curvature_matrix(min_dist, max_dist, n_basis, scaling)

    @classmethod
    def for_potential(cls, strength: float, potential) -> "RadialSmoothness":
        return cls(strength, potential.min_dist, potential.max_dist, potential.radial_basis_size, potential.scaling)

    def value_and_grad(self, c: np.ndarray) -> tuple[float, np.ndarray]:
        """c (N_T, N_T, N_f, N_b) -> (P, dP/dC of the same shape)."""
        kc = c @ self.k
        return self.strength * float(np.sum(c * kc)), 2.0 * self.strength * kc

    def add_to(self, potential, out: dict, gradient: bool) -> None:
        """Add P to a loss evaluation `out` (and its gradient, in the stored parameters)."""
        value, d_c = self.value_and_grad(potential.radial_coeffs)
        out["loss"] += value
        out["smoothness_penalty"] = value
        if gradient:
            n_lin = potential.n_species + potential.n_basis_functions
            out["grad"][n_lin:] += potential._core.radial_pullback(d_c)
