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
configuration, threads over configurations), for full, mf and tt potentials alike. With an MPI
communicator (`comm`, mpi4py) each rank keeps a share of the configurations and the parts are
summed (see distributed.py): `mpirun -np 2` gives one process's loss and gradient.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from ..potential import Potential
from .data import describe, named_errors
from .distributed import gather_items, partition, sum_over_ranks
from .regularization import RadialSmoothness

__all__ = ["Loss", "reference_data"]

STRESS_MODES = ("virial_per_atom", "stress", "virial")


def reference_data(atoms):
    """(energy, forces or None, virial or None) from an ase.Atoms with a calculator holding
    reference results (e.g. read from extxyz or .cfg)."""
    calc = atoms.calc
    if calc is None:
        raise ValueError("no reference data (no energy, forces or stress read with it)")
    res = calc.results
    if "energy" not in res:
        raise ValueError("no reference energy")
    if not np.isfinite(res["energy"]):
        raise ValueError(f"reference energy is {res['energy']}")
    forces = res.get("forces")
    if forces is not None and not np.all(np.isfinite(forces)):
        raise ValueError("reference forces are not all finite")
    stress = res.get("stress")
    if stress is not None and not np.all(np.isfinite(stress)):
        raise ValueError("reference stress is not all finite")
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
                 config_weights=None, n_threads=0, comm=None, freeze_species=False, radial_smoothness=0.0,
                 penalties=()):
        """radial_smoothness: strength lambda of the curvature penalty on the radial functions
        (regularization.py); 0: none. penalties: more terms of the loss that depend on the
        parameters alone, each with add_to(potential, out, gradient) (e.g. RadialMixing)."""
        if stress not in STRESS_MODES:
            raise ValueError(f"stress must be one of {STRESS_MODES}, got {stress!r}")
        self.template = template
        self.n_threads = n_threads
        if radial_smoothness < 0:
            raise ValueError(f"radial_smoothness must be >= 0, got {radial_smoothness}")
        self.smoothness = RadialSmoothness.for_potential(radial_smoothness, template) if radial_smoothness else None
        self.penalties = ([self.smoothness] if self.smoothness else []) + list(penalties)
        # species_coeffs held fixed (e.g. at isolated-atom energies): their gradient is zero, so
        # BFGS-type methods started from the identity never move them
        self.freeze_species = freeze_species
        self._recent = {}  # loss value -> (training errors, potential) of that evaluation (see recent)
        self.comm = comm if comm is not None and comm.Get_size() > 1 else None
        self.data = _core.TrainingSet()
        self.n_atoms = np.array([len(a) for a in images])
        references = [named_errors(reference_data, a, k) for k, a in enumerate(images)]  # (energy, forces, virial)
        self.has_forces = np.array([forces is not None for _, forces, _ in references])
        weights = np.ones(len(images)) if config_weights is None else np.asarray(config_weights, float)
        if weights.shape != (len(images),):
            raise ValueError(f"config_weights: {len(images)} values needed, got shape {weights.shape}")
        bad = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
        if bad.size:
            raise ValueError(f"{describe(images[bad[0]], int(bad[0]))}: weight {weights[bad[0]]} (must be finite and >= 0)")
        if self.comm is None:
            self.local_index = np.arange(len(images))
        else:  # this rank's share, balanced by atom count (cost ~ atoms)
            self.local_index = partition(self.n_atoms, self.comm.Get_size())[self.comm.Get_rank()]
        self._local_position = {int(g): k for k, g in enumerate(self.local_index)}
        for k in self.local_index:
            atoms = images[k]
            energy, forces, virial = references[k]
            n = len(atoms)
            we = energy_weight / (n * n if energy_per_atom else 1.0)
            if stress == "virial_per_atom":
                ws = stress_weight / (n * n)
            elif stress == "stress":
                ws = stress_weight / atoms.get_volume() ** 2 if virial is not None else 0.0
            else:
                ws = stress_weight
            self.data.add(
                np.ascontiguousarray(atoms.positions, float), named_errors(template.types_of, atoms, k),
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
        """Loss, gradient (parameter_vector layout) and per-configuration residuals
        (energy_error, force_sq, virial_sq, loss_terms; over all configurations, or over
        `subset`, a list of configuration indices, in that order)."""
        out = self._evaluate(potential, gradient, subset)
        if subset is None:   # once, after the sum over ranks
            for penalty in self.penalties:
                penalty.add_to(potential, out, gradient)
        if gradient and self.freeze_species:
            out["grad"][: potential.n_species] = 0.0
        self._remember(potential, out, subset)
        return out

    def _evaluate(self, potential, gradient, subset):
        if self.comm is None:
            return _core.loss_and_gradient(potential._core, self.data, gradient, self.n_threads,
                                           [] if subset is None else list(subset))
        wanted = np.arange(len(self)) if subset is None else np.asarray(subset, dtype=int)
        mine = [k for k, g in enumerate(wanted) if int(g) in self._local_position]
        local = [self._local_position[int(wanted[k])] for k in mine]
        res = _core.loss_and_gradient(potential._core, self.data, gradient, self.n_threads, local) \
            if local else None
        head = np.zeros(1 + (potential.parameter_count("all") if gradient else 0))
        if res is not None:
            head[0] = res["loss"]
            if gradient:
                head[1:] = res["grad"]
        head = sum_over_ranks(self.comm, head)
        out = {"loss": float(head[0])}
        if gradient:
            out["grad"] = head[1:]
        for key, shape in (("energy_error", ()), ("force_sq", ()), ("virial_sq", ()), ("loss_terms", (3,))):
            vals = res[key] if res is not None else np.zeros((0,) + shape)
            out[key] = gather_items(self.comm, mine, vals, len(wanted))
        return out

    def _remember(self, potential, out, subset):
        idx = np.arange(len(self)) if subset is None else np.asarray(subset, dtype=int)
        n = self.n_atoms[idx]
        e = np.asarray(out["energy_error"]) / n
        n_f = 3 * n[self.has_forces[idx]].sum()
        errors = {
            "energy_rmse_meV_per_atom": float(np.sqrt(np.mean(e**2)) * 1e3) if len(e) else float("nan"),
            "force_rmse_meV_per_A": float(np.sqrt(np.sum(out["force_sq"]) / n_f) * 1e3) if n_f else float("nan")}
        self._recent[out["loss"]] = (errors, potential)
        while len(self._recent) > 16:
            self._recent.pop(next(iter(self._recent)))

    def recent(self, loss_value):
        """(training-set RMSEs {energy_rmse_meV_per_atom, force_rmse_meV_per_A}, potential) of a
        recent evaluation that gave exactly `loss_value` (the optimizers report the loss of the
        iterate they accept), or (None, None)."""
        return self._recent.get(loss_value, (None, None))

    def __call__(self, x):
        res = self.evaluate(self.template.with_parameter_vector(x))
        return res["loss"], res["grad"]
