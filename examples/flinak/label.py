"""Labelling: energy, forces and stress of each configuration from any ASE calculator (the
teacher by default; a DFT code's ASE interface or another potential works the same way).
`--labeller module:function` names a function returning the calculator."""

from __future__ import annotations

import importlib

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator


def labeller(spec: str | None):
    """(calculator, description) from 'module:function' (called without arguments), or the
    teacher for None."""
    if spec is None:
        from teacher import teacher_calculator

        return teacher_calculator(), "Tosi-Fumi teacher (teacher.py, LAMMPS born/coul/long + pppm 1e-5)"
    module, _, func = spec.partition(":")
    if not func:
        raise SystemExit(f"--labeller {spec!r}: expected module:function")
    try:
        return getattr(importlib.import_module(module), func)(), spec
    except (ImportError, AttributeError) as e:
        raise SystemExit(f"--labeller {spec!r}: {e}") from None


def label(frames, calc, description: str):
    """Copies of `frames` holding the calculator's energy (eV), forces (eV/A) and stress
    (eV/A^3, ASE convention) as single-point results, with atoms.info['labeller']."""
    out = []
    for atoms in frames:
        a = atoms.copy()
        a.calc = calc
        energy, forces, stress = a.get_potential_energy(), a.get_forces(), a.get_stress()
        if not (np.isfinite(energy) and np.all(np.isfinite(forces)) and np.all(np.isfinite(stress))):
            raise RuntimeError(f"{atoms.info.get('condition')} snapshot {atoms.info.get('snapshot')}: "
                               "the labeller returned non-finite values")
        a.calc = SinglePointCalculator(a, energy=energy, forces=forces, stress=stress)
        a.info["labeller"] = description
        out.append(a)
    return out
