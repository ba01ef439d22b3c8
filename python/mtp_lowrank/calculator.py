"""ASE calculator running the C++ kernel."""

from __future__ import annotations

import numpy as np
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from .potential import Potential

__all__ = ["MTPCalculator"]


class MTPCalculator(Calculator):
    """ASE calculator for a `Potential`. Species are mapped by chemical symbol. One instance
    serves any number of configurations of any size and cell, one after another; its C++
    evaluator keeps (and only grows) its buffers between calls.

    Stress (ASE convention, eV/A^3, Voigt order) is given for fully periodic cells only."""

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(self, potential: Potential, n_threads: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.potential = potential
        self._evaluator = potential.evaluator(n_threads)

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

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if "stress" in properties and not all(self.atoms.pbc):
            raise PropertyNotImplementedError("stress needs a cell periodic in all three directions")
        res = self.potential.evaluate(self.atoms, forces=True, evaluator=self._evaluator)
        self.results["energy"] = res["energy"]
        self.results["free_energy"] = res["energy"]
        self.results["energies"] = res["energies"]
        self.results["forces"] = res["forces"]
        if "stress" in res:
            s = res["stress"]
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
