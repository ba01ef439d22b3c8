"""The training loss and its gradient in the stored parameters.

    L = sum_k c_k [ w_e e_k^2 + w_f sum_i |dF_ik|^2 + w_s sum_{6 comps} s_k^2 ]

with per-configuration weights c_k and, by default (MLIP-like, sizes mixed fairly):
    e_k = (E_k - E_k^ref) / N_k                (energy_per_atom=True; False: total energy)
    s_k = (W_k - W_k^ref) / N_k                (stress="virial_per_atom", eV/atom)
where W is the virial (sum r (x) F = -stress * volume, MLIP's PlusStress). stress="stress"
uses the stress itself (eV/A^3, W / V) and stress="virial" the virial in eV. The per-atom
default keeps energy and stress terms intensive, like the per-atom errors users report, so
large cells do not dominate. Defaults follow the paper: w_e = 1, w_f = 0.01, w_s = 0.

Gradients are computed in C++ in adjoint form (one energy+forces pass and one tangent pass per
configuration, OpenMP over configurations), for full, mf and tt potentials alike.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from ..potential import Potential

__all__ = ["Loss", "reference_data"]

STRESS_MODES = ("virial_per_atom", "stress", "virial")


def reference_data(atoms):
    """(energy, forces or None, virial or None) from an ase.Atoms with a calculator holding
    reference results (e.g. read from extxyz or .cfg)."""
    calc = atoms.calc
    if calc is None:
        raise ValueError("configuration has no reference data (atoms.calc is None)")
    res = calc.results
    if "energy" not in res:
        raise ValueError("configuration has no reference energy")
    forces = res.get("forces")
    stress = res.get("stress")
    virial = None
    if stress is not None and all(atoms.pbc):
        s = np.asarray(stress, dtype=float)
        if s.shape == (6,):
            xx, yy, zz, yz, xz, xy = s
            s = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
        virial = -s * atoms.get_volume()
    return float(res["energy"]), (None if forces is None else np.asarray(forces, float)), virial


class Loss:
    """Loss over `images` (ase.Atoms with reference results) for potentials shaped like
    `template` (same basis, species, radial format and ranks). Call with a parameter vector
    (Potential.parameter_vector layout) to get (loss, gradient)."""

    def __init__(self, template: Potential, images, energy_weight=1.0, force_weight=0.01,
                 stress_weight=0.0, energy_per_atom=True, stress="virial_per_atom",
                 config_weights=None, n_threads=0):
        if stress not in STRESS_MODES:
            raise ValueError(f"stress must be one of {STRESS_MODES}, got {stress!r}")
        self.template = template
        self.n_threads = n_threads
        self.data = _core.TrainingSet()
        self.n_atoms = np.array([len(a) for a in images])
        self.groups = [a.info.get("group", "") for a in images]
        weights = np.ones(len(images)) if config_weights is None else np.asarray(config_weights, float)
        for k, atoms in enumerate(images):
            energy, forces, virial = reference_data(atoms)
            n = len(atoms)
            we = energy_weight / (n * n if energy_per_atom else 1.0)
            if stress == "virial_per_atom":
                ws = stress_weight / (n * n)
            elif stress == "stress":
                ws = stress_weight / atoms.get_volume() ** 2 if virial is not None else 0.0
            else:
                ws = stress_weight
            self.data.add(
                np.ascontiguousarray(atoms.positions, float), template.types_of(atoms),
                np.ascontiguousarray(atoms.cell.array, float), [bool(p) for p in atoms.pbc], energy,
                forces, virial if stress_weight else None, weights[k] * we,
                weights[k] * force_weight if forces is not None else 0.0, weights[k] * ws)

    def for_template(self, template: Potential) -> "Loss":
        """The same loss (data and weights shared, not copied) for potentials shaped like
        `template`, e.g. after a rank change."""
        other = object.__new__(Loss)
        other.__dict__.update(self.__dict__)
        other.template = template
        return other

    def __len__(self):
        return len(self.n_atoms)

    def evaluate(self, potential: Potential, gradient=True, subset=None) -> dict:
        """Loss, gradient (parameter_vector layout) and per-configuration residuals."""
        return _core.loss_and_gradient(potential._core, self.data, gradient, self.n_threads,
                                       [] if subset is None else list(subset))

    def __call__(self, x):
        res = self.evaluate(self.template.with_parameter_vector(x))
        return res["loss"], res["grad"]
