"""LAMMPS speed: us/atom/step (from LAMMPS' loop time) of pair_style mtp/lowrank on the shared
1512-ion FLiNaK cell with the shared level-16 timing MTP stored full / mf / tt, on 1 and 2 MPI
ranks; in the same run the published linear SNAP for Nb-Mo-Ta-W (../shared/data/nbmotaw) on a
bcc Nb-Mo-Ta-W cell of 1458 atoms, next to a level-16 MTP on that same cell.

    python examples/benchmarks/bench_lammps.py [--shared ../shared] [--steps 300]

Reference (../shared/bench/README.md): native LAMMPS `pair_style mtp` 60 us/atom/step on 1 rank,
30.6 on 2 ranks, for the FLiNaK case.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase.build import bulk

from mtp_lowrank import Potential
from mtp_lowrank.lammps_plugin import plugin_path

BIN = Path(sys.executable).parent


def lammps(workdir, script, nprocs):
    (Path(workdir) / "in.lmp").write_text(script)
    cmd = [str(BIN / "lmp"), "-in", "in.lmp", "-log", "none"]
    if nprocs > 1:
        cmd = [str(BIN / "mpirun"), "-np", str(nprocs)] + cmd
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    if out.returncode:
        raise RuntimeError(out.stdout[-2000:] + out.stderr[-2000:])
    m = re.search(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms", out.stdout)
    loop, steps, atoms = float(m.group(1)), int(m.group(3)), int(m.group(4))
    return loop / steps / atoms * 1e6


def md_script(data, pair_lines, masses, steps, temperature):
    return f"""units metal
atom_style atomic
read_data {data}
{masses}
{pair_lines}
velocity all create {temperature} 12345 mom yes rot yes
fix nve all nve
timestep 0.001
thermo {steps}
run {steps}
"""


def bench_arguments(doc: str, steps: int):
    """--shared (the benchmark inputs, default ../shared beside the checkout) and --steps."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[3] / "shared"))
    ap.add_argument("--steps", type=int, default=steps)
    return ap.parse_args()


def main():
    args = bench_arguments(__doc__, 300)
    shared = Path(args.shared)
    work = Path(tempfile.mkdtemp(prefix="mtp-bench-"))
    species = ["Li", "Na", "K", "F"]
    full = Potential.load(shared / "bench" / "flinak_l16_timing.mtp", species=species)
    pots = {"full": full, "mf": full.to_mf(5), "tt": full.to_tt((4, 8, 4))}
    masses = "mass 1 6.94\nmass 2 22.99\nmass 3 39.098\nmass 4 18.998"
    load = f"plugin load {plugin_path()}\n"
    rows = []
    for name, pot in pots.items():
        pot.save(work / f"{name}.mtp", mlip_compatible=False)
        pair = f"pair_style mtp/lowrank\npair_coeff * * {name}.mtp Li Na K F"
        for ranks in (1, 2):
            us = lammps(work, load + md_script(shared / "bench" / "flinak_1512.data", pair, masses, args.steps, 300), ranks)
            rows.append((f"FLiNaK 1512, MTP L16 {name} ({pot.parameter_count()} radial)", ranks, us))
    # Nb-Mo-Ta-W bcc cell: the published SNAP and a level-16 MTP of the same size
    cell = bulk("W", "bcc", a=3.2, cubic=True).repeat((9, 9, 9))
    rng = np.random.default_rng(0)
    cell.set_chemical_symbols(rng.choice(["Ta", "W", "Nb", "Mo"], len(cell)))
    import ase.io

    ase.io.write(work / "nbmotaw.data", cell, format="lammps-data", specorder=["Ta", "W", "Nb", "Mo"], atom_style="atomic")
    m4 = "mass 1 180.95\nmass 2 183.84\nmass 3 92.906\nmass 4 95.95"
    snapdir = shared / "data" / "nbmotaw"
    snap = (f"pair_style snap\npair_coeff * * {snapdir / 'Ta-W-Nb-Mo.snapcoeff'} "
            f"{snapdir / 'Ta-W-Nb-Mo.snapparam'} Ta W Nb Mo")
    # the timing MTP's coefficients relabelled for the four metals (speed only, not physics)
    Potential.load(shared / "bench" / "flinak_l16_timing.mtp", species=["Ta", "W", "Nb", "Mo"]).save(
        work / "nbmotaw.mtp", mlip_compatible=False)
    mtp = "pair_style mtp/lowrank\npair_coeff * * nbmotaw.mtp Ta W Nb Mo"
    for ranks in (1, 2):
        rows.append(("NbMoTaW 1458, SNAP (published)", ranks,
                     lammps(work, md_script("nbmotaw.data", snap, m4, max(args.steps // 5, 20), 300), ranks)))
        rows.append(("NbMoTaW 1458, MTP L16 full", ranks,
                     lammps(work, load + md_script("nbmotaw.data", mtp, m4, args.steps, 300), ranks)))
    print(f"{'system / potential':48} {'ranks':>5} {'us/atom/step':>13}")
    for label, ranks, us in rows:
        print(f"{label:48} {ranks:5d} {us:13.2f}")
    print(f"(LAMMPS loop time per atom and step; {args.steps} NVE steps, SNAP {max(args.steps // 5, 20)})")


if __name__ == "__main__":
    main()
