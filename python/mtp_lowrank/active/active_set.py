"""The active set of a potential: the training rows (configuration mode: b = dE/dtheta of
whole configurations, MLIP's default; neighbourhood mode: b_i = dV_i/dtheta of each atom's
neighbourhood) that span the largest volume (MaxVol), in gauge-free coordinates
(coordinates.py), and the extrapolation grade gamma(x) = max_j |(b(x) A^-1)_j|: <= 1 inside the
span of the training data, > 1 outside (MLIP's usual thresholds: 2 to select, 10 to stop). In
neighbourhood mode every atom has a grade and a configuration's is the largest of its atoms'.
Podryabinkin & Shapeev, Comput. Mater. Sci. 140, 171 (2017); Novikov et al., MLIP-2 (2021).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..potential import Potential
from .coordinates import ParameterCoordinates, fingerprint
from .maxvol import maxvol_rows, swap_in

__all__ = ["ActiveSet"]


def _stacked_rows(coords: ParameterCoordinates, images, mode: str):
    """(rows, owners) of `images`: configuration mode one row per configuration, owners (n, 1)
    its index; neighbourhood mode one row per atom, owners (n_atoms, 2) = (configuration, atom)."""
    if mode == "configuration":
        return coords.rows(images), np.arange(len(images))[:, None]
    ev = coords.full.evaluator()
    per = [coords.site_rows(a, ev) for a in images]
    owners = np.array([(k, i) for k, r in enumerate(per) for i in range(len(r))], dtype=int).reshape(-1, 2)
    return np.vstack(per), owners


class ActiveSet:
    """Rows A (k x k) of the training configurations chosen by MaxVol, in the k independent
    directions of the parameters (`directions`, m x k orthonormal): the energy has exact
    symmetries (scaling a radial function and the coefficients of the basis functions using it
    inversely leaves it unchanged), so some parameter combinations never change it and every
    row is orthogonal to them; they are dropped, as are any other directions the training rows
    leave at round-off level (relative 1e-12)."""

    MODES = ("configuration", "neighbourhood")

    def __init__(self, potential: Potential, rows: np.ndarray, directions: np.ndarray, sources: list,
                 coordinates=None, mode: str = "configuration"):
        if mode not in self.MODES:
            raise ValueError(f"active-set mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode
        self.potential = potential
        self.coordinates = coordinates or ParameterCoordinates(potential)
        self.directions = np.asarray(directions, dtype=float)   # (m, k)
        self.rows = np.asarray(rows, dtype=float)                # (k, k)
        k = self.directions.shape[1]
        if self.directions.shape[0] != self.coordinates.dimension or self.rows.shape != (k, k):
            raise ValueError(f"active set of shape {self.rows.shape} with directions {self.directions.shape} does "
                             f"not fit a potential with {self.coordinates.dimension} parameter coordinates")
        self.sources = list(sources)   # (k): training configuration (neighbourhood mode: [configuration, atom])
        self.inverse = np.linalg.inv(self.rows)

    # ---- building ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, potential: Potential, images, tol: float = 1.001, mode: str = "configuration") -> "ActiveSet":
        """MaxVol over the rows of `images` (at least as many rows as independent parameter
        directions). Neighbourhood mode holds every atom's row in memory at once
        (atoms x parameters doubles)."""
        if mode not in cls.MODES:
            raise ValueError(f"active-set mode must be one of {cls.MODES}, got {mode!r}")
        coords = ParameterCoordinates(potential)
        rows, owners = _stacked_rows(coords, images, mode)
        _, s, vt = np.linalg.svd(rows, full_matrices=False)
        k = int(np.sum(s > s[0] * 1e-12))
        directions = vt[:k].T
        projected = rows @ directions
        idx = maxvol_rows(projected, tol)
        sources = [int(o[0]) for o in owners[idx]] if mode == "configuration" else owners[idx].tolist()
        return cls(potential, projected[idx], directions, sources, coords, mode)

    # ---- grades -----------------------------------------------------------------------------
    def grade_rows(self, rows: np.ndarray) -> np.ndarray:
        """Grades of rows in parameter coordinates (n x m)."""
        return np.abs((np.asarray(rows) @ self.directions) @ self.inverse).max(axis=1)

    def grade(self, atoms) -> float:
        """Extrapolation grade of one configuration (neighbourhood mode: its atoms' largest)."""
        if self.mode == "neighbourhood":
            return float(self.atom_grades(atoms).max())
        return float(self.grade_rows(self.coordinates.row(atoms)[None, :])[0])

    def atom_grades(self, atoms) -> np.ndarray:
        """(N,) grade of each atom's neighbourhood (neighbourhood mode only)."""
        if self.mode != "neighbourhood":
            raise ValueError("per-atom grades need a neighbourhood-mode active set (fit with mode='neighbourhood')")
        return self.grade_rows(self.coordinates.site_rows(atoms))

    def grades(self, images) -> np.ndarray:
        """One grade per configuration."""
        return self._graded(images)[3]

    def _graded(self, images):
        """(rows, owners, row grades, configuration grades) of `images` (rows and owners as
        _stacked_rows; a configuration's grade is the largest of its rows')."""
        rows, owners = _stacked_rows(self.coordinates, images, self.mode)
        row_grades = self.grade_rows(rows)
        grades = np.zeros(len(images))
        np.maximum.at(grades, owners[:, 0], row_grades)
        return rows, owners, row_grades, grades

    # ---- selection --------------------------------------------------------------------------
    def select(self, candidates, threshold: float = 1.0, tol: float = 1.001, max_count: int | None = None):
        """Indices of the candidates worth labelling: those MaxVol swaps into the active set
        (D-optimal, so near-duplicates are not all taken), among those with grade > threshold.
        Returns (indices into `candidates`, their grades). The active set itself is unchanged;
        refit after training on the new data."""
        rows, owners, row_grades, grades = self._graded(candidates)
        owner = owners[:, 0]
        pool = np.flatnonzero(row_grades > threshold)
        if not len(pool):
            return np.array([], dtype=int), grades[:0]
        _, origin, _ = swap_in(self.rows, rows[pool] @ self.directions, tol)
        chosen = sorted({int(owner[pool[j]]) for j in origin if j >= 0}, key=lambda k: -grades[k])
        if max_count is not None:
            chosen = chosen[:max_count]
        return np.array(chosen, dtype=int), grades[chosen]

    # ---- files ------------------------------------------------------------------------------
    def save_for_lammps(self, path) -> None:
        """Text file for `pair_style mtp/lowrank extrapolation FILE ...`: the mode,
        M = [I + tangent basis] P A^-1, (parameters of the full representation x k), so that
        the grade is max |g M| with g = dE/d(species, moment, full C) of a configuration
        (configuration mode) or dV_i/d(...) of a neighbourhood (neighbourhood mode: per-atom
        grades in LAMMPS), and the checksums of those parameters (cpp/include/mtp/extrapolation.h)."""
        pot, coords = self.potential, self.coordinates
        n_lin = pot.n_species + pot.n_basis_functions
        lift = self.directions if coords.basis is None else np.vstack(
            [self.directions[:n_lin], coords.basis @ self.directions[n_lin:]])
        m = lift @ self.inverse
        theta = np.concatenate([pot.species_coeffs, pot.moment_coeffs, pot.radial_coeffs.ravel()])
        k = np.arange(1, theta.size + 1)
        with open(path, "w") as fh:
            fh.write(f"mtp-lowrank active set 1\nmode {self.mode}\n")
            fh.write(f"rows {m.shape[0]}\ncolumns {m.shape[1]}\n")
            fh.write(f"checksums {theta.sum():.17g} {np.dot(theta, theta):.17g} {np.dot(k, theta) / theta.size:.17g}\n")
            np.savetxt(fh, m, fmt="%.17g")

    def save(self, path) -> None:
        """NumPy .npz with the rows, their sources and the potential's fingerprint."""
        np.savez(path, rows=self.rows, directions=self.directions, sources=np.array(self.sources),
                 fingerprint=fingerprint(self.potential), mode=self.mode)

    @classmethod
    def load(cls, path, potential: Potential) -> "ActiveSet":
        """The active set saved for `potential`; refuses one saved for another potential."""
        try:
            with np.load(path) as z:
                rows, directions = z["rows"], z["directions"]
                sources, fp, mode = z["sources"].tolist(), str(z["fingerprint"]), str(z["mode"])
        except Exception as e:  # missing keys, truncated zip, not a zip
            raise ValueError(f"{path}: not an active-set file ({type(e).__name__}: {e})") from None
        if fp != fingerprint(potential):
            raise ValueError(f"{path} was computed for a different potential (parameters, basis or species "
                             "differ): recompute it with `mtp-lowrank grade --fit`")
        return cls(potential, rows, directions, sources, mode=mode)
