"""Where an MTP's NPT density error comes from: its pressure against the teacher's (a) on the
teacher's own snapshots at fixed density, (b) along the MTP's own NVT trajectory at that
density (LAMMPS thermo pressure against the snapshots' mean), and (c) on configurations the
MTP samples, labelled by the teacher.

    python examples/flinak/pressure_check.py examples/flinak/potentials/base.mtp --condition melt_T1000_d1

Needs the study's labelled data (flinak_study.py --stages configs label). Pressures in GPa
(configurational part, i.e. without the kinetic N k T / V, unless said).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SPECIES = ["Li", "Na", "K", "F"]
EV_A3_TO_GPA = 160.21766


def pressure(stress) -> float:
    """Pressure (GPa) of an ASE-convention stress (6 Voigt or 3x3, eV/A^3)."""
    s = np.asarray(stress)
    return float(-(np.trace(s) if s.ndim == 2 else s[:3].sum()) / 3 * EV_A3_TO_GPA)


def nvt(pot: Path, start, temperature: float, ps: float, work: Path, every: int = 500):
    """MTP NVT from `start`: (mean thermo pressure in GPa over the second half, dumped frames)."""
    import ase.io

    from npt import mass_commands

    ase.io.write(work / "start.data", start, format="lammps-data", specorder=SPECIES, atom_style="atomic")
    masses = mass_commands(SPECIES)
    steps = int(ps * 1000)
    (work / "in.lmp").write_text(f"""units metal
atom_style atomic
read_data start.data
{masses}
pair_style mtp/lowrank
pair_coeff * * {pot.resolve()} {' '.join(SPECIES)}
velocity all create {temperature} 7 mom yes rot yes
fix 1 all nvt temp {temperature} {temperature} 0.1
timestep 0.001
thermo 100
thermo_style custom step temp press
dump d all custom {every} traj.dump id element x y z
dump_modify d sort id element {' '.join(SPECIES)}
run {steps}
""")
    out = subprocess.run([str(Path(sys.executable).parent / "lmp"), "-in", "in.lmp", "-log", "none"], cwd=work,
                         capture_output=True, text=True, check=True).stdout
    rows = np.array([[float(x) for x in l.split()] for l in out.splitlines()
                     if len(l.split()) == 3 and l.split()[0].isdigit()])
    press = rows[len(rows) // 2:, 2] * 1e-4   # bar -> GPa
    frames = ase.io.read(work / "traj.dump", ":", format="lammps-dump-text")
    for f in frames:
        f.pbc = True
    return float(press.mean()), frames[len(frames) // 2:]


def main():
    import ase.io

    from mtp_lowrank import Potential
    from mtp_lowrank.lammps_plugin import load_lammps_mpi

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("potential")
    ap.add_argument("--condition", default="melt_T1000_d1")
    ap.add_argument("--data", default=str(HERE / "results" / "data" / "labelled"))
    ap.add_argument("--ps", type=float, default=20.0)
    args = ap.parse_args()
    pot = Potential.load(args.potential)
    snaps = ase.io.read(Path(args.data) / f"{args.condition}.xyz", ":")
    temperature = float(snaps[0].info["temperature"])
    kinetic = len(snaps[0]) * 8.617333e-5 * temperature / snaps[0].get_volume() * EV_A3_TO_GPA
    p_teacher = np.array([pressure(a.get_stress()) for a in snaps])
    p_model = np.array([pressure(pot.evaluate(a)["stress"]) for a in snaps])
    d = p_model - p_teacher
    print(f"{args.condition}: {len(snaps)} teacher snapshots of {len(snaps[0])} ions; kinetic pressure {kinetic:.4f} GPa")
    print(f"(a) on teacher snapshots: teacher {p_teacher.mean():+.4f}, model - teacher {d.mean():+.4f} "
          f"+- {d.std() / np.sqrt(len(d)):.4f} GPa")
    work = Path(tempfile.mkdtemp(prefix="pcheck-"))
    p_nvt, frames = nvt(Path(args.potential), snaps[-1], temperature, args.ps, work)
    print(f"(b) MTP NVT {args.ps:g} ps at that density: total pressure {p_nvt:+.4f} GPa; teacher snapshots' total "
          f"{p_teacher.mean() + kinetic:+.4f} GPa")
    load_lammps_mpi()
    from teacher import teacher_calculator

    calc = teacher_calculator()
    pt, pm = [], []
    for f in frames:
        f.calc = calc
        pt.append(pressure(f.get_stress()))
        pm.append(pressure(pot.evaluate(f)["stress"]))
    d = np.array(pm) - np.array(pt)
    print(f"(c) on {len(frames)} MTP-sampled configurations: teacher {np.mean(pt):+.4f}, model - teacher "
          f"{d.mean():+.4f} +- {d.std() / np.sqrt(len(d)):.4f} GPa")


if __name__ == "__main__":
    main()
