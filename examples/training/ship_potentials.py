"""Ship the study's level-16 potentials: for each kind (base, mf, rmf, mfra, tf) one run is
copied to
results/potentials/<kind>.mtp with its species recorded and radial floors at the training
split's shortest pair distances (a run trained without floors gets them added: they change
nothing on the training data and keep the radial functions from swinging below it), and
results/potentials/README.md gets the table of validation errors. Which run: the goal is to be
at or below the published SNAP in energy and force RMSE, in the data and outside it. So among
the runs at or below SNAP on the validation split in both (max(E/E_SNAP, F/F_SNAP) <= 1), the
one closest to SNAP outside the data (ood_score): on equiatomic quaternary cells from SNAP
dynamics at 300-2500 K (ood_quaternary_proxy.py: train.xyz has no quaternary cell and no
cross-species contact below 2.7 A, as the held-out test's unseen kind has) and on binary cells
with one cross pair pushed to 2.2 A (ood_snap_proxy.py), the worse of the two, each as
max(E/6.6, F/250): energy and force RMSE from SNAP in units of SNAP's own RMSE from DFT on that
unseen kind. If no run is at or below SNAP on validation, the one with the smallest
max(E/E_SNAP, F/F_SNAP). Each shipped run keeps its floors, or gets cross-pair floors at the
mean of its like pairs' where that is closer to SNAP by the same measure (closest_floors: the
training cells never reach either, so the fit is untouched).

    python examples/training/ship_potentials.py [--kinds base mf rmf mfra tf]

Candidates are every run directory under results/study/runs/l16 named <kind>_* (with the kind at
another rank, <kind>_r<rank>_*, if its radial parameters are 40-60% of the base's): finished runs
give potential.mtp, unfinished ones their best validation iterate so far (best_validation.mtp).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SPECIES = ["Nb", "Mo", "Ta", "W"]
LABEL = {"base": "base", "mf": "MF", "rmf": "R-MF", "mfra": "MFRA", "tf": "TF"}
PUSHED = (2.2, 2.45)   # cross-pair distances of the binary out-of-domain proxy (A)
UNSEEN_SNAP = (6.6, 250.0)   # SNAP's RMSE from DFT on the held-out test's unseen kind (issue 9): meV/atom, meV/A


SHIPPED_FRACTION = (0.4, 0.6)   # a compressed file's radial parameters, as a fraction of the base's


def candidates(runs: Path, kind: str):
    """(run directory, its potential) of every run of `kind` under `runs`, the kind at another
    rank included (mf_r4_*, tf_r5_*; near_half decides whether it may ship)."""
    from model_kinds import family
    from study_report import model_of

    for d in sorted(runs.glob(f"{kind}_*")):
        if family(model_of(d.name)) != kind:
            continue
        for name in ("potential.mtp", "best_validation.mtp"):
            if (d / name).exists():
                yield d, d / name
                break


def near_half(kind: str, pot) -> bool:
    """Whether a run's potential may ship as `kind`: the base always; a compressed kind when the
    radial parameters its training moves are within SHIPPED_FRACTION of the full C's
    N_T^2 N_f N_b (the issue asks for ~50%: MF r 5, R-MF r 6, TF (4, 4, 8) or (4, 5, 5) at level
    16; not the MF r 4 at 37.5%)."""
    from study_report import trained_radial_parameters

    if kind == "base":
        return True
    full = pot.n_species ** 2 * pot.radial_funcs_count * pot.radial_basis_size
    moved = trained_radial_parameters(kind, pot.parameter_count("radial"), pot.ranks)
    return SHIPPED_FRACTION[0] <= moved / full <= SHIPPED_FRACTION[1]


def iteration_of(run: Path) -> int:
    last = 0
    if (run / "metrics.jsonl").exists():
        for line in (run / "metrics.jsonl").read_text().splitlines():
            last = max(last, json.loads(line).get("iteration", 0))
    return last


def ood_score(quaternary: dict, pushed: dict) -> float:
    """How far a potential is from SNAP outside the data, in units of SNAP's own RMSE from DFT
    on the held-out test's unseen kind (UNSEEN_SNAP): max(E / 6.6, F / 250) on the quaternary
    snapshots (ood_quaternary_proxy.errors_vs_snap, all temperatures) and on the binary cells
    with a cross pair pushed to 2.2 A (ood_snap_proxy.proxy_errors), whichever is worse: a model
    close to SNAP on one and exploding on the other is not robust."""
    e_q, _, f_q = quaternary["all"]
    e_b, f_b = pushed[2.2]
    return max(e_q / UNSEEN_SNAP[0], f_q / UNSEEN_SNAP[1], e_b / UNSEEN_SNAP[0], f_b / UNSEEN_SNAP[1])


def closest_floors(pot, oracle, snapshots, train, data_floors):
    """(variant, potential, binary proxy errors, quaternary errors) of the floor variant closest
    to SNAP outside the data (ood_score): the floors the run trained with, or
    cross-pair floors lowered to the mean of the two species' own (ood_snap_proxy.floor_variants
    'floors: like'). Both leave every training cell alone (the floors differ only below the
    cross pairs' shortest distance in the data)."""
    from ood_quaternary_proxy import errors_vs_snap
    from ood_snap_proxy import floor_variants, proxy_errors

    variants = floor_variants(pot, train, data_floors)
    options = [("as trained", pot), ("like-pair floors for cross pairs", variants["floors: like"])]
    scored = [(name, p, proxy_errors(p, oracle), errors_vs_snap(p, snapshots)) for name, p in options]
    return min(scored, key=lambda v: ood_score(v[3], v[2]))


def main():
    import ase.io

    from mtp_lowrank import Potential
    from mtp_lowrank.training import errors, split
    from mtp_lowrank.training.run import radial_floors
    from ood_quaternary_proxy import make_snapshots
    from ood_snap_proxy import snap_oracle
    from study_report import trained_radial_parameters

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinds", nargs="+", default=list(LABEL), choices=list(LABEL))
    args = ap.parse_args()
    shared = HERE.parents[2] / "shared" / "data" / "nbmotaw"
    train, val = split(ase.io.read(shared / "train.xyz", ":"), 0.1, 0)
    snap = json.loads((HERE / "results" / "study" / "snap_validation.json").read_text())
    e_snap, f_snap = snap["energy_rmse_meV_per_atom"], snap["force_rmse_meV_per_A"]
    out = HERE / "results" / "potentials"
    out.mkdir(parents=True, exist_ok=True)
    shipped_file = out / "shipped.json"
    shipped = json.loads(shipped_file.read_text()) if shipped_file.exists() else {}
    floors = None
    oracle = snapshots = None
    for kind in args.kinds:
        scored = []
        for run, path in candidates(HERE / "results" / "study" / "runs" / "l16", kind):
            pot = Potential.load(path, species=SPECIES)
            if not near_half(kind, pot):
                print(f"{kind}: {run.name} skipped: {pot.parameter_count('radial')} radial parameters, not ~50%", flush=True)
                continue
            if floors is None:   # the training split's floors, once
                floors = radial_floors({"radial_floor": "data", "radial_floor_margin": 0.0}, pot, train, SPECIES)
            if pot.radial_floor is None:
                pot = pot.with_radial_floor(floors)
            e = errors(pot, val)
            score = max(e["all"]["energy_meV_per_atom"]["rmse"] / e_snap, e["all"]["forces_meV_per_A"]["rmse"] / f_snap)
            print(f"{kind}: {run.name} E {e['all']['energy_meV_per_atom']['rmse']:.2f} "
                  f"F {e['all']['forces_meV_per_A']['rmse']:.1f} (x SNAP {score:.2f})", flush=True)
            scored.append((score, run, path, pot, e))
        if not scored:
            print(f"{kind}: no run yet", flush=True)
            continue
        oracle = oracle or snap_oracle(PUSHED)
        snapshots = snapshots or make_snapshots()
        eligible = [c for c in scored if c[0] <= 1.0]
        proxies, quaternary, floors_used = {}, {}, {}   # per run: its proxy errors, (floor variant, potential)
        for c in eligible or [min(scored, key=lambda c: c[0])]:
            variant, pot_v, proxies[c[1]], quaternary[c[1]] = closest_floors(c[3], oracle, snapshots, train, floors)
            floors_used[c[1]] = (variant, pot_v)
            q = quaternary[c[1]]["all"]
            print(f"{kind}: {c[1].name} ({variant}) vs SNAP: quaternary E {q[0]:.1f} F {q[2]:.0f} "
                  f"(x SNAP on the unseen kind {ood_score(quaternary[c[1]], proxies[c[1]]):.2f}); "
                  f"binary at 2.2 A dE {proxies[c[1]][2.2][0]:.1f}", flush=True)
        score, run, path, pot, e = min(eligible, key=lambda c: ood_score(quaternary[c[1]], proxies[c[1]])) if eligible else \
            min(scored, key=lambda c: c[0])
        if floors_used[run][0] != "as trained":   # other floors below the data: validation errors re-measured
            pot = floors_used[run][1]
            e = errors(pot, val)
        pot.save(out / f"{kind}.mtp", mlip_compatible=False)
        shipped[kind] = {"run": str(run.relative_to(HERE)), "file": path.name, "iteration": iteration_of(run),
                         "finished": (run / "report.json").exists(),
                         "radial_parameters": trained_radial_parameters(kind, pot.parameter_count("radial"), pot.ranks),
                         "energy_meV_per_atom": e["all"]["energy_meV_per_atom"]["rmse"],
                         "forces_meV_per_A": e["all"]["forces_meV_per_A"]["rmse"],
                         "pushed": {f"{d:g}": list(v) for d, v in proxies[run].items()}, "floors": floors_used[run][0],
                         "quaternary": {t: list(v) for t, v in quaternary[run].items()},
                         "groups": {g: v["energy_meV_per_atom"]["rmse"] for g, v in e["groups"].items()}}
    shipped_file.write_text(json.dumps(shipped, indent=1))
    write_readme(out, shipped, snap)


def write_readme(out: Path, shipped: dict, snap: dict) -> None:
    lines = ["# Level-16 Nb-Mo-Ta-W MTPs from the study", "",
             "Written by `python examples/training/ship_potentials.py` from the study's runs "
             "(`examples/training/nbmotaw_study.py`). Validation split: 10% of "
             "`../shared/data/nbmotaw/train.xyz` (seed 0, 528 configurations), never trained on. "
             "SNAP: the published potential on the same cells (energies after per-element offsets "
             "fitted on the training split). Every file names its species (Nb Mo Ta W) and carries "
             "radial floors (`radial_floor`, our extension): `pair_coeff * * base.mtp Nb Mo Ta W`. "
             "How they were made, what holds of the paper's claims, and how they behave outside the data: "
             "`../study/findings.md`. Which run of each kind ships: among the runs at or below SNAP on the "
             "validation split in both energy and force, the one closest to SNAP outside the data: on equiatomic "
             "quaternary cells and on binary cells with a cross pair pushed to 2.2 A (columns 'quaternary' and '2.2 A'), "
             "the worse of the two as max(E/6.6, F/250), SNAP's own RMSE from DFT on the held-out test's unseen kind "
             "as the unit; if none is, the one with the smallest max(E/E_SNAP, F/F_SNAP). Each keeps the floors it "
             "trained with, or gets cross-pair floors at the mean of its like pairs' (column 'floors') where that is "
             "closer to SNAP there: no training cell comes that close, so the fit is the same. Unfinished runs "
             "were stopped at a checkpoint and continue with `python examples/training/nbmotaw_study.py --continue` "
             "and the options their directory names (`--pipeline` or `--recipe` for those).", "",
             "Column 'quaternary vs SNAP': 120 snapshots of random equiatomic 128-atom bcc cells under SNAP NPT "
             "dynamics at 300, 1500 and 2500 K (train.xyz has no quaternary cell; the hottest bring cross-species "
             "contacts down to 2.24 A; `ood_quaternary_proxy.py`), RMS difference from SNAP of the energy (meV/atom) "
             "and forces (meV/A). Columns 'vs SNAP at 2.2 / 2.45 A': 100 binary validation cells with one cross-species pair pushed to "
             "that distance (train.xyz has none below 2.7 A; `ood_snap_proxy.py`), RMS difference from SNAP of the "
             "energy change on pushing (meV/atom) and of the forces (meV/A): SNAP is the oracle there, not DFT. "
             "Radial params: those the training moves; for the R-MF the dimension of the rank-r manifold, "
             "r (m + n - r), r^2 fewer than its file's r (m + n) factor entries. A TF whose outer TT ranks are N_T "
             "and N_b, as the (4, 4, 8) here, is exactly an MF of its middle rank with N_T^2 + N_b^2 redundant "
             "parameters (`../study/findings.md` section 10; its file's count is given).", "",
             "| file | model | radial params | from run | iteration | finished | E val (meV/atom) | F val (meV/A) | "
             "quaternary vs SNAP: E / F | vs SNAP at 2.2 A: dE / F | at 2.45 A: dE / F | floors |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind, s in shipped.items():
        pushed = [" / ".join(f"{v:.0f}" if k else f"{v:.1f}" for k, v in enumerate(s["pushed"][d])) if "pushed" in s
                  else "-" for d in ("2.2", "2.45")]
        quaternary = f"{s['quaternary']['all'][0]:.1f} / {s['quaternary']['all'][2]:.0f}" if "quaternary" in s else "-"
        lines.append(f"| {kind}.mtp | {LABEL[kind]} | {s['radial_parameters']} | `{s['run']}` | {s['iteration']} | "
                     f"{'yes' if s['finished'] else 'no'} | {s['energy_meV_per_atom']:.2f} | {s['forces_meV_per_A']:.1f} | "
                     f"{quaternary} | {pushed[0]} | {pushed[1]} | {s.get('floors', 'as trained')} |")
    lines.append(f"| - | published SNAP | - | - | - | - | {snap['energy_rmse_meV_per_atom']:.2f} | "
                 f"{snap['force_rmse_meV_per_A']:.1f} | 0 | 0 | 0 | - |")
    groups = sorted(snap["groups"])
    lines += ["", "Energy RMSE by group (meV/atom):", "",
              "| group | " + " | ".join(shipped) + " | SNAP |", "|---|" + "---|" * (len(shipped) + 1)]
    for g in groups:
        lines.append(f"| {g} | " + " | ".join(f"{s['groups'].get(g, float('nan')):.1f}" for s in shipped.values())
                     + f" | {snap['groups'][g]['energy_rmse_meV_per_atom']:.1f} |")
    (out / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
