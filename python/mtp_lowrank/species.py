"""Mapping chemical symbols to a potential's species indices (vectorised, no Python loop over
atoms)."""

from __future__ import annotations

import numpy as np
from ase.data import atomic_numbers

__all__ = ["species_indices", "species_table"]


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
            "species=[...] (chemical symbols for types 0..N_T-1) when loading it"
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
