"""Do extrapolation grades flag the configurations a model gets wrong? Offline, on the
Nb-Mo-Ta-W data: a trained study potential, its configuration-mode active set from its own
training split, and the grades and errors of (a) the validation split (same kinds of cells),
(b) the short-contact cells (any pair < 2.35 A: AIMD snapshots the 'short' split holds out),
(c) binary cells with a cross-species pair pushed to 2.2 A (the kind of structure the data lacks;
SNAP as the oracle, examples/training/ood_snap_proxy.py). Reports the grade distribution of each
set and the rank correlation between grade and energy error.

    python examples/active/offline_grades.py RUN_DIR [--cells 150]

Output: results/offline_grades_<run>.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "training"))
SPECIES = ["Nb", "Mo", "Ta", "W"]


def energy_errors(pot, images, reference=None):
    """|E - E_ref| per atom (meV/atom); reference: per-configuration reference energies."""
    e = np.array([pot.evaluate(a, forces=False)["energy"] for a in images])
    ref = np.array([a.get_potential_energy() for a in images]) if reference is None else reference
    return np.abs(e - ref) / np.array([len(a) for a in images]) * 1e3


def main():
    import ase.io
    from ase.neighborlist import neighbor_list
    from scipy.stats import spearmanr

    from mtp_lowrank import Potential
    from mtp_lowrank.active import ActiveSet
    from mtp_lowrank.training import split
    from ood_snap_proxy import pushed_pairs
    from snap_reference import ORDER, element_counts, snap_predictions

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--cells", type=int, default=150)
    args = ap.parse_args()
    run = Path(args.run).resolve()
    pot_file = next(run / f for f in ("potential.mtp", "best_validation.mtp") if (run / f).exists())
    pot = Potential.load(pot_file, species=SPECIES)
    shared = HERE.parents[2] / "shared" / "data" / "nbmotaw"
    train, val = split(ase.io.read(shared / "train.xyz", ":"), 0.1, 0)
    rng = np.random.default_rng(0)
    active = ActiveSet.fit(pot, train)
    sets = {}
    sub = [val[k] for k in rng.choice(len(val), min(args.cells, len(val)), replace=False)]
    sets["validation (same kinds)"] = (sub, energy_errors(pot, sub))
    short = [a for a in val + train if len(neighbor_list("d", a, 2.35))]
    short = [short[k] for k in rng.choice(len(short), min(args.cells, len(short)), replace=False)]
    sets["cells with a pair < 2.35 A (in training too)"] = (short, energy_errors(pot, short))
    binaries = [a for a in val if str(a.info.get("group", "")).endswith("_SS")]
    base = [binaries[k] for k in rng.choice(len(binaries), min(args.cells, len(binaries)), replace=False)]
    pushed = pushed_pairs(base, 2.2, np.random.default_rng(1))
    offsets = json.loads((HERE.parent / "training" / "results" / "study" / "snap_validation.json").read_text())["offsets_eV"]
    off = np.array([offsets[s] for s in ORDER])
    e_snap, _ = snap_predictions(pushed, shared)
    sets["binary cells, a cross pair pushed to 2.2 A (vs SNAP)"] = (pushed, energy_errors(pot, pushed, e_snap + element_counts(pushed) @ off))
    lines = [f"# Extrapolation grades vs errors: `{pot_file.relative_to(HERE.parents[1])}`", "",
             f"Configuration-mode active set of {len(active.sources)} of the {len(train)} training configurations "
             f"({active.directions.shape[1]} independent parameter directions).", "",
             "| set | cells | grade median | grade 90% | max | share > 2 | E error median (meV/atom) | E error 90% | Spearman(grade, error) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, (images, err) in sets.items():
        g = active.grades(images)
        rho = spearmanr(g, err).statistic if len(images) > 2 else float("nan")
        lines.append(f"| {name} | {len(images)} | {np.median(g):.2f} | {np.quantile(g, 0.9):.2f} | {g.max():.3g} | "
                     f"{np.mean(g > 2):.0%} | {np.median(err):.1f} | {np.quantile(err, 0.9):.1f} | {rho:.2f} |")
        print(lines[-1], flush=True)
    out = HERE / "results" / f"offline_grades_{run.name}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
