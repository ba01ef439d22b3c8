"""Time of one loss + gradient pass over the whole NbMoTaW training set (90% of
../shared/data/nbmotaw/train.xyz, the study's split), level 16, energies and forces weighted;
threads, or MPI ranks (data parallel), or both.

    python examples/benchmarks/bench_loss_nbmotaw.py --threads 2
    mpirun -np 2 python examples/benchmarks/bench_loss_nbmotaw.py --threads 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ase.io
import numpy as np

from mtp_lowrank import Potential
from mtp_lowrank.training import Loss
from mtp_lowrank.training.distributed import is_root, world


def main():
    here = Path(__file__).resolve()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(here.parents[3] / "shared" / "data" / "nbmotaw" / "train.xyz"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    comm = world()
    images = ase.io.read(args.data, ":")
    order = np.random.default_rng(0).permutation(len(images))
    train = [images[k] for k in order[len(images) // 10:]]
    pot = Potential.from_level(16, ["Nb", "Mo", "Ta", "W"], min_dist=2.0, max_dist=5.0, seed=0)
    loss = Loss(pot, train, energy_weight=1.0, force_weight=0.01, n_threads=args.threads, comm=comm)
    times = []
    for _ in range(args.repeats):
        if comm is not None:
            comm.Barrier()
        t0 = time.perf_counter()
        res = loss.evaluate(pot)
        times.append(time.perf_counter() - t0)
    n_atoms = int(loss.n_atoms.sum())
    if is_root(comm):
        ranks = 1 if comm is None else comm.Get_size()
        print(f"{len(train)} configurations, {n_atoms} atoms; {ranks} rank(s) x {args.threads} thread(s): "
              f"loss+gradient median {np.median(times):.2f} s, best {min(times):.2f} s "
              f"({np.median(times) / n_atoms * 1e6:.1f} us/atom); loss {res['loss']:.12e}")


if __name__ == "__main__":
    main()
