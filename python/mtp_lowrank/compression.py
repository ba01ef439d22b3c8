"""Choosing a rank: what truncating a potential's radial coefficients costs, before and after a
short retraining in the compressed form (`mtp-lowrank compress`).

Truncation alone keeps the best rank-r approximation of C in the Frobenius norm, which is rarely
what a *trained* potential needs: its energies depend on C through products of moments, so a
small relative error in C can move energies by hundreds of meV/atom. The scan below measures
that on data, and `finetune` retrains the compressed potential briefly.
"""

from __future__ import annotations

import numpy as np

from .factorization import unfolding_singular_values
from .potential import Potential

__all__ = ["truncation_table", "relative_error", "scan_ranks", "finetune", "degraded"]


def relative_error(original: Potential, compressed: Potential) -> float:
    """||C - C_r||_F / ||C||_F."""
    c = original.radial_coeffs
    norm = np.linalg.norm(c)
    return float(np.linalg.norm(compressed.radial_coeffs - c) / norm) if norm else 0.0


def truncation_table(pot: Potential) -> list[dict]:
    """For each MF rank r: radial parameters, the (r)-th singular value of C_hat and the
    relative Frobenius error of the rank-r truncation, sqrt(sum_{k>r} s_k^2 / sum s_k^2)."""
    s = unfolding_singular_values(pot.radial_coeffs)["mf"]
    total = float(np.sum(s**2)) or 1.0
    tail = np.sqrt(np.maximum(total - np.cumsum(s**2), 0.0) / total)
    nt, nf, nb = pot.n_species, pot.radial_funcs_count, pot.radial_basis_size
    return [{"rank": r, "radial_parameters": r * (nt * nt + nf * nb), "singular_value": float(s[r - 1]),
             "relative_error": float(tail[r - 1])} for r in range(1, pot.max_mf_rank() + 1)]


def _rmse(pot: Potential, images) -> tuple[float, float]:
    from .training import errors

    e = errors(pot, images, by_group=False)["all"]
    return e["energy_meV_per_atom"]["rmse"], e["forces_meV_per_A"]["rmse"]


def scan_ranks(pot: Potential, images, tt_ranks=None) -> list[dict]:
    """Energy and force RMSE on `images` of the potential as it is (rank 'full') and truncated
    to every MF rank (and to `tt_ranks`, if given), before any retraining."""
    e, f = _rmse(pot, images)
    rows = [{"rank": "full", "radial_parameters": pot.parameter_count(), "relative_error": 0.0,
             "energy_rmse": e, "force_rmse": f}]
    candidates = [pot.to_mf(r) for r in range(1, pot.max_mf_rank() + 1)]
    if tt_ranks is not None:
        candidates.append(pot.to_tt(tt_ranks))
    for c in candidates:
        e, f = _rmse(c, images)
        rows.append({"rank": f"{c.format} {','.join(map(str, c.ranks))}", "radial_parameters": c.parameter_count(),
                     "relative_error": relative_error(pot, c), "energy_rmse": e, "force_rmse": f})
    return rows


def degraded(reference: tuple[float, float], truncated: tuple[float, float], factor: float = 2.0) -> bool:
    """True when truncation made the energy or force RMSE more than `factor` times worse."""
    return truncated[0] > factor * max(reference[0], 1e-9) or truncated[1] > factor * max(reference[1], 1e-9)


def finetune(compressed: Potential, images, max_iter: int = 100, validation_fraction: float = 0.1, seed: int = 0,
             log=print) -> tuple[Potential, dict]:
    """A short retraining of a compressed potential in its compressed form: exact least squares
    of the linear parameters on the energies, then BFGS over all parameters (the paper's weights
    w_e = 1, w_f = 0.01) on a seeded split of `images`. Returns the potential and the held-out
    RMSEs {before, after} (energy meV/atom, force meV/A)."""
    from .training import Loss, fit_linear, split, train_bfgs

    train, val = split(images, validation_fraction, seed)
    held_out = val or train
    before = _rmse(compressed, held_out)
    pot = fit_linear(compressed, train)
    result = train_bfgs(pot, Loss(pot, train), max_iter=max_iter,
                        callback=lambda rec: log(f"  finetune iter {rec['iteration']:4d}  loss {rec['loss']:.6e}")
                        if rec["iteration"] % 10 == 0 else None)
    after = _rmse(result.potential, held_out)
    return result.potential, {"before": before, "after": after, "validation_configurations": len(val),
                              "iterations": result.iterations}
