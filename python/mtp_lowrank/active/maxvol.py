"""MaxVol selection of rows (Goreinov, Tyrtyshnikov et al.; as MLIP's active learning uses it).

The first active set comes from teneva.maxvol (greedy start by pivoted LU, then row swaps until
no swap grows |det A| by more than the factor `tol`). Adding candidates to an existing active
set needs a warm start from that set, which teneva.maxvol does not take, so `swap_in` runs the
same swap iteration from the given rows, recomputing B = rows A^-1 exactly after each swap
(the active sets are a few hundred rows square)."""

from __future__ import annotations

import numpy as np

__all__ = ["maxvol_rows", "swap_in"]


def maxvol_rows(rows: np.ndarray, tol: float = 1.001, max_iter: int = 10000) -> np.ndarray:
    """Indices of m = rows.shape[1] rows of `rows` (n x m, n >= m) spanning a locally maximal
    volume."""
    import teneva

    n, m = rows.shape
    if n < m:
        raise ValueError(f"an active set needs at least {m} configurations (one per parameter), got {n}")
    idx, _ = teneva.maxvol(rows, e=tol, k=max_iter)
    return np.asarray(idx, dtype=int)


def swap_in(active: np.ndarray, candidates: np.ndarray, tol: float = 1.001, max_iter: int = 10000):
    """Swap candidate rows into the square active matrix while some swap grows |det| by more
    than `tol`. Returns (new active matrix, origin of each row: -1 - k for the k-th old row,
    j >= 0 for candidate j, log|det| after each swap)."""
    a = np.array(active, dtype=float)
    m = a.shape[0]
    origin = -1 - np.arange(m)
    cand = np.array(candidates, dtype=float)
    pool_origin = np.arange(len(cand))
    b = np.linalg.solve(a.T, cand.T).T          # B = C A^-1: grade of every candidate
    logdet = [np.linalg.slogdet(a)[1]]
    for _ in range(max_iter):
        i, j = np.unravel_index(np.argmax(np.abs(b)), b.shape)
        if abs(b[i, j]) <= tol:
            break
        # candidate i replaces active row j: |det| grows by |b[i, j]|
        old_row, old_origin = a[j].copy(), origin[j]
        a[j], origin[j] = cand[i], pool_origin[i]
        cand[i], pool_origin[i] = old_row, old_origin
        b = np.linalg.solve(a.T, cand.T).T   # exact recomputation: m is small (hundreds)
        logdet.append(np.linalg.slogdet(a)[1])
    return a, origin, np.array(logdet)
