"""Mapping chemical symbols to a potential's species indices (vectorised, no Python loop over
atoms)."""

from __future__ import annotations

import numpy as np
from ase.data import atomic_numbers

__all__ = ["check_species_list", "species_indices", "species_table", "types_from_mlip"]


def check_species_list(species) -> list[str]:
    """A list of distinct chemical symbols, or ValueError saying what is wrong."""
    if isinstance(species, str):
        raise ValueError(f"species must be a list of chemical symbols, got the string {species!r}")
    names = [str(s) for s in species]
    bad = [s for s in names if s not in atomic_numbers or s == "X"]
    if bad:
        raise ValueError(f"{', '.join(map(repr, bad))} {'is not a chemical symbol' if len(bad) == 1 else 'are not chemical symbols'}"
                         f" (species {' '.join(names)})")
    seen = set()
    for s in names:
        if s in seen:
            raise ValueError(f"species {s} appears twice in {' '.join(names)}: each species is one element")
        seen.add(s)
    if not names:
        raise ValueError("the species list is empty")
    return names


def types_from_mlip(mlip_type, mlip_types) -> np.ndarray:
    """Species indices of atoms given their MLIP type numbers (as read from a .cfg) and the
    potential's type number per species; ValueError naming the first unknown one."""
    mlip_type = np.asarray(mlip_type)
    lookup = {t: k for k, t in enumerate(mlip_types)}
    out = np.array([lookup.get(int(t), -1) for t in mlip_type], dtype=np.int32)
    bad = np.flatnonzero(out < 0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"atom {i} has MLIP type {int(mlip_type[i])}, which the potential does not have "
                         f"(its types: {' '.join(map(str, mlip_types))})")
    return out


def species_table(species) -> np.ndarray:
    """Lookup table atomic number -> species index (-1: not in the potential)."""
    table = np.full(len(atomic_numbers) + 1, -1, dtype=np.int32)
    for n, s in enumerate(species):
        if s not in atomic_numbers:
            raise ValueError(f"{s!r} is not a chemical symbol")
        table[atomic_numbers[s]] = n
    return table


def species_indices(numbers, species, table=None) -> np.ndarray:
    """Species index of each atom given its atomic numbers; a clear ValueError naming the first
    atom whose element the potential does not describe."""
    if species is None:
        raise ValueError(
            "the potential does not name its species (MLIP files never do): pass "
            "species=[...] (chemical symbols of its species in block order) when loading it"
        )
    if table is None:
        table = species_table(species)
    numbers = np.asarray(numbers)
    types = table[numbers]
    bad = np.flatnonzero(types < 0)
    if bad.size:
        from ase.data import chemical_symbols

        i = int(bad[0])
        raise ValueError(
            f"atom {i} is {chemical_symbols[numbers[i]]}, which the potential does not describe "
            f"(its species: {', '.join(species)})"
        )
    return types
