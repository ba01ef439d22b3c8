"""Training-loss cost: time of one loss + gradient pass (energies, forces and stresses weighted
1 / 0.01 / 0.001) over the shared training workload (20 configurations x 128 ions), and its
ratio to one energy + forces pass over the same configurations, for levels 10..20 (random
potentials of each level on the same data; the level-16 file for level 16).

    python examples/benchmarks/bench_loss.py [--shared ../shared] [--threads 1]

Reference (../shared/bench/README.md): MLIP-3 loss + gradient 1.29 s = 502 us/atom;
motep cext loss + jacobian 15.7 s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mtp_lowrank import Potential, read_cfg
from mtp_lowrank.training import Loss


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(np.min(times))


def main():
    here = Path(__file__).resolve()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(here.parents[3] / "shared"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    bench = Path(args.shared) / "bench"
    species = ["Li", "Na", "K", "F"]
    images = read_cfg(bench / "train_20x128.cfg", species=species)
    n_atoms = sum(len(a) for a in images)
    print(f"{len(images)} configurations, {n_atoms} atoms, {args.threads} thread(s)")
    print(f"{'level':>5} {'params':>7} {'E+F ms':>8} {'loss+grad ms':>13} {'us/atom':>8} {'ratio':>6}")
    for level in (10, 12, 14, 16, 18, 20):
        if level == 16:
            pot = Potential.load(bench / "flinak_l16_timing.mtp", species=species)
        else:
            pot = Potential.from_level(level, species, min_dist=1.5, max_dist=5.0, seed=level)
            rng = np.random.default_rng(level)
            pot = pot.replace(moment_coeffs=rng.normal(size=pot.n_basis_functions) * 1e-3)
        loss = Loss(pot, images, energy_weight=1.0, force_weight=0.01, stress_weight=0.001,
                    n_threads=args.threads)
        evs = pot.evaluator(args.threads)
        ef = lambda: [pot.evaluate(a, evaluator=evs) for a in images]
        lg = lambda: loss.evaluate(pot)
        ef(), lg()
        t_ef, _ = best_of(ef, args.repeats)
        t_lg, _ = best_of(lg, args.repeats)
        print(f"{level:5d} {pot.parameter_count('all'):7d} {t_ef * 1e3:8.1f} {t_lg * 1e3:13.1f} "
              f"{t_lg / n_atoms * 1e6:8.1f} {t_lg / t_ef:6.2f}")


if __name__ == "__main__":
    main()
