"""Low-rank factorizations of the radial coefficient tensor C (N_T, N_T, N_f, N_b).

* MF: C_hat = reshape(C, [N_T^2, N_f N_b]) = U V^T, U (N_T^2, r), V (N_f N_b, r).
* TT: C[a, b, m, k] = G1[:, a, :] G2[:, b, :] G3[:, m, :] G4[:, k, :],
  G1 (1, N_T, r1), G2 (r1, N_T, r2), G3 (r2, N_f, r3), G4 (r3, N_b, 1).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "mf_from_full",
    "mf_to_full",
    "mf_balance",
    "tt_from_full",
    "tt_to_full",
    "tt_max_ranks",
    "max_mf_rank",
    "max_tt_ranks",
    "check_mf_rank",
    "check_tt_ranks",
    "unfolding_singular_values",
    "mf_parameter_count",
    "tt_parameter_count",
]


def mf_from_full(c: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Truncated SVD of C_hat; the singular values are split evenly, U = U_r S^1/2,
    V = V_r S^1/2. `rank` may exceed min(N_T^2, N_f N_b): the extra columns are zero."""
    nt, _, nf, nb = c.shape
    if rank < 1:
        raise ValueError(f"MF rank must be >= 1, got {rank}")
    chat = c.reshape(nt * nt, nf * nb)
    u, s, vt = np.linalg.svd(chat, full_matrices=False)
    k = min(rank, s.size)
    root = np.sqrt(s[:k])
    big_u = np.zeros((nt * nt, rank))
    big_v = np.zeros((nf * nb, rank))
    big_u[:, :k] = u[:, :k] * root
    big_v[:, :k] = vt[:k].T * root
    return big_u, big_v


def mf_balance(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same product U V^T in the balanced gauge of mf_from_full (U = P S^1/2, V = Q S^1/2
    from the SVD P S Q^T of U V^T, so U^T U = V^T V = S). Factors that differ in scale by orders
    of magnitude make gradient methods crawl: dL/dU = G V is huge where V is large and U small."""
    qu, ru = np.linalg.qr(u)
    qv, rv = np.linalg.qr(v)
    p, s, qt = np.linalg.svd(ru @ rv.T)
    root = np.sqrt(s)
    return qu @ p * root, qv @ qt.T * root


def mf_to_full(u: np.ndarray, v: np.ndarray, shape: tuple[int, int, int, int]) -> np.ndarray:
    return (u @ v.T).reshape(shape)


def tt_max_ranks(shape: tuple[int, int, int, int]) -> tuple[int, int, int]:
    """Largest useful TT ranks (those of an exact decomposition)."""
    n = shape
    left = [n[0], n[0] * n[1], n[0] * n[1] * n[2]]
    right = [n[1] * n[2] * n[3], n[2] * n[3], n[3]]
    return tuple(min(a, b) for a, b in zip(left, right))


def max_mf_rank(n_species: int, n_funcs: int, n_basis: int) -> int:
    """min(N_T^2, N_f N_b): the rank of C_hat can be no larger."""
    return min(n_species * n_species, n_funcs * n_basis)


def max_tt_ranks(n_species: int, n_funcs: int, n_basis: int) -> tuple[int, int, int]:
    return tt_max_ranks((n_species, n_species, n_funcs, n_basis))


def _rank(value, what: str, largest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)) \
            or float(value) != int(value):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    r = int(value)
    if not 1 <= r <= largest:
        raise ValueError(f"{what} must be between 1 and {largest} (the largest useful rank for this "
                         f"potential: a higher one only adds parameters), got {r}")
    return r


def check_mf_rank(rank, n_species: int, n_funcs: int, n_basis: int) -> int:
    return _rank(rank, "MF rank", max_mf_rank(n_species, n_funcs, n_basis))


def check_tt_ranks(ranks, n_species: int, n_funcs: int, n_basis: int) -> list[int]:
    ranks = list(ranks) if not isinstance(ranks, (str, bytes)) else [ranks]
    if len(ranks) != 3:
        raise ValueError(f"TT ranks must be three whole numbers (r1, r2, r3), got {ranks!r}")
    top = max_tt_ranks(n_species, n_funcs, n_basis)
    return [_rank(r, f"TT rank r{k + 1}", top[k]) for k, r in enumerate(ranks)]


def unfolding_singular_values(c: np.ndarray) -> dict[str, np.ndarray]:
    """Singular values of the unfoldings the factorizations truncate: 'mf' of C_hat
    (N_T^2 x N_f N_b; MF rank r drops all after the r-th) and 'tt1'..'tt3' of C's k-th
    sequential unfolding (TT-SVD's error is bounded by what each rank r_k drops there)."""
    n = c.shape
    out = {"mf": np.linalg.svd(c.reshape(n[0] * n[1], -1), compute_uv=False)}
    for k in range(1, 4):
        out[f"tt{k}"] = np.linalg.svd(c.reshape(int(np.prod(n[:k])), -1), compute_uv=False)
    return out


def tt_from_full(c: np.ndarray, ranks) -> list[np.ndarray]:
    """TT-SVD (Oseledets 2011) with prescribed ranks (r1, r2, r3): sweep left to right,
    truncating each unfolding's SVD. Ranks above the exact ones are padded with zeros."""
    ranks = tuple(int(r) for r in ranks)
    if len(ranks) != 3 or min(ranks) < 1:
        raise ValueError(f"TT ranks must be three positive integers, got {ranks}")
    n = c.shape
    cores = []
    rest = c.reshape(n[0], -1)
    r_prev = 1
    for k in range(3):
        rows = r_prev * n[k]
        mat = rest.reshape(rows, -1)
        u, s, vt = np.linalg.svd(mat, full_matrices=False)
        rk = ranks[k]
        keep = min(rk, s.size)
        core = np.zeros((rows, rk))
        core[:, :keep] = u[:, :keep]
        cores.append(core.reshape(r_prev, n[k], rk))
        nxt = np.zeros((rk, mat.shape[1]))
        nxt[:keep] = s[:keep, None] * vt[:keep]
        rest = nxt
        r_prev = rk
    cores.append(rest.reshape(r_prev, n[3], 1))
    return cores


def tt_to_full(cores: list[np.ndarray]) -> np.ndarray:
    g1, g2, g3, g4 = cores
    return np.einsum("xai,ibj,jmk,kly->abml", g1, g2, g3, g4)


def mf_parameter_count(shape, rank: int) -> int:
    nt, _, nf, nb = shape
    return rank * (nt * nt + nf * nb)


def tt_parameter_count(shape, ranks) -> int:
    r = (1, *ranks, 1)
    return sum(r[k] * shape[k] * r[k + 1] for k in range(4))
