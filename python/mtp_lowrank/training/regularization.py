"""Penalties on the radial functions for where the data says nothing.

Smoothness (RadialSmoothness):

    P = lambda * sum_{a, b, mu} integral_{min_dist}^{max_dist} (d^2 f_mu^{ab} / dr^2)^2 dr
      = lambda * sum_{a, b, mu} c^T K c,   K_{beta beta'} = integral phi_beta'' phi_beta'' dr,

with f_mu^{ab}(r) = sum_beta C[a, b, mu, beta] phi_beta(r), phi_beta the radial basis (MLIP's
RBChebyshev: scaling * T_beta(xi(r)) * (max_dist - r)^2). Where configurations pin a radial
function down the penalty costs little; where none do (a species pair closer than it ever is in
the data, say) it keeps the function from swinging, so the potential extrapolates tamely. K is
computed once per basis by Gauss-Legendre quadrature (exact: the integrand is a polynomial).

Mixing (RadialMixing): a cross-species pair (a, b) that the data never brings closer than
hi_ab changes, below hi_ab, as the mean of its two species' own radial functions does,

    P = lambda * sum_{a != b, mu} integral_{lo_ab}^{hi_ab} (d_mu^{ab}(r) - d_mu^{ab}(hi_ab))^2 dr,
    d_mu^{ab} = f_mu^{ab} - (f_mu^{aa} + f_mu^{bb}) / 2

(anchored at hi_ab, so the rule shapes the function below the data without pulling on its
value where the data holds it), a Lorentz-Berthelot-like mixing rule: the like pairs, which the data does pin down at short
range (elemental AIMD snapshots), carry their repulsion over to the cross pairs, which it does
not (e.g. Nb-Mo-Ta-W: like pairs down to 2.0-2.4 A in train.xyz, cross pairs only >= 2.7 A).
lo_ab is where the model's own radial function stops (its floor, model.radial_floor: mixed).
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import chebyshev as cheb
from numpy.polynomial import polynomial as poly

__all__ = ["curvature_matrix", "gram_matrix", "RadialSmoothness", "RadialMixing"]


def basis_polynomials(min_dist: float, max_dist: float, n_basis: int, scaling: float = 1.0) -> list[np.ndarray]:
    """phi_beta(r) = scaling * T_beta(xi(r)) * (max_dist - r)^2 as power series in r (MLIP's
    RBChebyshev, xi = (2 r - min_dist - max_dist) / (max_dist - min_dist)), beta < n_basis."""
    width = max_dist - min_dist
    xi = np.array([-(min_dist + max_dist) / width, 2.0 / width])   # xi(r) as power series in r
    cut = np.array([max_dist**2, -2 * max_dist, 1.0])             # (max_dist - r)^2
    out = []
    for beta in range(n_basis):
        t_beta = cheb.cheb2poly(np.eye(n_basis)[beta])                 # T_beta(x) in powers of x
        in_r = np.zeros(1)
        for power, coef in enumerate(t_beta):                           # compose with xi(r)
            in_r = poly.polyadd(in_r, coef * poly.polypow(xi, power))
        out.append(poly.polymul(in_r, cut) * scaling)
    return out


def _integral_of_products(polys: list[np.ndarray], lo: float, hi: float) -> np.ndarray:
    """(n, n) integral over [lo, hi] of polys[i] * polys[j], exact by Gauss-Legendre quadrature."""
    degree = max(len(p) for p in polys) - 1
    nodes, weights = np.polynomial.legendre.leggauss(degree + 2)
    r = lo + (nodes + 1) * (hi - lo) / 2
    values = np.array([poly.polyval(r, p) for p in polys])   # (n, n_nodes)
    return (values * weights) @ values.T * ((hi - lo) / 2)


def curvature_matrix(min_dist: float, max_dist: float, n_basis: int, scaling: float = 1.0) -> np.ndarray:
    """K (n_basis, n_basis) = integral over [min_dist, max_dist] of phi_beta'' phi_beta'' dr."""
    second = [poly.polyder(p, 2) for p in basis_polynomials(min_dist, max_dist, n_basis, scaling)]
    return _integral_of_products(second, min_dist, max_dist)


def gram_matrix(lo: float, hi: float, min_dist: float, max_dist: float, n_basis: int, scaling: float = 1.0,
                anchored: bool = False) -> np.ndarray:
    """G (n_basis, n_basis) = integral over [lo, hi] of phi_beta phi_beta' dr; anchored: of
    (phi_beta(r) - phi_beta(hi)) (phi_beta'(r) - phi_beta'(hi)) dr; zero if hi <= lo."""
    if hi <= lo:
        return np.zeros((n_basis, n_basis))
    polys = basis_polynomials(min_dist, max_dist, n_basis, scaling)
    if anchored:
        polys = [poly.polysub(p, [poly.polyval(hi, p)]) for p in polys]
    return _integral_of_products(polys, lo, hi)


class RadialPenalty:
    """A penalty P(C) on the radial coefficients C (N_T, N_T, N_f, N_b): subclasses give
    value_and_grad(C) -> (P, dP/dC) and the name under which a loss evaluation reports P."""

    name = "penalty"

    def value_and_grad(self, c: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def add_to(self, potential, out: dict, gradient: bool) -> None:
        """Add P to a loss evaluation `out` (and its gradient, in the stored parameters)."""
        value, d_c = self.value_and_grad(potential.radial_coeffs)
        out["loss"] += value
        out[self.name] = value
        if gradient:
            n_lin = potential.n_species + potential.n_basis_functions
            out["grad"][n_lin:] += potential._core.radial_pullback(d_c)


class RadialSmoothness(RadialPenalty):
    """P(C) and dP/dC for one radial basis (min_dist, max_dist, N_b, scaling)."""

    name = "smoothness_penalty"

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



class RadialMixing(RadialPenalty):
    """P(C) and dP/dC of the mixing rule (module docstring) for one radial basis, given per pair
    where the model's radial functions stop (lo, the floors) and where the data starts (hi)."""

    name = "mixing_penalty"

    def __init__(self, strength: float, lo: np.ndarray, hi: np.ndarray, min_dist: float, max_dist: float,
                 n_basis: int, scaling: float = 1.0):
        """lo, hi (N_T, N_T), A; like pairs and pairs with hi <= lo carry no penalty; a pair with
        hi = inf (absent from the data) follows the rule up to max_dist."""
        self.strength = float(strength)
        lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
        n = lo.shape[0]
        self.gram = np.zeros((n, n, n_basis, n_basis))   # (N_T, N_T, N_b, N_b)
        for a in range(n):
            for b in range(n):
                if a != b:
                    self.gram[a, b] = gram_matrix(max(lo[a, b], min_dist), min(hi[a, b], max_dist), min_dist, max_dist,
                                                  n_basis, scaling, anchored=True)

    @classmethod
    def for_potential(cls, strength: float, potential, data_floor: np.ndarray) -> "RadialMixing":
        """Between the potential's floors (min_dist without) and the data's shortest distances."""
        n = potential.n_species
        lo = potential.radial_floor if potential.radial_floor is not None else np.full((n, n), potential.min_dist)
        return cls(strength, lo, data_floor, potential.min_dist, potential.max_dist, potential.radial_basis_size,
                   potential.scaling)

    @property
    def active(self) -> bool:
        """Whether any pair has a range to penalise."""
        return bool(np.any(self.gram))

    def value_and_grad(self, c: np.ndarray) -> tuple[float, np.ndarray]:
        """c (N_T, N_T, N_f, N_b) -> (P, dP/dC of the same shape)."""
        own = np.einsum("aamb->amb", c)                            # (N_T, N_f, N_b): like pairs
        d = c - 0.5 * (own[:, None] + own[None, :])                 # deviation from the mixing rule
        gd = np.einsum("abij,abmj->abmi", self.gram, d)
        grad = 2.0 * self.strength * gd
        pull = self.strength * (gd.sum(axis=1) + gd.sum(axis=0))   # d/d own: -1/2 from both (a, b) and (b, a)
        idx = np.arange(c.shape[0])
        grad[idx, idx] -= pull
        return self.strength * float(np.sum(d * gd)), grad
