"""Report figures (PNG, matplotlib's non-interactive Agg backend): parity plots of predicted
against reference energies, forces and stresses, and learning curves from metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["parity_plot", "learning_curve_plot", "read_metrics"]

_PANELS = (("energy", "energy (eV/atom)", 1e3, "meV/atom"), ("forces", "force components (eV/Å)", 1e3, "meV/Å"),
           ("stress", "stress components (GPa)", 1.0, "GPa"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path, title) -> Path:
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def parity_plot(pred: dict, path, title: str = "") -> Path:
    """Predicted vs reference (one panel per quantity present in `pred`, from
    metrics.predictions), each with its RMSE and MAE; coloured by group when there are several."""
    plt = _pyplot()
    panels = [p for p in _PANELS if len(pred[p[0]]["reference"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    groups = pred["groups"]
    names = sorted(set(groups))
    for ax, (key, label, scale, unit) in zip(axes[0], panels):
        ref, val, cfg = pred[key]["reference"], pred[key]["predicted"], pred[key]["config"]
        for g in names:
            sel = groups[cfg] == g
            ax.scatter(ref[sel], val[sel], s=4, alpha=0.5, label=g or None, rasterized=True)
        lo, hi = min(ref.min(), val.min()), max(ref.max(), val.max())
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.7)
        d = (val - ref) * scale
        ax.set_title(f"RMSE {np.sqrt(np.mean(d**2)):.3g}, MAE {np.mean(np.abs(d)):.3g} {unit}", fontsize=9)
        ax.set_xlabel(f"reference {label}")
        ax.set_ylabel(f"predicted {label}")
    if 1 < len(names) <= 20:
        axes[0][0].legend(fontsize=6, markerscale=2, loc="upper left")
    return _save(plt, fig, path, title)


def read_metrics(path) -> list[dict]:
    """The records of a metrics.jsonl file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def learning_curve_plot(records, path, title: str = "") -> Path:
    """Loss, and training (every iteration) and validation (where recorded) RMSEs of energy and
    forces, against the iteration; rank changes (MFRA) marked."""
    plt = _pyplot()
    with_loss = [r for r in records if "loss" in r]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    axes[0].semilogy([r["iteration"] for r in with_loss], [r["loss"] for r in with_loss], lw=1)
    axes[0].set_ylabel("loss")
    for ax, key, unit in ((axes[1], "energy_rmse_meV_per_atom", "meV/atom"), (axes[2], "force_rmse_meV_per_A", "meV/Å")):
        for prefix, style in (("train_", "-"), ("validation_", "o-")):
            pts = [(r["iteration"], r[prefix + key]) for r in records if prefix + key in r]
            if pts:
                x, y = zip(*pts)
                ax.semilogy(x, y, style, lw=1, ms=3, label=prefix.rstrip("_"))
        ax.set_ylabel(f"{key.split('_')[0]} RMSE ({unit})")
        ax.legend(fontsize=8)
    ranks = [(r["iteration"], r["rank"]) for r in records if "rank" in r]
    for (i0, r0), (i1, r1) in zip(ranks, ranks[1:]):
        if r1 != r0:
            for ax in axes:
                ax.axvline(i1, color="grey", lw=0.5, ls=":")
            axes[0].annotate(f"r={r1}", (i1, 1), xycoords=("data", "axes fraction"), fontsize=7, va="top")
    for ax in axes:
        ax.set_xlabel("iteration")
    return _save(plt, fig, path, title)
