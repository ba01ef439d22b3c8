"""Time to accuracy of training methods against plain BFGS, on a subset of the NbMoTaW training
split (level 16, one thread): validation RMSE every 10 iterations against wall time, for a fixed
time budget per method. Exploration for the study: cheap enough to compare several methods.

    python examples/training/time_to_accuracy.py plain strict_line_search linear_fit_loss --budget 420

Methods:
  plain               energy least squares for the linear parameters, then BFGS (the default)
  strict_line_search  the same with strong-Wolfe curvature constant 0.1 instead of 0.9
  linear_fit_loss     linear parameters fitted to the whole loss (energies and forces) first
  force_weight_0.001  plain, with w_f = 0.001 instead of the paper's 0.01 (energies count more)
Writes OUT/<method>.json ([seconds, iteration, E RMSE, F RMSE] rows) and OUT/time_to_accuracy.png.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def run(method: str, train, val, budget: float, log=print):
    from mtp_lowrank import Potential
    from mtp_lowrank.training import Loss, errors, fit_linear, fit_linear_to_loss
    from mtp_lowrank.training.bfgs import Converged, bfgs

    t0 = time.perf_counter()
    pot = fit_linear(Potential.from_level(16, ["Nb", "Mo", "Ta", "W"], 2.0, 5.0, seed=0), train)
    loss = Loss(pot, train, n_threads=1, force_weight=0.001 if method == "force_weight_0.001" else 0.01)
    if method == "linear_fit_loss":
        pot = fit_linear_to_loss(pot, loss)
    rows = []

    def check(rec):
        t = time.perf_counter() - t0
        if rec["iteration"] % 10 == 0:
            e = errors(loss.recent(rec["loss"])[1], val, by_group=False)["all"]
            rows.append([t, rec["iteration"], e["energy_meV_per_atom"]["rmse"], e["forces_meV_per_A"]["rmse"]])
            log(f"{method} {t:6.0f} s  iter {rec['iteration']:4d}  E {rows[-1][2]:7.2f}  F {rows[-1][3]:7.1f}")
        if t > budget:
            raise Converged("time budget")

    bfgs(loss.for_template(pot), pot.parameter_vector(), max_iter=10**6, rel_decrease=0, callback=check,
         curvature=0.1 if method == "strict_line_search" else 0.9)
    return rows


def plot(results: dict, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for method, rows in results.items():
        t, _, e, f = np.array(rows).T
        axes[0].plot(t, e, label=method)
        axes[1].plot(t, f, label=method)
    for ax, what in zip(axes, ("energy (meV/atom)", "forces (meV/Å)")):
        ax.set_xlabel("wall time (s, 1 thread)")
        ax.set_ylabel(f"validation RMSE, {what}")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    import ase.io

    from mtp_lowrank.training import split

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("methods", nargs="+", choices=("plain", "strict_line_search", "linear_fit_loss", "force_weight_0.001"))
    ap.add_argument("--data", default=str(HERE.parents[2] / "shared" / "data" / "nbmotaw" / "train.xyz"))
    ap.add_argument("--budget", type=float, default=420.0, help="seconds per method")
    ap.add_argument("--train", type=int, default=800, help="training configurations (seeded subset of the split)")
    ap.add_argument("--out", default=str(HERE / "results" / "time_to_accuracy"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, val = split(ase.io.read(args.data, ":"), 0.1, 0)
    train = [train[k] for k in np.random.default_rng(1).choice(len(train), args.train, replace=False)]
    val = val[:200]
    for method in args.methods:
        (out / f"{method}.json").write_text(json.dumps(run(method, train, val, args.budget)))
    results = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
    plot(results, out / "time_to_accuracy.png")


if __name__ == "__main__":
    main()
