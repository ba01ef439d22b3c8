"""Does the mixing rule (loss.radial_mixing with model.radial_floor: mixed) make short
cross-species contacts extrapolate better, and what does it cost in the data? Quick models on
a subset of the NbMoTaW training split, each kind trained with floors 'data' (the default:
cross pairs continue linearly below 2.7 A) and with the mixing rule at several strengths;
scored on the validation split (in the data) and against SNAP on binary cells with one cross
pair pushed to 2.2 and 2.45 A (ood_snap_proxy.py: no DFT exists there).

    python examples/training/ood_mixing.py [--level 12] [--train 1000] [--iterations 300]
        [--kinds mf base] [--strengths 0 1e-4 1e-3 1e-2]

Trained models are kept in results/ood_mixing/models_l<L>_<N>/ and reused, so the script
resumes model by model. Output: results/ood_mixing/l<L>_<N>cells.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SPECIES = ["Nb", "Mo", "Ta", "W"]
LOSS = {"energy_weight": 1.0, "force_weight": 0.01, "stress_weight": 0.0, "energy_per_atom": True,
        "stress": "virial_per_atom", "config_weight_key": "weight", "group_weights": None, "radial_smoothness": 0.0}


def start_model(kind: str, level: int, floors: str, train):
    """A new model of `kind` (mf: rank 5) with the given floors, linear parameters fitted."""
    from mtp_lowrank import Potential
    from mtp_lowrank.training import fit_linear
    from mtp_lowrank.training.run import radial_floors

    pot = Potential.from_level(level, SPECIES, 2.0, 5.0, seed=0)
    pot = pot.with_radial_floor(radial_floors({"radial_floor": floors, "radial_floor_margin": 0.0}, pot, train, SPECIES))
    return fit_linear(pot.to_mf(5) if kind == "mf" else pot, train)


def trained(kind: str, strength: float, args, train, saved: Path, threads: int):
    from mtp_lowrank import Potential
    from mtp_lowrank.training import train_bfgs
    from mtp_lowrank.training.run import training_loss

    path = saved / f"{kind}_mix{strength:g}.mtp"
    if not path.exists():
        pot = start_model(kind, args.level, "mixed" if strength else "data", train)
        loss = training_loss(dict(LOSS, radial_mixing=strength), pot, train, threads)
        train_bfgs(pot, loss, max_iter=args.iterations).potential.save(path, mlip_compatible=False)
    return Potential.load(path, species=SPECIES)


def main():
    from mtp_lowrank.training import errors
    from ood_snap_proxy import proxy_errors, snap_oracle

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", type=int, default=12)
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--kinds", nargs="+", default=["mf", "base"], choices=("mf", "base"))
    ap.add_argument("--strengths", type=float, nargs="+", default=[0.0, 1e-5, 1e-4, 1e-3, 1e-2])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--distances", type=float, nargs="+", default=[2.2, 2.45])
    args = ap.parse_args()
    oracle = snap_oracle(args.distances)
    import ase.io

    from mtp_lowrank.training import split

    train_all, val = split(ase.io.read(HERE.parents[2] / "shared" / "data" / "nbmotaw" / "train.xyz", ":"), 0.1, 0)
    train = [train_all[k] for k in np.random.default_rng(0).choice(len(train_all), args.train, replace=False)]
    out = HERE / "results" / "ood_mixing"
    saved = out / f"models_l{args.level}_{args.train}"
    saved.mkdir(parents=True, exist_ok=True)
    lines = [f"# Mixing rule vs linear floors: level {args.level}, {args.train} training cells, "
             f"{args.iterations} BFGS iterations (w_f 0.01, uniform weights)", "",
             "strength 0: floors 'data' (the default); above 0: floors 'mixed' and loss.radial_mixing at that strength. "
             "Validation: the 528 cells of the study's split. Pushed: errors vs SNAP on 100 binary cells with one "
             "cross pair at the distance (energy change on pushing, meV/atom; forces, meV/Å).", "",
             "| kind | strength | E val | F val | " + " | ".join(f"dE {d:g} Å | F {d:g} Å" for d in args.distances) + " |",
             "|---|---|---|---|" + "---|---|" * len(args.distances)]
    for kind in args.kinds:
        for strength in args.strengths:
            t0 = time.perf_counter()
            pot = trained(kind, strength, args, train, saved, args.threads)
            v = errors(pot, val, by_group=False)["all"]
            scores = proxy_errors(pot, oracle)
            lines.append(f"| {kind} | {strength:g} | {v['energy_meV_per_atom']['rmse']:.2f} | "
                         f"{v['forces_meV_per_A']['rmse']:.1f} | " +
                         " | ".join(f"{scores[d][0]:.1f} | {scores[d][1]:.0f}" for d in args.distances) + " |")
            print(lines[-1], f"({time.perf_counter() - t0:.0f} s)", flush=True)
            (out / f"l{args.level}_{args.train}cells.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
