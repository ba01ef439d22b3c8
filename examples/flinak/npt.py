"""NPT density runs in LAMMPS (the `lmp` of this environment, which loads pair_style
mtp/lowrank by itself): the 1512-ion eutectic cell, 1 bar, 1 fs steps, Nose-Hoover
thermostat and barostat (0.1 ps, 1 ps), equilibration then production; the density as the
mean over production with a block-averaging error bar; at the RDF temperature also the partial
radial distribution functions. The same protocol runs an MTP (`pair_style mtp/lowrank`) or the
teacher (`born/coul/long` + pppm, teacher.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from ase.data import atomic_masses, atomic_numbers

from configurations import SPECIES, random_rocksalt, teacher_density
from teacher import lammps_commands

NPT_SHAPE = (14, 18, 6)     # 1512 ions
RDF_PAIRS = [("Li", "F"), ("Na", "F"), ("K", "F"), ("F", "F"), ("Li", "Li"), ("K", "K")]


def write_start(path: Path, temperature: float, seed: int, charges: bool) -> None:
    """The starting cell: random rock salt at the teacher's melt density at this temperature."""
    import ase.io

    atoms = random_rocksalt(NPT_SHAPE, teacher_density(temperature), np.random.default_rng(seed))
    if charges:
        atoms.set_initial_charges([1.0 if s != "F" else -1.0 for s in atoms.get_chemical_symbols()])
    ase.io.write(path, atoms, format="lammps-data", specorder=list(SPECIES),
                 atom_style="charge" if charges else "atomic")


def mass_commands(species=SPECIES) -> str:
    """LAMMPS `mass` commands for atom types 1.. = species."""
    return "\n".join(f"mass {k} {atomic_masses[atomic_numbers[s]]}" for k, s in enumerate(species, 1))


def script(potential: str | None, temperature: float, equilibrate_ps: float, produce_ps: float, seed: int,
           rdf: bool) -> str:
    """potential: an MTP file, or None for the teacher."""
    masses = mass_commands()
    if potential is None:
        head = "atom_style charge\nread_data start.data\n" + masses + "\n" + "\n".join(lammps_commands(SPECIES))
    else:
        head = (f"atom_style atomic\nread_data start.data\n{masses}\npair_style mtp/lowrank\n"
                f"pair_coeff * * {potential} {' '.join(SPECIES)}")
    n_eq, n_prod = int(round(equilibrate_ps * 1000)), int(round(produce_ps * 1000))
    t = {s: k for k, s in enumerate(SPECIES, 1)}
    rdf_cmds = ""
    if rdf:
        pairs = " ".join(f"{t[a]} {t[b]}" for a, b in RDF_PAIRS)
        rdf_cmds = (f"compute rdf all rdf 200 {pairs} cutoff 8.0\n"
                    f"fix rdf all ave/time 100 {max(n_prod // 100, 1)} {n_prod} c_rdf[*] file rdf.txt mode vector\n")
    return f"""units metal
boundary p p p
{head}
neighbor 2.0 bin
neigh_modify every 1 delay 0 check yes
comm_modify cutoff 10.5
timestep 0.001
velocity all create {temperature} {seed} mom yes rot yes dist gaussian
fix npt all npt temp {temperature} {temperature} 0.1 iso 1.0 1.0 1.0
thermo_style custom step time temp press density vol pe
thermo 1000
run {n_eq}
reset_timestep 0
{rdf_cmds}fix dens all print 10 "$(step) $(density:%.8f) $(temp:%.3f) $(pe:%.8f)" file density.txt screen no
run {n_prod}
print "NPT DONE"
"""


def run_npt(workdir: Path, potential: str | None, temperature: float, equilibrate_ps: float, produce_ps: float,
            seed: int = 1, rdf: bool = False, nprocs: int = 1) -> dict:
    """Runs (or, if density.txt is complete, reuses) one NPT run in `workdir`; returns the
    density summary (g/cm^3) and the run's wall time."""
    workdir.mkdir(parents=True, exist_ok=True)
    done = workdir / "summary.json"
    if done.exists():
        import json

        return json.loads(done.read_text())
    if potential is not None:
        potential = str(Path(potential).resolve())
    write_start(workdir / "start.data", temperature, seed, charges=potential is None)
    (workdir / "in.npt").write_text(script(potential, temperature, equilibrate_ps, produce_ps, seed, rdf))
    lmp = Path(sys.executable).parent / "lmp"
    cmd = [str(lmp), "-in", "in.npt", "-log", "log.lammps"]
    if nprocs > 1:
        cmd = [str(Path(sys.executable).parent / "mpirun"), "-np", str(nprocs)] + cmd
    import time

    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    seconds = time.perf_counter() - t0
    text = proc.stdout + proc.stderr
    failed = proc.returncode != 0 or "NPT DONE" not in text
    summary = {"temperature": temperature, "potential": potential or "teacher", "seconds": seconds,
               "equilibrate_ps": equilibrate_ps, "produce_ps": produce_ps, "failed": failed}
    if failed:
        summary["error"] = text[-1500:]
    else:
        summary.update(density_summary(np.loadtxt(workdir / "density.txt", comments="#", ndmin=2)))
    import json

    done.write_text(json.dumps(summary, indent=1))
    return summary


def density_summary(rows: np.ndarray, n_blocks: int = 10) -> dict:
    """Mean density over production and its standard error from n_blocks block means (blocks of
    several ps are longer than the density's correlation time in these melts)."""
    rho = rows[:, 1]
    blocks = np.array_split(rho, n_blocks)
    means = np.array([b.mean() for b in blocks])
    return {"density": float(rho.mean()), "density_error": float(means.std(ddof=1) / np.sqrt(n_blocks)),
            "density_min": float(rho.min()), "density_max": float(rho.max()),
            "temperature_mean": float(rows[:, 2].mean()), "samples": int(len(rho))}


def read_rdf(path: Path) -> dict:
    """{(a, b): (r, g)} from fix ave/time's rdf.txt (the last block: the production average)."""
    lines = [l for l in Path(path).read_text().splitlines() if l and not l.startswith("#")]
    n = int(lines[0].split()[1])
    rows = np.array([[float(x) for x in l.split()] for l in lines[-n:]])
    return {pair: (rows[:, 1], rows[:, 2 + 2 * k]) for k, pair in enumerate(RDF_PAIRS)}
