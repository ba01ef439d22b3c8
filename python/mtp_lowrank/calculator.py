"""ASE calculator running the C++ kernel."""

from __future__ import annotations

import warnings

import numpy as np
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from .potential import Potential

__all__ = ["MTPCalculator"]


class MTPCalculator(Calculator):
    """ASE calculator for a `Potential`. Species are mapped by chemical symbol. One instance
    serves any number of configurations of any size and cell, one after another; its C++
    evaluator keeps (and only grows) its buffers between calls.

    Stress (ASE convention, eV/A^3, Voigt order) is given for fully periodic cells only."""

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress", "grade", "grades"]

    def __init__(self, potential: Potential, n_threads: int = 0, short_range: str = "warn", active_set=None,
                 **kwargs):
        """short_range: what to do when an atom has a neighbour closer than the potential's
        min_dist, where its Chebyshev basis is extrapolated and energies can be wildly wrong:
        'warn' (once per calculator, with the count) or 'error' (raise, naming the distance).
        active_set: an mtp_lowrank.active.ActiveSet or its file (checked against the potential):
        every calculation then also gives the extrapolation grade, as results['grade'] and in
        the atoms' info['grade'] (so extended XYZ output carries it); a neighbourhood-mode set
        also gives each atom's, as results['grades'] and the atoms' arrays['grade']."""
        super().__init__(**kwargs)
        if active_set is not None and not hasattr(active_set, "grade"):
            from .active import ActiveSet

            active_set = ActiveSet.load(active_set, potential)
        self.active_set = active_set
        if short_range not in ("warn", "error"):
            raise ValueError(f"short_range must be 'warn' or 'error', got {short_range!r}")
        self.potential = potential
        self.short_range = short_range
        self._warned = False
        # with an active set, the full representation (the same energies: MF/TT factors are
        # contracted once either way) also gives the parameter gradients the grade needs
        evaluated = potential if active_set is None else active_set.coordinates.full
        self._evaluator = evaluated.evaluator(n_threads)

    @classmethod
    def from_file(cls, path, species=None, n_threads: int = 0, **kwargs) -> "MTPCalculator":
        """Load a potential file; `species` (chemical symbols for types 0..N_T-1) is required
        when the file does not name its species, as MLIP files don't."""
        pot = Potential.load(path, species=species)
        if pot.species is None:
            raise ValueError(
                f"{path} does not name its species: pass species=[...] (chemical symbols for types 0..{pot.n_species - 1})"
            )
        return cls(pot, n_threads=n_threads, **kwargs)

    def _check_short_range(self, res):
        n = res["short_range_atoms"]
        if not n:
            return
        msg = (f"{n} atoms have a neighbour closer than the potential's min_dist {self.potential.min_dist} A "
               f"(closest {res['closest_short_distance']:.4f} A): the potential is extrapolated there and its "
               "energies and forces are unreliable")
        if self.short_range == "error":
            raise ValueError(msg)
        if not self._warned:
            self._warned = True
            warnings.warn(msg + " (warned once per calculator; short_range='error' raises instead)", stacklevel=3)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if "stress" in properties and not all(self.atoms.pbc):
            raise PropertyNotImplementedError("stress needs a cell periodic in all three directions")
        active = self.active_set
        if active is None:
            res = self.potential.evaluate(self.atoms, forces=True, evaluator=self._evaluator)
        else:  # one pass gives energy, forces and the grade's parameter gradients (full representation)
            res = active.coordinates.full.evaluate(
                self.atoms, forces=True, evaluator=self._evaluator, param_gradient=active.mode == "configuration",
                site_param_gradients=active.mode == "neighbourhood")
        self._check_short_range(res)
        self.results["energy"] = res["energy"]
        self.results["free_energy"] = res["energy"]
        self.results["energies"] = res["energies"]
        self.results["forces"] = res["forces"]
        if active is not None:
            if active.mode == "neighbourhood":
                self.results["grades"] = active.grade_rows(active.coordinates.site_rows_of(res))
                self.results["grade"] = float(self.results["grades"].max())
                if atoms is not None:
                    atoms.arrays["grade"] = self.results["grades"].copy()
            else:
                self.results["grade"] = float(active.grade_rows(active.coordinates.row_of(res)[None, :])[0])
            if atoms is not None:
                atoms.info["grade"] = self.results["grade"]
        if "stress" in res:
            s = res["stress"]
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
