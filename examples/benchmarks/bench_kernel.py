"""Kernel speed: microseconds per atom for energy + forces + stress on the shared 1512-ion
FLiNaK-like cell with the shared level-16, 4-species timing MTP, for full / mf / tt radial
coefficients on 1 and 2 threads. The neighbour list is rebuilt in every call (included).

    python examples/benchmarks/bench_kernel.py [--shared ../shared] [--repeats 5]

Reference on these machines (../shared/bench/README.md): native LAMMPS `pair_style mtp`
(MLIP-style kernel) 60 us/atom/step, motep cext 58.5 us/atom, MLIP-3 CalcEFS 88 us/atom.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mtp_lowrank import Potential, read_cfg


def main():
    here = Path(__file__).resolve()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(here.parents[3] / "shared"))
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--mf-rank", type=int, default=5)
    ap.add_argument("--tt-ranks", type=int, nargs=3, default=(4, 8, 4))
    args = ap.parse_args()
    bench = Path(args.shared) / "bench"
    species = ["Li", "Na", "K", "F"]
    full = Potential.load(bench / "flinak_l16_timing.mtp", species=species)
    atoms = read_cfg(bench / "flinak_1512.cfg", species=species)[0]
    n = len(atoms)
    pots = {"full": full, "mf": full.to_mf(args.mf_rank), "tt": full.to_tt(args.tt_ranks)}
    ev0 = full.evaluator(1)
    full.evaluate(atoms, evaluator=ev0)
    offsets, _, _ = ev0.neighbor_list()
    print(f"{n} atoms, {np.diff(offsets).mean():.1f} neighbours/atom within {full.max_dist} A, "
          f"level {full.level}, {full.n_basis_functions} basis functions")
    print(f"{'format':6} {'radial params':>13} {'threads':>7} {'us/atom median':>15} {'best':>7}")
    results = {}
    for threads in (1, 2):
        evs = {name: pot.evaluator(threads) for name, pot in pots.items()}
        times = {name: [] for name in pots}
        for name, pot in pots.items():
            pot.evaluate(atoms, evaluator=evs[name])  # warm-up: buffers grow once
        # Interleave the formats round by round so that machine noise hits all of them alike.
        for _ in range(args.repeats):
            for name, pot in pots.items():
                t0 = time.perf_counter()
                pot.evaluate(atoms, evaluator=evs[name])
                times[name].append(time.perf_counter() - t0)
        for name, pot in pots.items():
            med, best = np.median(times[name]) / n * 1e6, np.min(times[name]) / n * 1e6
            results[(name, threads)] = med
            print(f"{name:6} {pot.parameter_count():13d} {threads:7d} {med:15.2f} {best:7.2f}")
    for threads in (1, 2):
        base = results[("full", threads)]
        rel = ", ".join(f"{k} {100 * (results[(k, threads)] / base - 1):+.1f}%" for k in ("mf", "tt"))
        print(f"{threads} thread(s), medians relative to full: {rel}")
    print("(energy + forces + virial per call, neighbour list rebuilt each call; 1 thread target <= 15)")


if __name__ == "__main__":
    main()
