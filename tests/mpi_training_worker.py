"""Run under `mpirun -np K`: loss, gradient, linear fit and a few BFGS steps on a small
data set with the configurations distributed over ranks; rank 0 saves the results (npz) for
tests/test_training_distributed.py to compare with one process."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mtp_lowrank.training import Loss, fit_linear, train_bfgs  # noqa: E402
from mtp_lowrank.training.distributed import world  # noqa: E402

from mpi_training_data import FORMATS, problem  # noqa: E402


def results(comm):
    out = {}
    for fmt in FORMATS:
        pot, images, weights = problem(fmt)
        loss = Loss(pot, images, n_threads=1, comm=comm, **weights)
        res = loss.evaluate(pot)
        out[f"{fmt}_loss"] = np.array([res["loss"]])
        out[f"{fmt}_grad"] = res["grad"]
        out[f"{fmt}_terms"] = res["loss_terms"]
        out[f"{fmt}_sub"] = np.array([loss.evaluate(pot, gradient=False, subset=[5, 0, 3])["loss"]])
        # the coefficients of this small, underdetermined fit move with the summation order; its
        # energies (in the row space) do not
        fitted = fit_linear(pot, images, comm=comm)
        out[f"{fmt}_linear"] = np.array([fitted.evaluate(a)["energy"] for a in images])
        out[f"{fmt}_bfgs"] = train_bfgs(pot, loss, max_iter=3).potential.parameter_vector()
    return out


if __name__ == "__main__":
    comm = world()
    size = 1 if comm is None else comm.Get_size()
    out = results(comm)
    if comm is None or comm.Get_rank() == 0:
        np.savez(sys.argv[1], size=size, **out)
