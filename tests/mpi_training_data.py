"""The small training problem shared by the MPI worker and its test (deterministic)."""

from __future__ import annotations

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator

from conftest import random_atoms, random_potential

FORMATS = ["full", "mf", "tt"]


def problem(fmt):
    """(potential, 7 configurations of 4..16 atoms with energies, forces and stresses, loss weights)."""
    rng = np.random.default_rng(7)
    pot = random_potential(level=8, n_species=3, seed=3, fmt=fmt)
    images = []
    for k in range(7):
        a = random_atoms(rng, n_atoms=4 + 2 * k, n_species=3)
        a.calc = SinglePointCalculator(a, energy=rng.normal() * 3, forces=rng.normal(size=(len(a), 3)),
                                       stress=rng.normal(size=6) * 0.01)
        images.append(a)
    return pot, images, dict(energy_weight=1.0, force_weight=0.01, stress_weight=0.001)
