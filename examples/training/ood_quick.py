"""A quick out-of-domain check of the radial floors: train on cells whose pairs are all at least
2.35 A apart, test on the held-out cells with shorter contacts (the study's --split short), with
and without `radial_floor` (floors = the training cells' shortest pair distances), base and MF.

    python examples/training/ood_quick.py [--level 12] [--train 1000] [--iterations 200]

Small on purpose (one thread, a few minutes per model); the study repeats it at level 16 on the
whole kept set. The floored models are also scored with a ZBL repulsive core added below the
floors (model.core; outer = --core-at x floor, width 0.5 A): it changes nothing on the training
cells, so no retraining is needed. Trained models are kept in results/ood_quick/models_*/ and
reused. Output: results/ood_quick/level<L>_<N>cells.txt.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPECIES = ["Nb", "Mo", "Ta", "W"]


def main():
    import ase.io
    from ase.neighborlist import neighbor_list

    from mtp_lowrank import Potential
    from mtp_lowrank.training import Loss, errors, fit_linear, train_bfgs
    from mtp_lowrank.training.run import radial_floors

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(HERE.parents[2] / "shared" / "data" / "nbmotaw" / "train.xyz"))
    ap.add_argument("--level", type=int, default=12)
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--core-at", type=float, nargs="+", default=[1.0, 0.85, 0.7],
                    help="ZBL core variants of the floored models: outer = this fraction of the floors, width 0.5 A")
    args = ap.parse_args()
    images = ase.io.read(args.data, ":")
    short = {k for k, a in enumerate(images) if len(neighbor_list("d", a, 2.35))}
    kept = [a for k, a in enumerate(images) if k not in short]
    test = [images[k] for k in sorted(short)]
    train = [kept[k] for k in np.random.default_rng(0).choice(len(kept), args.train, replace=False)]
    start = fit_linear(Potential.from_level(args.level, SPECIES, 2.0, 5.0, seed=0), train)
    floor = radial_floors({"radial_floor": "data", "radial_floor_margin": 0.0}, start, train, SPECIES)
    lines = [f"level {args.level}, {len(train)} training cells (no pair < 2.35 A), {len(test)} test cells "
             f"(a pair < 2.35 A), {args.iterations} BFGS iterations", f"floors (A): {np.round(floor, 3).tolist()}"]
    print(lines[-1], flush=True)
    models = [("base", start), ("base+floor", fit_linear(start.with_radial_floor(floor), train)),
              ("mf5", fit_linear(start.to_mf(5), train)),
              ("mf5+floor", fit_linear(start.with_radial_floor(floor).to_mf(5), train))]
    saved = HERE / "results" / "ood_quick" / f"models_level{args.level}_{args.train}"
    saved.mkdir(parents=True, exist_ok=True)
    for name, pot in models:   # trained once; rerunning the script reuses the saved models
        path = saved / f"{name.replace('+', '_')}.mtp"
        t0 = time.perf_counter()
        if not path.exists():
            train_bfgs(pot, Loss(pot, train, n_threads=1), max_iter=args.iterations).potential.save(path, mlip_compatible=False)
        trained = Potential.load(path)
        variants = [(name, trained)]
        if trained.radial_floor is not None:   # the ZBL core added afterwards: it leaves the training cells alone
            variants += [(f"{name}+core@{f:g}floor", trained.with_repulsive_core(f * floor, width=0.5))
                         for f in args.core_at]
        for label, pot_v in variants:
            e_in, e_out = (errors(pot_v, data, by_group=False)["all"] for data in (train, test))
            lines.append(f"{label:24} train E {e_in['energy_meV_per_atom']['rmse']:.1f} F {e_in['forces_meV_per_A']['rmse']:.0f}"
                         f" | short-contact test E {e_out['energy_meV_per_atom']['rmse']:.1f} "
                         f"F {e_out['forces_meV_per_A']['rmse']:.0f} ({time.perf_counter() - t0:.0f} s)")
            print(lines[-1], flush=True)
    out = HERE / "results" / "ood_quick" / f"level{args.level}_{args.train}cells.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
