"""Training on what the MTP itself samples: the FLiNaK study's base MTP misses its teacher's
density by 2-3% although it reproduces the teacher's pressure on the teacher's snapshots and on
its own (pressure_check.py), i.e. its dynamics sample configurations the teacher would not.
This adds such configurations to the training data and retrains, as one resumable command:

    MTP NPT on 216-ion cells at each temperature (snapshots) -> labels (the teacher, or any ASE
    calculator) -> the study's training subset + these -> retrain from the MTP -> LAMMPS NPT

    python examples/flinak/resample.py                       # the base of the FLiNaK study
    python examples/flinak/resample.py --kind mf --max-iter 300
    python examples/flinak/resample.py --toy --study /tmp/toy --out /tmp/toy/resample   # CI size

Writes OUT/<kind>/ (default examples/flinak/results/resample): frames/T<K>.xyz (MTP snapshots),
labelled/T<K>.xyz, train.xyz (not committed: regenerated), run/ (the retraining), npt/T<K>/;
every step skips what is already there, training resumes from its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def sample_script(potential: Path, temperature: float, equilibrate_ps: float, produce_ps: float, every_ps: float,
                  seed: int) -> str:
    """LAMMPS NPT with the MTP on start.data; snapshots with element names into dump.txt."""
    from configurations import SPECIES
    from npt import mass_commands

    every = int(round(every_ps * 1000))
    return f"""units metal
boundary p p p
atom_style atomic
read_data start.data
{mass_commands()}
pair_style mtp/lowrank
pair_coeff * * {potential} {' '.join(SPECIES)}
neighbor 2.0 bin
timestep 0.001
velocity all create {temperature} {seed} mom yes rot yes dist gaussian
fix npt all npt temp {temperature} {temperature} 0.1 iso 1.0 1.0 1.0
thermo 1000
run {int(round(equilibrate_ps * 1000))}
dump snap all custom {every} dump.txt id element x y z
dump_modify snap element {' '.join(SPECIES)} sort id
run {int(round(produce_ps * 1000))}
print "SAMPLE DONE"
"""


def sample(potential: Path, temperature: float, workdir: Path, args) -> list:
    """Snapshots of the MTP's own NPT run at `temperature` (216 ions at the teacher's density to start)."""
    import ase.io

    from npt import write_start

    workdir.mkdir(parents=True, exist_ok=True)
    import npt

    shape = npt.NPT_SHAPE
    npt.NPT_SHAPE = (args.n_side,) * 3
    try:
        write_start(workdir / "start.data", temperature, args.seed, charges=False)
    finally:
        npt.NPT_SHAPE = shape
    (workdir / "in.sample").write_text(sample_script(potential.resolve(), temperature, args.equilibrate_ps,
                                                     args.produce_ps, args.every_ps, args.seed + 7))
    proc = subprocess.run([str(Path(sys.executable).parent / "lmp"), "-in", "in.sample", "-log", "log.lammps"],
                          cwd=workdir, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if proc.returncode or "SAMPLE DONE" not in proc.stdout:
        raise SystemExit(f"resample: MTP run at {temperature:g} K failed ({workdir / 'log.lammps'}):\n"
                         + (proc.stdout + proc.stderr)[-1500:])
    frames = ase.io.read(workdir / "dump.txt", ":", format="lammps-dump-text")
    for k, a in enumerate(frames):
        a.pbc = True
        a.wrap()
        a.calc = None
        a.info.update(group="mtp_sampled", kind="mtp_sampled", temperature=temperature, snapshot=k,
                      condition=f"mtp_T{temperature:g}", source=f"MTP NPT MD ({potential.name}, examples/flinak/resample.py)")
    return frames


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", default=str(HERE / "results"), help="the FLiNaK study's OUT (data, runs)")
    ap.add_argument("--out", default=None, help="default: STUDY/resample")
    ap.add_argument("--kind", default="base", help="the study's trained kind to resample with and retrain")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[800.0, 1000.0, 1200.0])
    ap.add_argument("--n-side", type=int, default=6, help="sampling cells of n_side^3 ions")
    ap.add_argument("--equilibrate-ps", type=float, default=5.0)
    ap.add_argument("--produce-ps", type=float, default=20.0)
    ap.add_argument("--every-ps", type=float, default=1.0, help="snapshot interval")
    ap.add_argument("--max-iter", type=int, default=200, help="BFGS iterations of the retraining")
    ap.add_argument("--max-configs", type=int, default=400, help="the study's subset of its data (as its --max-configs)")
    ap.add_argument("--level", type=int, default=16)
    ap.add_argument("--npt-temperatures", type=float, nargs="+", default=None, help="default: --temperatures")
    ap.add_argument("--labeller", default=None, help="module:function returning an ASE calculator")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--toy", action="store_true", help="64-ion cells, short runs, 3 iterations, tiny NPT")
    args = ap.parse_args()
    study = Path(args.study)
    out = Path(args.out or study / "resample") / args.kind
    potential = study / "runs" / args.kind / "potential.mtp"
    if not potential.exists():
        raise SystemExit(f"resample: {potential}: no trained {args.kind} in the study yet")
    if args.toy:
        args.n_side, args.equilibrate_ps, args.produce_ps, args.every_ps, args.max_iter = 4, 0.1, 0.2, 0.1, 3
        args.level = 6
    labelled = sample_and_label(args, potential, out)
    run_dir = retrain(args, study, out, labelled)
    run_npts(args, out, run_dir / "potential.mtp")


def sample_and_label(args, potential: Path, out: Path) -> list:
    """Labelled MTP snapshots at every temperature (OUT/labelled/T<K>.xyz, reused if present)."""
    import ase.io

    from flinak_study import atomic_write_xyz
    from label import label, labeller

    calc, description, frames = None, None, []
    for t in args.temperatures:
        path = out / "labelled" / f"T{t:g}.xyz"
        if not path.exists():
            raw = sample(potential, t, out / "frames" / f"T{t:g}", args)
            if calc is None:
                calc, description = labeller(args.labeller)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_xyz(path, label(raw, calc, description))
            print(f"resample: {len(raw)} MTP snapshots at {t:g} K labelled", flush=True)
        frames += ase.io.read(path, ":")
    return frames


def retrain(args, study: Path, out: Path, labelled: list) -> Path:
    """The study's training configuration for the kind, its data plus the MTP snapshots (all of
    them in training), started from the kind's trained potential."""
    from flinak_study import atomic_write_xyz, train_config
    from mtp_lowrank.training.config import validate
    from mtp_lowrank.training.data import load_images, select_images, split
    from mtp_lowrank.training.run import run_training

    run_dir = out / "run"
    if (run_dir / "report.json").exists():
        return run_dir
    study_args = argparse.Namespace(seed=args.seed, max_configs=args.max_configs, level=args.level, min_dist=1.2,
                                    max_iter=args.max_iter, threads=args.threads, warm_start=False, mfra_every=80)
    cfg = train_config(study_args, study, args.kind)
    train_file, val_file = out / "train.xyz", out / "validation.xyz"
    if not val_file.exists():   # the study's own split (same subset and seed) plus the MTP snapshots
        images = select_images(load_images([study / "data" / "all.xyz"]), max_configs=args.max_configs, seed=args.seed)
        train, val = split(images, cfg["data"]["validation_fraction"], args.seed)
        atomic_write_xyz(train_file, list(train) + labelled)
        atomic_write_xyz(val_file, list(val))
    cfg["data"].update(train=str(train_file), validation=str(val_file), max_configs=None)
    cfg["model"]["init"] = str(study / "runs" / args.kind / "potential.mtp")
    cfg["output"]["directory"] = str(run_dir)
    resume = str(run_dir / "checkpoint.mtp") if (run_dir / "checkpoint.mtp").exists() else None
    print(f"resample: retraining {args.kind} ({'continue' if resume else 'start'})", flush=True)
    report = run_training(validate(cfg), resume=resume)
    if report.get("message") == "interrupted":
        raise SystemExit(130)
    return run_dir


def run_npts(args, out: Path, potential: Path) -> None:
    import npt

    if args.toy:
        npt.NPT_SHAPE = (4, 4, 4)
    eq, prod = (0.1, 0.2) if args.toy else (10.0, 40.0)   # the study's protocol
    for t in args.npt_temperatures or args.temperatures:
        res = npt.run_npt(out / "npt" / f"T{t:g}", str(potential), t, eq, prod, seed=args.seed + 1)
        what = "FAILED" if res["failed"] else f"{res['density']:.4f} +- {res['density_error']:.4f} g/cm^3"
        print(f"resample npt: {args.kind}+mtp {t:g} K: {what} ({res['seconds']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
