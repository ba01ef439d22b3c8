"""Where an MTP step goes, and how fast it runs: (1) a per-stage breakdown of one atom's
energy+forces in the kernel (SiteEvaluator stages, timed by _core.profile_site on real
neighbourhoods of the shared 1512-ion FLiNaK cell) with the flops each stage does and the rate
it achieves; (2) LAMMPS timings of pair_style mtp/lowrank for levels 10-24 on that cell with
1 and 2 OpenMP threads (package omp), the share LAMMPS spends on neighbour lists, and the
published SNAP on a 1458-atom Nb-Mo-Ta-W cell in the same run (its ratio is what compares).

    python examples/benchmarks/bench_profile.py [--shared ../shared] [--steps 200] [--levels 10 12 16 20 24]

Timings are medians of --repeats runs, 1 and 2 threads interleaved (speed-ups: the median of the
rounds' ratios); compare ratios measured in one run (shared machines).
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

from mtp_lowrank import Potential, read_cfg
from mtp_lowrank.lammps_plugin import plugin_path
from mtp_lowrank.potential import _core

SPECIES = ["Li", "Na", "K", "F"]
STAGES = ["neighbours", "radial basis", "radial functions", "monomials", "basic moments", "program forward",
          "program reverse", "reverse over neighbours", "pair derivatives"]


def on_sphere(a: int, b: int, c: int, memo: dict) -> dict:
    """x^a y^b z^c on the unit sphere as a combination of monomials with c <= 1 (z^2 = 1 - x^2
    - y^2), as the kernel's sphere moments do it (sphere_moments.cpp): {(a, b, c): coefficient}."""
    if c <= 1:
        return {(a, b, c): 1}
    if (a, b, c) not in memo:
        out = dict(on_sphere(a, b, c - 2, memo))
        for lower in (on_sphere(a + 2, b, c - 2, memo), on_sphere(a, b + 2, c - 2, memo)):
            for m, v in lower.items():
                out[m] = out.get(m, 0) - v
        memo[a, b, c] = {m: v for m, v in out.items() if v}
    return memo[a, b, c]


def stage_flops(pot: Potential, n_neigh: float) -> dict:
    """Approximate floating-point operations of each stage for one atom with n_neigh neighbours
    (counted from the loops in site_evaluator.cpp and sphere_moments.cpp, multiply-adds as 2;
    padded lanes ignored): the neighbour loops run over the sphere moments (mu, monomial with
    z-degree <= 1), which the program maps to and from its basic moments once per atom."""
    c = pot._core
    nb, nf = pot.radial_basis_size, pot.radial_funcs_count
    basic = np.asarray(c.alpha_index_basic)
    n_times = len(c.alpha_index_times)
    max_nu = int(basic[:, 1:].sum(axis=1).max())
    memo, sphere, n_expand = {}, set(), 0
    for mu, a, b, cz in basic:
        terms = on_sphere(int(a), int(b), int(cz), memo)
        sphere |= {(int(mu),) + m for m in terms}
        n_expand += len(terms)
    n_sphere, n_mono = len(sphere), (max_nu + 1) ** 2
    n_grad_terms = sum(int(np.count_nonzero(m[1:])) for m in sphere)  # nonzero entries of the monomial gradients
    return {"neighbours": 9 * n_neigh, "radial basis": (4 + 6 * nb) * n_neigh,
            "radial functions": 4 * nb * nf * n_neigh, "monomials": (3 * max_nu + 2 * n_mono) * n_neigh,
            "basic moments": 2 * n_sphere * n_neigh,
            "program forward": 3 * n_times + 2 * pot.n_basis_functions + 2 * n_expand,
            "program reverse": 6 * n_times + 2 * n_expand,
            "reverse over neighbours": 2 * (n_sphere + n_grad_terms) * n_neigh,
            "pair derivatives": (8 * nf + 24) * n_neigh}


def kernel_breakdown(pot: Potential, atoms, sample: int, repeats: int) -> list[tuple]:
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijD", atoms, pot.max_dist)
    types = pot.types_of(atoms)
    seconds = dict.fromkeys(STAGES, 0.0)
    picks = np.random.default_rng(0).choice(len(atoms), sample, replace=False)
    n_neigh = np.mean([np.sum(i == c) for c in picks])
    for c in picks:
        m = i == c
        prof = _core.profile_site(pot._core, int(types[c]), np.ascontiguousarray(d[m]),
                                  np.ascontiguousarray(types[j[m]], dtype=np.int32), repeats)
        for name, s in prof:
            seconds[name] += s / sample
    flops = stage_flops(pot, n_neigh)
    return [(name, seconds[name], flops[name]) for name in STAGES], n_neigh


def lammps_run(work: Path, data: Path, pair: str, masses: str, steps: int, threads: int, plugin: bool = True,
               integrate: bool = True):
    """(us/atom/step from the loop time, % of it in Neigh) of an NVE run (integrate=False: the
    same number of force evaluations on fixed positions, for potentials with random
    coefficients that would not survive MD)."""
    md = "velocity all create 300 12345 mom yes rot yes\nfix nve all nve\n" if integrate else ""
    script = (f"plugin load {plugin_path()}\n" if plugin else "") + (f"package omp {threads}\n" if threads > 1 else "") + \
        f"units metal\natom_style atomic\nread_data {data}\n{masses}\n{pair}\n" \
        f"{md}timestep 0.001\nthermo {steps}\nrun {steps}\n"
    (work / "in.lmp").write_text(script)
    # OMP_NUM_THREADS as well as `package omp`: unset, the OpenMP runtime starts with one thread
    out = subprocess.run([str(Path(sys.executable).parent / "lmp"), "-in", "in.lmp", "-log", "none"], cwd=work,
                         capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if out.returncode:
        raise RuntimeError(out.stdout[-2000:] + out.stderr[-2000:])
    m = re.search(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms", out.stdout)
    neigh = re.search(r"^Neigh\s+\|.*\|\s*([0-9.]+)\s*$", out.stdout, re.M)
    return float(m.group(1)) / int(m.group(2)) / int(m.group(3)) * 1e6, float(neigh.group(1)) if neigh else float("nan")


def interleaved(run, repeats: int) -> tuple[list, list]:
    """run(threads) for 1 and 2 threads, alternating, `repeats` times: ([1-thread results],
    [2-thread results]), so that both see the same machine state round by round."""
    one, two = [], []
    for _ in range(repeats):
        one.append(run(1))
        two.append(run(2))
    return one, two


def speedup(runs: tuple[list, list]) -> float:
    """Median over rounds of (1-thread time / 2-thread time) of interleaved() results."""
    return float(np.median([a[0] / b[0] for a, b in zip(*runs)]))


def main():
    here = Path(__file__).resolve()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(here.parents[3] / "shared"))
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--levels", type=int, nargs="+", default=[10, 12, 16, 20, 24])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sample", type=int, default=40, help="atoms profiled in the kernel breakdown")
    args = ap.parse_args()
    shared = Path(args.shared)
    timing = Potential.load(shared / "bench" / "flinak_l16_timing.mtp", species=SPECIES)
    atoms = read_cfg(shared / "bench" / "flinak_1512.cfg", species=SPECIES)[0]

    rows, n_neigh = kernel_breakdown(timing, atoms, args.sample, 500)
    total_s, total_f = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"Kernel breakdown, level 16 timing MTP, {n_neigh:.1f} neighbours per atom (energy + forces, one atom):")
    print(f"{'stage':26} {'us':>7} {'share':>6} {'kflop':>7} {'Gflop/s':>8}")
    for name, s, f in rows:
        print(f"{name:26} {s * 1e6:7.3f} {100 * s / total_s:5.1f}% {f / 1e3:7.1f} {f / s / 1e9:8.2f}")
    print(f"{'total':26} {total_s * 1e6:7.3f} {100:5.1f}% {total_f / 1e3:7.1f} {total_f / total_s / 1e9:8.2f}")

    work = Path(tempfile.mkdtemp(prefix="mtp-profile-"))
    masses = "mass 1 6.94\nmass 2 22.99\nmass 3 39.098\nmass 4 18.998"
    data = shared / "bench" / "flinak_1512.data"
    rng = np.random.default_rng(1)
    timing.save(work / "timing.mtp", mlip_compatible=False)
    pair = "pair_style mtp/lowrank\npair_coeff * * timing.mtp Li Na K F"
    md = interleaved(lambda t: lammps_run(work, data, pair, masses, args.steps, t), args.repeats)
    m1, m2 = (np.median([r[0] for r in runs]) for runs in md)
    print(f"\nLAMMPS NVE, FLiNaK 1512 ions, level-16 timing MTP, {args.steps} steps, 1 MPI rank (median of {args.repeats}): "
          f"1 thread {m1:.2f}, 2 threads {m2:.2f} us/atom/step (speed-up {speedup(md):.2f}); neighbour lists "
          f"{np.median([r[1] for r in md[0]]):.1f}% of the loop")
    print(f"\nLAMMPS, same cell, {args.steps} force evaluations on fixed positions (random MTPs of each level):")
    print(f"{'level':>5} {'params':>7} {'1 thread':>10} {'2 threads':>10} {'speed-up':>9}")
    for level in args.levels:
        pot = Potential.from_level(level, SPECIES, min_dist=1.5, max_dist=5.0, seed=level)
        pot = pot.replace(species_coeffs=np.zeros(4), moment_coeffs=rng.normal(size=pot.n_basis_functions) * 1e-3)
        pot.save(work / "pot.mtp", mlip_compatible=False)
        pair = "pair_style mtp/lowrank\npair_coeff * * pot.mtp Li Na K F"
        runs = interleaved(lambda t: lammps_run(work, data, pair, masses, args.steps, t, integrate=False), args.repeats)
        t1, t2 = (np.median([r[0] for r in one]) for one in runs)
        print(f"{level:5d} {pot.parameter_count('all'):7d} {t1:10.2f} {t2:10.2f} {speedup(runs):9.2f}")
    snapdir = shared / "data" / "nbmotaw"
    from ase.build import bulk
    import ase.io

    cell = bulk("W", "bcc", a=3.2, cubic=True).repeat((9, 9, 9))
    cell.set_chemical_symbols(np.random.default_rng(0).choice(["Ta", "W", "Nb", "Mo"], len(cell)))
    ase.io.write(work / "nbmotaw.data", cell, format="lammps-data", specorder=["Ta", "W", "Nb", "Mo"], atom_style="atomic")
    m4 = "mass 1 180.95\nmass 2 183.84\nmass 3 92.906\nmass 4 95.95"
    snap = (f"pair_style snap\npair_coeff * * {snapdir / 'Ta-W-Nb-Mo.snapcoeff'} {snapdir / 'Ta-W-Nb-Mo.snapparam'} Ta W Nb Mo")
    s1 = np.median([lammps_run(work, work / "nbmotaw.data", snap, m4, max(args.steps // 5, 20), 1, plugin=False)[0]
                    for _ in range(args.repeats)])
    print(f"\nSNAP (published NbMoTaW), 1458 atoms, NVE, 1 thread: {s1:.2f} us/atom/step; level-16 MTP NVE above: "
          f"{m1:.2f} (SNAP / MTP = {s1 / m1:.1f})")


if __name__ == "__main__":
    main()
