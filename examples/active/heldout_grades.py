"""Grades against errors for a kind of structure held out of training (Nb-Mo-Ta-W, real DFT
labels): the models of examples/training/ood_quick.py were trained on 1000 cells in which no
pair comes closer than 2.35 A; the 151 cells with a shorter contact (AIMD snapshots) were held
out as a whole. For each model: its configuration-mode active set from its own training cells,
then grade and DFT error of (a) kept cells it never saw (same kind as training) and (b) the
held-out short-contact cells. Do the grades separate the held-out kind, and do they rank its
errors?

    python examples/training/ood_quick.py          # trains the models once (minutes)
    python examples/active/heldout_grades.py [--level 12] [--train 1000] [--cells 150]

Output: results/heldout_grades_level<L>_<N>.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPECIES = ["Nb", "Mo", "Ta", "W"]
MODELS = ("base", "base_floor", "mf5", "mf5_floor")


def held_out_split(images, train_count: int):
    """(train, kept_unseen, held_out) exactly as ood_quick.py draws them (seed 0)."""
    from ase.neighborlist import neighbor_list

    short = {k for k, a in enumerate(images) if len(neighbor_list("d", a, 2.35))}
    kept = [a for k, a in enumerate(images) if k not in short]
    chosen = np.random.default_rng(0).choice(len(kept), train_count, replace=False)
    unseen = [kept[k] for k in np.setdiff1d(np.arange(len(kept)), chosen)]
    return [kept[k] for k in chosen], unseen, [images[k] for k in sorted(short)]


def errors_per_cell(pot, images) -> tuple[np.ndarray, np.ndarray]:
    """(|E - E_DFT| in meV/atom, force RMSE in meV/A) of each cell."""
    e, f = [], []
    for a in images:
        res = pot.evaluate(a)
        e.append(abs(res["energy"] - a.get_potential_energy()) / len(a) * 1e3)
        f.append(np.sqrt(np.mean((res["forces"] - a.get_forces()) ** 2)) * 1e3)
    return np.array(e), np.array(f)


def row(name: str, grades: np.ndarray, e_err: np.ndarray, f_err: np.ndarray) -> str:
    from scipy.stats import spearmanr

    rho_e, rho_f = spearmanr(grades, e_err).statistic, spearmanr(grades, f_err).statistic
    return (f"| {name} | {len(grades)} | {np.median(grades):.2f} | {np.quantile(grades, 0.9):.2f} | {grades.max():.3g} | "
            f"{np.mean(grades > 2):.0%} | {np.median(e_err):.1f} | {np.median(f_err):.0f} | {np.quantile(f_err, 0.9):.0f} | "
            f"{rho_e:.2f} | {rho_f:.2f} |")


def main():
    import ase.io

    from mtp_lowrank import Potential
    from mtp_lowrank.active import ActiveSet

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(HERE.parents[2] / "shared" / "data" / "nbmotaw" / "train.xyz"))
    ap.add_argument("--level", type=int, default=12)
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--cells", type=int, default=150, help="unseen kept cells scored (seeded draw)")
    args = ap.parse_args()
    models = HERE.parent / "training" / "results" / "ood_quick" / f"models_level{args.level}_{args.train}"
    if not all((models / f"{m}.mtp").exists() for m in MODELS):
        raise SystemExit(f"{models}: trained models missing; run examples/training/ood_quick.py "
                         f"--level {args.level} --train {args.train} first")
    train, unseen, held = held_out_split(ase.io.read(args.data, ":"), args.train)
    unseen = [unseen[k] for k in np.random.default_rng(1).choice(len(unseen), min(args.cells, len(unseen)), replace=False)]
    lines = [f"# Grades vs DFT errors for a held-out kind of structure (level {args.level})", "",
             f"Models of `examples/training/ood_quick.py`: trained on {len(train)} Nb-Mo-Ta-W cells with no pair closer "
             f"than 2.35 A; the {len(held)} cells with a shorter contact were held out as a whole. Configuration-mode "
             "active set of each model from its own training cells. Errors against the DFT energies.", "",
             "| model / set | cells | grade median | grade 90% | max | share > 2 | E error median (meV/atom) | "
             "F RMSE median (meV/A) | F RMSE 90% | Spearman(grade, E error) | Spearman(grade, F RMSE) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in MODELS:
        pot = Potential.load(models / f"{name}.mtp", species=SPECIES)
        active = ActiveSet.fit(pot, train)
        for label, images in (("unseen cells of the trained kind", unseen), ("held-out short-contact cells", held)):
            lines.append(row(f"{name}: {label}", active.grades(images), *errors_per_cell(pot, images)))
            print(lines[-1], flush=True)
    out = HERE / "results" / f"heldout_grades_level{args.level}_{args.train}.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
