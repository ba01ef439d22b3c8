"""The paper's comparison on real DFT data: level-16 MTPs for Nb-Mo-Ta-W trained as base (full C),
MF, R-MF, MFRA and TF, the compressed ones at about 50% of the base radial parameters, on
../shared/data/nbmotaw/train.xyz with 10% held out; prints validation RMSEs and wall-clock.

    python examples/training/nbmotaw_study.py --max-iter 2000            # the study (hours)
    python examples/training/nbmotaw_study.py --subset 100 --max-iter 3  # smoke run

Ranks (N_T = 4, N_f = 4, N_b = 8; base 512 radial parameters):
  MF r = 5: 5 (16 + 32) = 240 (47%);  R-MF r = 6: manifold dimension 6 (48 - 6) = 252 (49%);
  MFRA r: 1 -> 5 (240);  TF (4, 6, 4): 4*4 + 4*4*6 + 6*4*4 + 4*8 = 240 (47%).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import ase.io
import numpy as np

from mtp_lowrank import Potential
from mtp_lowrank.training import (Loss, errors, fit_linear, rmf_parameter_count, train_bfgs, train_mfra,
                                  train_rmf)

SPECIES = ["Nb", "Mo", "Ta", "W"]


def main():
    here = Path(__file__).resolve()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(here.parents[3] / "shared" / "data" / "nbmotaw" / "train.xyz"))
    ap.add_argument("--level", type=int, default=16)
    ap.add_argument("--max-iter", type=int, default=2000)
    ap.add_argument("--subset", type=int, default=0, help="use only the first N configurations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--models", nargs="+", default=["base", "MF", "R-MF", "MFRA", "TF"])
    ap.add_argument("--mfra-every", type=int, default=80, help="MFRA: BFGS iterations between rank augmentations")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--out", default="nbmotaw_study")
    ap.add_argument("--continue-from", default=None,
                    help="directory of an earlier run: continue each model from its saved potential "
                         "(curvature estimate restarted; MFRA continues at its final rank as MF) and "
                         "report cumulative iterations and time")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)

    images = ase.io.read(args.data, ":")
    if args.subset:
        images = images[: args.subset]
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(images))
    n_val = max(1, len(images) // 10)
    val = [images[k] for k in order[:n_val]]
    train = [images[k] for k in order[n_val:]]
    n_atoms = sum(len(a) for a in train)
    print(f"{len(train)} training / {len(val)} validation configurations, {n_atoms} training atoms")

    base = Potential.from_level(args.level, SPECIES, min_dist=2.0, max_dist=5.0, seed=args.seed)
    base = fit_linear(base, train)
    weights = dict(energy_weight=1.0, force_weight=0.01, stress_weight=0.0)
    loss = Loss(base, train, n_threads=args.threads, **weights)

    # cost of one pass over the training set, and its ratio to energies + forces (both on one
    # thread, so that the ratio compares work, not parallel schemes)
    one = loss.for_template(base)
    one.n_threads = 1
    t0 = time.perf_counter()
    one.evaluate(base)
    t_lg = time.perf_counter() - t0
    ev = base.evaluator(1)
    t0 = time.perf_counter()
    for a in train:
        base.evaluate(a, evaluator=ev)
    t_ef = time.perf_counter() - t0
    print(f"one loss+gradient pass (1 thread): {t_lg:.2f} s ({t_lg / n_atoms * 1e6:.1f} us/atom); "
          f"energy+forces pass: {t_ef:.2f} s; ratio {t_lg / t_ef:.2f}")

    m, n = 16, base.radial_funcs_count * base.radial_basis_size
    full_count = base.parameter_count()
    rows = []
    for name in args.models:
        t0 = time.perf_counter()
        earlier = None
        if args.continue_from:
            prev = Path(args.continue_from)
            rows_before = [json.loads(l) for l in (prev / "results.jsonl").read_text().splitlines()]
            earlier = next(r for r in reversed(rows_before) if r["model"] == name)
            start = Potential.load(prev / f"{name}.mtp")

        def progress(rec, name=name, t0=t0):
            if rec["iteration"] % args.log_every == 0:
                print(f"  {name} iter {rec['iteration']:5d} loss {rec['loss']:.6e} "
                      f"{time.perf_counter() - t0:8.1f} s", flush=True)
        if earlier is not None:
            if name == "R-MF":
                res = train_rmf(start, loss.for_template(start), max_iter=args.max_iter, callback=progress)
            else:
                res = train_bfgs(start, loss.for_template(start), max_iter=args.max_iter, callback=progress)
            count = earlier["radial_params"]
        elif name == "base":
            res = train_bfgs(base, loss, max_iter=args.max_iter, callback=progress)
            count = full_count
        elif name == "MF":
            start = fit_linear(base.to_mf(5), train)
            res = train_bfgs(start, loss.for_template(start), max_iter=args.max_iter, callback=progress)
            count = start.parameter_count()
        elif name == "R-MF":
            start = fit_linear(base.to_mf(6), train)
            res = train_rmf(start, loss, max_iter=args.max_iter, callback=progress)
            count = rmf_parameter_count(m, n, 6)
        elif name == "MFRA":
            res = train_mfra(base, loss, r_max=5, delta_r=1, s=args.mfra_every, max_iter=args.max_iter,
                             seed=args.seed, callback=progress)
            count = res.potential.parameter_count()
        elif name == "TF":
            start = fit_linear(base.to_tt((4, 6, 4)), train)
            res = train_bfgs(start, loss.for_template(start), max_iter=args.max_iter, callback=progress)
            count = start.parameter_count()
        else:
            raise SystemExit(f"unknown model {name}")
        seconds = time.perf_counter() - t0 + (earlier["seconds"] if earlier else 0.0)
        iterations = res.iterations + (earlier["iterations"] if earlier else 0)
        err = errors(res.potential, val, by_group=False)["all"]
        res.potential.save(out / f"{name}.mtp", mlip_compatible=False)
        row = {"model": name, "format": res.potential.format, "ranks": list(res.potential.ranks),
               "radial_params": count, "percent_of_base": 100 * count / full_count,
               "iterations": iterations, "train_loss": res.loss,
               "val_energy_rmse_meV_atom": err["energy_meV_per_atom"]["rmse"],
               "val_force_rmse_meV_A": err["forces_meV_per_A"]["rmse"], "seconds": seconds}
        rows.append(row)
        (out / "results.jsonl").open("a").write(json.dumps(row) + "\n")
        print(f"{name:5} {str(row['ranks']):12} radial {count:4d} ({row['percent_of_base']:4.0f}%) "
              f"iters {iterations:5d}  E {row['val_energy_rmse_meV_atom']:8.2f} meV/atom  "
              f"F {row['val_force_rmse_meV_A']:8.1f} meV/A  {seconds:8.1f} s", flush=True)


if __name__ == "__main__":
    main()
