"""FLiNaK NPT densities end to end (the paper's Table III workflow) as one resumable command:

    teacher MD configurations -> labels (any ASE calculator) -> level-16 MTPs (base, MF, R-MF,
    MFRA, TF) -> errors vs MF rank -> LAMMPS NPT at 800/1000/1200 K -> report

    python examples/flinak/flinak_study.py                   # everything still missing, in order
    python examples/flinak/flinak_study.py --stages configs label dataset
    python examples/flinak/flinak_study.py --toy --out /tmp/toy   # tiny version (the CI smoke test)
    python examples/flinak/flinak_study.py --labeller mymodule:make_calculator   # another labeller

Every stage writes its results under OUT (default examples/flinak/results) and skips what is
already there, so a stopped study continues where it stopped (training runs resume from their
checkpoints). Generated data sets are not committed: they are regenerated from the seed, and
OUT/data/dataset.json records their SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "training"))

from model_kinds import KINDS, apply_kind, parse_kind  # noqa: E402

STAGES = ("configs", "label", "dataset", "train", "rankscan", "npt", "stability", "report", "ship")
SHIPPED = ("base", "mf", "tf")   # examples/flinak/potentials/<kind>.mtp


def atomic_write_xyz(path: Path, frames) -> None:
    import ase.io

    tmp = path.with_suffix(".tmp.xyz")
    ase.io.write(tmp, frames, format="extxyz")
    os.replace(tmp, path)


def stage_configs(args, out: Path) -> None:
    from configurations import default_conditions, run_condition

    conds = default_conditions(args.snapshots)
    if args.toy:   # a few conditions of every kind
        conds = conds[::8] + [c for c in conds if c.kind != "melt"][::3]
    folder = out / "data" / "frames"
    folder.mkdir(parents=True, exist_ok=True)
    for k, cond in enumerate(conds):
        path = folder / f"{cond.name}.xyz"
        if path.exists():
            continue
        frames = run_condition(cond, seed=args.seed * 1000 + k, n_side=args.n_side, every=args.every,
                               melt_steps=args.melt_steps, equilibrate_steps=args.equilibrate_steps)
        atomic_write_xyz(path, frames)
        print(f"configs: {cond.name}: {len(frames)} frames of {len(frames[0])} ions", flush=True)


def stage_label(args, out: Path) -> None:
    import ase.io

    from label import label, labeller

    calc = None
    folder = out / "data" / "labelled"
    folder.mkdir(parents=True, exist_ok=True)
    for src in sorted((out / "data" / "frames").glob("*.xyz")):
        path = folder / src.name
        if path.exists() or src.name.endswith(".tmp.xyz"):
            continue
        if calc is None:
            calc, description = labeller(args.labeller)
        atomic_write_xyz(path, label(ase.io.read(src, ":"), calc, description))
        print(f"label: {src.name}", flush=True)


def stage_dataset(args, out: Path) -> None:
    """OUT/data/all.xyz (every labelled frame, file order by condition) and dataset.json with
    counts and SHA-256 checksums."""
    import ase.io

    files = sorted((out / "data" / "labelled").glob("*.xyz"))
    frames = [a for f in files for a in ase.io.read(f, ":")]
    for a in frames:
        a.info["group"] = a.info["kind"]
    path = out / "data" / "all.xyz"
    atomic_write_xyz(path, frames)
    summary = {"configurations": len(frames), "atoms": sum(len(a) for a in frames),
               "files": {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files},
               "all.xyz": hashlib.sha256(path.read_bytes()).hexdigest()}
    (out / "data" / "dataset.json").write_text(json.dumps(summary, indent=1))
    print(f"dataset: {len(frames)} configurations, {summary['atoms']} atoms -> {path}", flush=True)


def train_config(args, out: Path, kind: str) -> dict:
    """Level 16, R_cut 5 A, N_b 8 (the paper's FLiNaK models); radial floors and a ZBL core
    from the data; the compressed kinds at about 50% of the base radial parameters
    (examples/training/model_kinds.py, shared with the NbMoTaW study)."""
    cfg = {
        "data": {"train": str(out / "data" / "all.xyz"), "validation_fraction": 0.1, "seed": args.seed,
                 "species": ["Li", "Na", "K", "F"], "max_configs": args.max_configs},
        "model": {"level": args.level, "min_dist": args.min_dist, "max_dist": 5.0, "radial_basis_size": 8,
                  "seed": args.seed, "radial_floor": "data", "core": "zbl"},
        # virials per atom weigh as much as energies per atom: the NPT density is set by the pressure
        "loss": {"energy_weight": 1.0, "force_weight": 0.01, "stress_weight": 1.0},
        "optimizer": {"method": "bfgs", "max_iter": args.max_iter, "threads": args.threads},
        "output": {"directory": str(out / "runs" / kind), "checkpoint_every": 20, "validation_every": 20},
    }
    if kind != "base" and args.warm_start:   # the trained base, compressed to the kind's ranks
        cfg["model"]["init"] = str(out / "runs" / "base" / "potential.mtp")
    return apply_kind(cfg, kind, args.mfra_every)


def stage_train(args, out: Path) -> None:
    from mtp_lowrank.training.config import validate
    from mtp_lowrank.training.run import run_training

    for kind in args.kinds:
        directory = out / "runs" / kind
        if (directory / "report.json").exists():
            continue
        if kind != "base" and args.warm_start and not (out / "runs" / "base" / "report.json").exists():
            print(f"train: {kind} skipped: it warm-starts from the trained base, which is not finished "
                  "(train base first, or drop --warm-start)", flush=True)
            continue
        resume = str(directory / "checkpoint.mtp") if (directory / "checkpoint.mtp").exists() else None
        print(f"train: {kind} ({'continue' if resume else 'start'})", flush=True)
        report = run_training(validate(train_config(args, out, kind)), resume=resume)
        if report.get("message") == "interrupted":
            raise SystemExit(130)


def stage_rankscan(args, out: Path) -> None:
    """Validation errors vs MF rank (examples/training/rank_scan.py: each rank a new random MF
    trained for --scan-iterations on 150 of the base run's training configurations) into
    OUT/rank_scan.json and OUT/plots/rank_scan.png; resumable rank by rank."""
    from rank_scan import run_scan

    ranks, iterations, subset = ([1, 2, 16], 2, 10) if args.toy else (args.scan_ranks, args.scan_iterations, 150)
    run_scan(out / "runs" / "base", out / "rank_scan.json", ranks, iterations, subset, max(args.threads, 1))


def npt_models(args, out: Path) -> dict:
    """{name: potential file or None (the teacher)} for the NPT stage: trained kinds and the teacher."""
    models = {kind: out / "runs" / kind / "potential.mtp" for kind in args.kinds
              if (out / "runs" / kind / "potential.mtp").exists() and (out / "runs" / kind / "report.json").exists()}
    return {"teacher": None, **models}


def stage_npt(args, out: Path) -> None:
    import npt

    if args.toy:
        npt.NPT_SHAPE = (4, 4, 4)
    for name, pot in npt_models(args, out).items():
        for temperature in args.temperatures:
            res = npt.run_npt(out / "npt" / name / f"T{temperature:g}", None if pot is None else str(pot), temperature,
                              args.equilibrate_ps, args.produce_ps, seed=args.seed + 1,
                              rdf=temperature == args.rdf_temperature, nprocs=args.nprocs)
            what = "FAILED" if res["failed"] else f"{res['density']:.4f} +- {res['density_error']:.4f} g/cm^3"
            print(f"npt: {name} {temperature:g} K: {what} ({res['seconds']:.0f} s)", flush=True)


def stage_stability(args, out: Path) -> None:
    """The acceptance's long run: every trained model (not the teacher) in NPT at the highest
    temperature for --stability-ps of production, in OUT/stability/<kind>/T<K>; a run that loses
    atoms, gives NaN or leaves the density range [0.5, 1.5] x teacher counts as failed."""
    import npt

    if args.toy:
        npt.NPT_SHAPE = (4, 4, 4)
    temperature = max(args.temperatures)
    for name, pot in npt_models(args, out).items():
        if pot is None:
            continue
        res = npt.run_npt(out / "stability" / name / f"T{temperature:g}", str(pot), temperature,
                          args.equilibrate_ps, args.stability_ps, seed=args.seed + 2, nprocs=args.nprocs)
        what = "FAILED" if res["failed"] else \
            f"density {res['density_min']:.4f}..{res['density_max']:.4f} g/cm^3 (mean {res['density']:.4f})"
        print(f"stability: {name} {temperature:g} K, {args.stability_ps:g} ps: {what} ({res['seconds']:.0f} s)",
              flush=True)


def stage_report(args, out: Path) -> None:
    from report import write_report

    write_report(out, args)


def stage_ship(args, out: Path) -> None:
    """Copies the trained base, MF and TF potentials (species named, floors and core inside) to
    --ship-dir with a README of their validation errors and NPT densities (from report.md)."""
    import shutil

    from mtp_lowrank import Potential

    dest = Path(args.ship_dir)
    shipped = []
    for kind in SHIPPED:
        run = out / "runs" / kind
        if not (run / "report.json").exists():
            print(f"ship: {kind} not trained yet", flush=True)
            continue
        pot = Potential.load(run / "potential.mtp")
        if pot.species != ["Li", "Na", "K", "F"]:
            raise SystemExit(f"{run / 'potential.mtp'}: species {pot.species}, expected Li Na K F")
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run / "potential.mtp", dest / f"{kind}.mtp")
        shipped.append(kind)
    if not shipped:
        return
    report = (out / "report.md").read_text() if (out / "report.md").exists() else "(no report yet)"
    table = [l for l in report.splitlines() if l.startswith("|")]
    (dest / "README.md").write_text(
        "# FLiNaK example potentials (level 16, trained on the Tosi-Fumi teacher)\n\n"
        "Eutectic LiF-NaF-KF; species Li Na K F; R_cut 5 A; radial floors and a ZBL core below the "
        "training data's shortest pairs. They reproduce their teacher, a rigid-ion model about 16% less "
        "dense than the real salt, not experiment. Made by `python examples/flinak/flinak_study.py` "
        "(examples/flinak/README.md); the study's report is examples/flinak/results/report.md.\n\n"
        + "\n".join(table) + "\n\n```\nlmp -in examples/lammps/in.flinak_npt -var pot examples/flinak/potentials/mf.mtp\n```\n")
    print(f"ship: {', '.join(shipped)} -> {dest}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), type=parse_kind, metavar="KIND",
                    help=f"model kinds: {' '.join(KINDS)} or mf_r<rank> (MF at another rank, e.g. from the rank scan)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--labeller", default=None, help="module:function returning an ASE calculator (default: the teacher)")
    ap.add_argument("--snapshots", type=int, default=30,
                    help="snapshots per melt condition (30: about 1350 configurations, 290k atoms)")
    ap.add_argument("--n-side", type=int, default=6, help="cells of n_side^3 ions (6: 216)")
    ap.add_argument("--every", type=int, default=100, help="MD steps between snapshots")
    ap.add_argument("--melt-steps", type=int, default=2000)
    ap.add_argument("--equilibrate-steps", type=int, default=3000)
    ap.add_argument("--level", type=int, default=16)
    ap.add_argument("--min-dist", type=float, default=1.2)
    ap.add_argument("--max-iter", type=int, default=1500)
    ap.add_argument("--max-configs", type=int, default=400,
                    help="train on a seeded random subset of this many configurations (10%% of them validate)")
    ap.add_argument("--mfra-every", type=int, default=80)
    ap.add_argument("--warm-start", action="store_true",
                    help="start the compressed kinds from the trained base compressed to their ranks (default: "
                         "random starts, as the paper; on this data the rank-5 compression of the base starts at "
                         "5.7 eV/A force RMSE and BFGS stalls there)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--scan-ranks", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 8, 12, 16],
                    help="MF ranks of the rankscan stage")
    ap.add_argument("--scan-iterations", type=int, default=200, help="BFGS iterations per rank (rankscan)")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[800.0, 1000.0, 1200.0])
    ap.add_argument("--rdf-temperature", type=float, default=1000.0)
    ap.add_argument("--equilibrate-ps", type=float, default=10.0)
    ap.add_argument("--produce-ps", type=float, default=40.0, help="production length (the paper: 200)")
    ap.add_argument("--paper", action="store_true", help="the paper's 200 ps of production")
    ap.add_argument("--stability-ps", type=float, default=200.0,
                    help="production of the stability stage's run at the highest temperature")
    ap.add_argument("--nprocs", type=int, default=1, help="MPI ranks per NPT run")
    ap.add_argument("--ship-dir", default=None,
                    help="where the ship stage puts base/mf/tf.mtp (default examples/flinak/potentials; --toy: OUT/potentials)")
    ap.add_argument("--toy", action="store_true",
                    help="tiny everything (64-ion cells, 2 snapshots per condition, level 6, 5 iterations)")
    args = ap.parse_args()
    if args.toy:
        args.snapshots, args.n_side, args.every, args.melt_steps, args.equilibrate_steps = 3, 4, 20, 100, 100
        args.level, args.max_iter, args.mfra_every = 6, 5, 2
        args.equilibrate_ps, args.produce_ps, args.temperatures, args.rdf_temperature = 0.1, 0.2, [1000.0], 1000.0
        args.stability_ps = 0.2
    if args.paper:
        args.produce_ps = 200.0
    if args.ship_dir is None:
        args.ship_dir = str(Path(args.out) / "potentials" if args.toy else HERE / "potentials")
    out = Path(args.out)
    for stage in STAGES:
        if stage in args.stages:
            globals()[f"stage_{stage}"](args, out)


if __name__ == "__main__":
    main()
