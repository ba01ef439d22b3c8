"""A proxy for the kind of structure the held-out test has and train.xyz lacks: binary cells
with a cross-species contact far shorter than any in the data (2.2-2.5 A; >= 2.7 A in
train.xyz). There is no DFT for them, so the published SNAP, fitted to the same DFT data and
known to stay within a few meV/atom there, is the oracle: each model's energy change on
pushing the pair together is compared with SNAP's, and its forces with SNAP's forces.

    python examples/training/ood_snap_proxy.py RUN_OR_MTP [...] [--cells 100]

For every potential given (a run directory's best_validation.mtp or an .mtp file) it scores
the potential as stored and with radial-floor variants: none; 'data' (each pair's shortest
distance in the training split); 'like' (cross pairs take the mean of their two species' own
floors, so their radial functions follow the polynomial down to the like-pair contacts the
data does have). Output: results/ood_snap_proxy.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SPECIES = ["Nb", "Mo", "Ta", "W"]


def pushed_pairs(cells, distance: float, rng):
    """Copies of the cells with one random atom and its nearest different-species neighbour
    moved symmetrically along their bond to `distance`."""
    from ase.neighborlist import neighbor_list

    out = []
    for atoms in cells:
        i, j, d, vec = neighbor_list("ijdD", atoms, 4.0)
        cross = np.flatnonzero(atoms.numbers[i] != atoms.numbers[j])
        if not len(cross):
            continue
        k = cross[rng.integers(len(cross))]
        k = cross[np.argmin(np.where(i[cross] == i[k], d[cross], np.inf))]   # nearest cross neighbour of i[k]
        a = atoms.copy()
        shift = 0.5 * (d[k] - distance) * vec[k] / d[k]
        a.positions[i[k]] += shift
        a.positions[j[k]] -= shift
        a.info["pushed"] = (int(i[k]), int(j[k]), float(distance))
        out.append(a)
    return out


def floor_variants(pot, train, data=None):
    """pot with each floor variant (module docstring); data: the 'data' floors of train, if
    already computed (they cost a neighbour list over every training cell)."""
    from mtp_lowrank.training.run import radial_floors

    if data is None:
        data = radial_floors({"radial_floor": "data", "radial_floor_margin": 0.0}, pot, train, SPECIES)
    own = np.diag(data)
    like = np.where(np.eye(4, dtype=bool), data, 0.5 * (own[:, None] + own[None, :]))
    return {"as stored": pot, "no floors": pot.with_radial_floor([]), "floors: data": pot.with_radial_floor(data),
            "floors: like": pot.with_radial_floor(like)}


def snap_oracle(distances, n_cells: int = 100) -> dict:
    """n_cells binary validation cells (seed 0), the same cells with one cross pair pushed to each
    distance (seed 1), and SNAP's energies (with the per-element offsets of the study) and forces
    on all of them: what proxy_errors scores a potential against (e0_snap, f0_snap: on the cells
    as they are)."""
    import ase.io

    from mtp_lowrank.training import split
    from snap_reference import snap_with_study_offsets

    shared = HERE.parents[2] / "shared" / "data" / "nbmotaw"
    train, val = split(ase.io.read(shared / "train.xyz", ":"), 0.1, 0)
    rng = np.random.default_rng(0)
    binaries = [a for a in val if str(a.info.get("group", "")).endswith("_SS")]
    base = [binaries[k] for k in rng.choice(len(binaries), min(n_cells, len(binaries)), replace=False)]
    e0_snap, f0_snap = snap_with_study_offsets(base, shared)
    pushed = {d: pushed_pairs(base, d, np.random.default_rng(1)) for d in distances}
    snap = {d: snap_with_study_offsets(cells, shared) for d, cells in pushed.items()}
    return {"train": train, "base": base, "pushed": pushed, "snap": snap, "e0_snap": e0_snap, "f0_snap": f0_snap}


def proxy_errors(pot, oracle: dict) -> dict:
    """{distance: (energy-change RMSE meV/atom, force RMSE meV/A)} of `pot` against SNAP."""
    base = oracle["base"]
    n_atoms = np.array([len(a) for a in base], float)
    e0 = np.array([pot.evaluate(a, forces=False)["energy"] for a in base])
    out = {}
    for d, cells in oracle["pushed"].items():
        res = [pot.evaluate(a) for a in cells]
        e_snap, f_snap = oracle["snap"][d]
        de = ((np.array([r["energy"] for r in res]) - e0) - (e_snap - oracle["e0_snap"])) / n_atoms
        df = np.concatenate([(r["forces"] - f).ravel() for r, f in zip(res, f_snap)])
        out[d] = (float(np.sqrt(np.mean(de**2)) * 1e3), float(np.sqrt(np.mean(df**2)) * 1e3))
    return out


def main():
    from mtp_lowrank import Potential

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("potentials", nargs="+")
    ap.add_argument("--cells", type=int, default=100)
    ap.add_argument("--distances", type=float, nargs="+", default=[2.2, 2.45])
    args = ap.parse_args()
    oracle = snap_oracle(args.distances, args.cells)
    lines = ["# Short cross-species contacts, SNAP as the oracle", "",
             f"{len(oracle['base'])} binary (*_SS) validation cells; in each, one atom and its nearest different-species "
             "neighbour pushed together along their bond. Errors vs SNAP: energy change on pushing (meV/atom), "
             "forces on the pushed cells (meV/A).", ""]
    header = "| potential | variant | " + " | ".join(f"dE {d:g} A | F {d:g} A" for d in args.distances) + " |"
    lines += [header, "|---|---|" + "---|---|" * len(args.distances)]
    for spec in args.potentials:
        path = Path(spec)
        path = path / "best_validation.mtp" if path.is_dir() else path
        for variant, pot in floor_variants(Potential.load(path, species=SPECIES), oracle["train"]).items():
            scores = proxy_errors(pot, oracle)
            lines.append(f"| {path.parent.name}/{path.name} | {variant} | " +
                         " | ".join(f"{scores[d][0]:.1f} | {scores[d][1]:.0f}" for d in args.distances) + " |")
            print(lines[-1], flush=True)
    (HERE / "results" / "ood_snap_proxy.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
