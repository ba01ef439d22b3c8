"""An independent, slow reference of MLIP's site energy (MLMTPR::CalcSiteEnergyDers), written
from MLIP's algorithm: the radial sum is recomputed for every basic moment, moments use
coordinate powers x^a y^b z^c divided by r^(a+b+c), neighbours come from ASE. It shares no code
with the kernel and is used only to check conventions."""

from __future__ import annotations

import numpy as np
from ase.neighborlist import neighbor_list


def chebyshev_basis(r, min_dist, max_dist, size, scaling):
    ksi = (2 * r - (min_dist + max_dist)) / (max_dist - min_dist)
    vals = np.zeros((size, r.size))
    vals[0] = scaling * (r - max_dist) ** 2
    if size > 1:
        vals[1] = scaling * ksi * (r - max_dist) ** 2
    for i in range(2, size):
        vals[i] = 2 * ksi * vals[i - 1] - vals[i - 2]
    return vals


def site_energies(pot, atoms, types):
    core = pot._core
    c = core.radial_coeffs  # (N_T, N_T, N_f, N_b) [central, neighbour, mu, beta]
    basic, times = core.alpha_index_basic, core.alpha_index_times
    mapping = core.alpha_moment_mapping
    ii, jj, dd, DD = neighbor_list("ijdD", atoms, core.max_dist)
    out = np.zeros(len(atoms))
    for i in range(len(atoms)):
        sel = ii == i
        r, vec, tj = dd[sel], DD[sel], types[jj[sel]]
        rb = chebyshev_basis(r, core.min_dist, core.max_dist, core.radial_basis_size, core.scaling)
        m = np.zeros(core.moments_count)
        for b, (mu, a1, a2, a3) in enumerate(basic):
            val = np.einsum("jk,kj->j", c[types[i], tj, mu], rb)
            k = a1 + a2 + a3
            m[b] = np.sum(val / r**k * vec[:, 0] ** a1 * vec[:, 1] ** a2 * vec[:, 2] ** a3)
        for a, b, mult, k in times:
            m[k] += mult * m[a] * m[b]
        out[i] = core.species_coeffs[types[i]] + core.moment_coeffs @ m[mapping]
    return out
