"""Cost of the extrapolation grade in LAMMPS (`pair_style mtp/lowrank extrapolation FILE ...`):
us/atom/step of NVE on the shared 1512-ion FLiNaK cell with the shared level-16 timing MTP
(full and MF rank 5), grading off, and grading every step or every 10th in configuration mode
(one dE/dtheta per configuration) and neighbourhood mode (a grade for every atom, read by
`fix pair ... grade 1`), with the overhead as a ratio to "off" measured in the same run.

    python examples/benchmarks/bench_extrapolation.py [--shared ../shared] [--steps 200]

The active sets are fitted to rattled and strained copies of the cell (the cost depends only on
the active set's size, not on which rows it holds). Thresholds are set out of reach, so every
run does the same MD.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lammps import bench_arguments, lammps, md_script  # noqa: E402

from mtp_lowrank import Potential  # noqa: E402
from mtp_lowrank.active import ActiveSet, ParameterCoordinates  # noqa: E402
from mtp_lowrank.lammps_plugin import plugin_path  # noqa: E402

SPECIES = ["Li", "Na", "K", "F"]
MASSES = "mass 1 6.94\nmass 2 22.99\nmass 3 39.098\nmass 4 18.998"


def distorted_copies(atoms, count: int, seed: int = 0):
    """Copies of `atoms` rattled by 0.05-0.15 A and strained by up to 4% (one cell each)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        a = atoms.copy()
        a.set_cell(a.cell.array @ (np.eye(3) + rng.uniform(-0.04, 0.04, (3, 3))), scale_atoms=True)
        a.positions += rng.normal(scale=rng.uniform(0.05, 0.15), size=a.positions.shape)
        out.append(a)
    return out


def active_set_files(pot: Potential, cell, work: Path, name: str) -> dict:
    """{mode: LAMMPS active-set file} for `pot`."""
    m = ParameterCoordinates(pot).dimension
    files = {}
    for mode, images in (("configuration", distorted_copies(cell, m + 20, seed=1)),
                         ("neighbourhood", distorted_copies(cell, 2, seed=2))):
        active = ActiveSet.fit(pot, images, mode=mode)
        files[mode] = work / f"{name}_{mode}.txt"
        active.save_for_lammps(files[mode])
        print(f"{name}: {mode}-mode active set, {len(active.sources)} rows ({m} parameter coordinates)", flush=True)
    return files


def main():
    args = bench_arguments(__doc__, 200)
    shared = Path(args.shared)
    work = Path(tempfile.mkdtemp(prefix="mtp-bench-grade-"))
    import ase.io

    cell = ase.io.read(shared / "bench" / "flinak_1512.data", format="lammps-data", atom_style="atomic",
                       Z_of_type={1: 3, 2: 11, 3: 19, 4: 9})
    full = Potential.load(shared / "bench" / "flinak_l16_timing.mtp", species=SPECIES)
    data = shared / "bench" / "flinak_1512.data"
    load = f"plugin load {plugin_path()}\n"
    rows = []
    for name, pot in {"full": full, "mf": full.to_mf(5)}.items():
        pot.save(work / f"{name}.mtp", mlip_compatible=False)
        files = active_set_files(pot, cell, work, name)
        coeff = f"pair_coeff * * {name}.mtp {' '.join(SPECIES)}"
        cases = {"off": ("pair_style mtp/lowrank", "")}
        for every in (1, 10):
            cases[f"configuration, every {every}"] = (
                f"pair_style mtp/lowrank extrapolation {files['configuration']} every {every} select 1e300 break 1e300",
                "compute g all pair mtp/lowrank\nthermo_style custom step pe c_g[1]")
            cases[f"neighbourhood per atom, every {every}"] = (
                f"pair_style mtp/lowrank extrapolation {files['neighbourhood']} every {every} select 1e300 break 1e300",
                f"fix g all pair {every} mtp/lowrank grade 1\ncompute gmax all reduce max f_g\n"
                "thermo_style custom step pe c_gmax")
        base = None
        for label, (style, extra) in cases.items():
            script = md_script(data, f"{style}\n{coeff}\n{extra}", MASSES, args.steps, 300)
            us = lammps(work, load + script, 1)
            base = base if base is not None else us
            rows.append((f"{name} ({pot.parameter_count()} radial)", label, us, us / base - 1.0))
            print(f"  {name:4} {label:34} {us:8.2f} us/atom/step  overhead {100 * (us / base - 1):6.1f}%", flush=True)
    print(f"\n{'potential':20} {'grading':34} {'us/atom/step':>13} {'overhead':>9}")
    for pot_label, label, us, over in rows:
        print(f"{pot_label:20} {label:34} {us:13.2f} {100 * over:8.1f}%")
    print(f"({args.steps} NVE steps, 1 rank; overhead relative to 'off' in the same run)")


if __name__ == "__main__":
    main()
