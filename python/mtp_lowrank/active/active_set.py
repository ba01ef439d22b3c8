"""The active set of a potential (configuration mode): the m training configurations whose
rows b = dE/dtheta (gauge-free coordinates, coordinates.py) span the largest volume, and the
extrapolation grade gamma(x) = max_j |(b(x) A^-1)_j| of any configuration: <= 1 inside the
span of the training data, > 1 outside (MLIP's usual thresholds: 2 to select, 10 to stop).
Podryabinkin & Shapeev, Comput. Mater. Sci. 140, 171 (2017); Novikov et al., MLIP-2 (2021).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..potential import Potential
from .coordinates import ParameterCoordinates, fingerprint
from .maxvol import maxvol_rows, swap_in

__all__ = ["ActiveSet"]


class ActiveSet:
    """Rows A (k x k) of the training configurations chosen by MaxVol, in the k independent
    directions of the parameters (`directions`, m x k orthonormal): the energy has exact
    symmetries (scaling a radial function and the coefficients of the basis functions using it
    inversely leaves it unchanged), so some parameter combinations never change it and every
    row is orthogonal to them; they are dropped, as are any other directions the training rows
    leave at round-off level (relative 1e-12)."""

    def __init__(self, potential: Potential, rows: np.ndarray, directions: np.ndarray, sources: list,
                 coordinates=None):
        self.potential = potential
        self.coordinates = coordinates or ParameterCoordinates(potential)
        self.directions = np.asarray(directions, dtype=float)   # (m, k)
        self.rows = np.asarray(rows, dtype=float)                # (k, k)
        k = self.directions.shape[1]
        if self.directions.shape[0] != self.coordinates.dimension or self.rows.shape != (k, k):
            raise ValueError(f"active set of shape {self.rows.shape} with directions {self.directions.shape} does "
                             f"not fit a potential with {self.coordinates.dimension} parameter coordinates")
        self.sources = list(sources)                            # (k): training configuration of each row
        self.inverse = np.linalg.inv(self.rows)

    # ---- building ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, potential: Potential, images, tol: float = 1.001) -> "ActiveSet":
        """MaxVol over the rows of `images` (at least as many configurations as independent
        parameter directions)."""
        coords = ParameterCoordinates(potential)
        rows = coords.rows(images)
        _, s, vt = np.linalg.svd(rows, full_matrices=False)
        k = int(np.sum(s > s[0] * 1e-12))
        directions = vt[:k].T
        projected = rows @ directions
        idx = maxvol_rows(projected, tol)
        return cls(potential, projected[idx], directions, [int(j) for j in idx], coords)

    # ---- grades -----------------------------------------------------------------------------
    def grade_rows(self, rows: np.ndarray) -> np.ndarray:
        """Grades of rows in parameter coordinates (n x m)."""
        return np.abs((np.asarray(rows) @ self.directions) @ self.inverse).max(axis=1)

    def grade(self, atoms) -> float:
        """Extrapolation grade of one configuration."""
        return float(self.grade_rows(self.coordinates.row(atoms)[None, :])[0])

    def grades(self, images) -> np.ndarray:
        return self.grade_rows(self.coordinates.rows(images))

    # ---- selection --------------------------------------------------------------------------
    def select(self, candidates, threshold: float = 1.0, tol: float = 1.001, max_count: int | None = None):
        """Indices of the candidates worth labelling: those MaxVol swaps into the active set
        (D-optimal, so near-duplicates are not all taken), among those with grade > threshold.
        Returns (indices into `candidates`, their grades). The active set itself is unchanged;
        refit after training on the new data."""
        rows = self.coordinates.rows(candidates)
        grades = self.grade_rows(rows)
        pool = np.flatnonzero(grades > threshold)
        if not len(pool):
            return np.array([], dtype=int), grades[pool]
        _, origin, _ = swap_in(self.rows, rows[pool] @ self.directions, tol)
        chosen = sorted({int(pool[j]) for j in origin if j >= 0}, key=lambda k: -grades[k])
        if max_count is not None:
            chosen = chosen[:max_count]
        return np.array(chosen, dtype=int), grades[chosen]

    # ---- files ------------------------------------------------------------------------------
    def save(self, path) -> None:
        """NumPy .npz with the rows, their sources and the potential's fingerprint."""
        np.savez(path, rows=self.rows, directions=self.directions, sources=np.array(self.sources),
                 fingerprint=fingerprint(self.potential), mode="configuration")

    @classmethod
    def load(cls, path, potential: Potential) -> "ActiveSet":
        """The active set saved for `potential`; refuses one saved for another potential."""
        try:
            with np.load(path) as z:
                rows, directions = z["rows"], z["directions"]
                sources, fp = z["sources"].tolist(), str(z["fingerprint"])
        except Exception as e:  # missing keys, truncated zip, not a zip
            raise ValueError(f"{path}: not an active-set file ({type(e).__name__}: {e})") from None
        if fp != fingerprint(potential):
            raise ValueError(f"{path} was computed for a different potential (parameters, basis or species "
                             "differ): recompute it with `mtp-lowrank grade --fit`")
        return cls(potential, rows, directions, sources)
