"""MaxVol selection of rows (Goreinov, Tyrtyshnikov et al.; as MLIP's active learning uses it).

The first active set: a greedy start from QR with column pivoting of rows^T, then row swaps
until no swap grows |det A| by more than the factor `tol`, with rank-one updates of
B = rows A^-1. (teneva.maxvol does the same from a pivoted LU, but scipy's LU returns its row
permutation as a dense n x n matrix: 45 GB for the 77760 neighbourhoods of 360 FLiNaK cells, so
teneva cannot fit a neighbourhood-mode active set of a realistic training set.) Adding
candidates to an existing active set needs a warm start from that set: `swap_in` runs the same
swap iteration from the given rows, recomputing B exactly after each swap (the active sets are a
few hundred rows square)."""

from __future__ import annotations

import numpy as np

__all__ = ["maxvol_rows", "swap_in"]


def maxvol_rows(rows: np.ndarray, tol: float = 1.001, max_iter: int = 10000) -> np.ndarray:
    """Indices of m = rows.shape[1] rows of `rows` (n x m, n >= m, full column rank) spanning a
    locally maximal volume. Memory: two n x m arrays."""
    from scipy.linalg import qr

    rows = np.asarray(rows, dtype=float)
    n, m = rows.shape
    if n < m:
        raise ValueError(f"an active set needs at least {m} configurations (one per parameter), got {n}")
    _, pivots = qr(rows.T, mode="r", pivoting=True)     # greedy start: the most independent rows
    idx = np.array(pivots[:m], dtype=int)
    b = np.linalg.solve(rows[idx].T, rows.T).T             # B = rows A^-1 (n, m); B[idx] = I
    for _ in range(max_iter):
        i, j = np.unravel_index(np.argmax(np.abs(b)), b.shape)
        if abs(b[i, j]) <= tol:
            break
        # row i replaces active row j (|det A| grows by |B[i, j]|): B -= B[:, j] (B[i] - e_j) / B[i, j]
        column = b[:, j] / b[i, j]
        update = b[i].copy()
        update[j] -= 1.0
        b -= np.outer(column, update)
        idx[j] = i
    return idx


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
