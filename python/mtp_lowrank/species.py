"""Mapping chemical symbols to a potential's species indices."""

from __future__ import annotations

import numpy as np

__all__ = ["species_indices"]


def species_indices(symbols, species) -> np.ndarray:
    """Index into `species` of each symbol; a clear ValueError for unknown ones."""
    if species is None:
        raise ValueError(
            "the potential does not name its species (MLIP files never do): pass "
            "species=[...] (chemical symbols for types 0..N_T-1) when loading it"
        )
    lookup = {s: n for n, s in enumerate(species)}
    out = np.empty(len(symbols), dtype=np.int32)
    for i, s in enumerate(symbols):
        t = lookup.get(s)
        if t is None:
            raise ValueError(
                f"atom {i} is {s}, which the potential does not describe (its species: {', '.join(species)})"
            )
        out[i] = t
    return out
