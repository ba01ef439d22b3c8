"""Active learning, the closed loop, for full and compressed MTPs (issue: "the closed loop"):

    start from a few labelled FLiNaK configurations; repeat
        train (warm start from the last round) -> neighbourhood-mode active set ->
        LAMMPS NPT at 1200 K with `pair_style mtp/lowrank extrapolation` (per-atom grades,
        select 2, break 10) -> MaxVol selection among the configurations it wrote ->
        label them with the oracle -> add
    until an MD run of the full length selects nothing.

    python examples/active/closed_loop.py                        # base, mf, tf in turn
    python examples/active/closed_loop.py --kinds mf --md-ps 100
    python examples/active/closed_loop.py --toy --out /tmp/loop  # tiny version (CI)
    python examples/active/closed_loop.py --oracle mymodule:make_calculator

The oracle is the FLiNaK teacher of examples/flinak (any ASE calculator works: --oracle). The
start and the validation set are drawn (seeded) from the FLiNaK study's labelled data
(examples/flinak/flinak_study.py --stages configs label dataset). Every round lives in
OUT/<kind>/round_NN/ and ends with round.json, so a stopped loop continues with the round it
was in; OUT/<kind>/summary.md tabulates the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FLINAK = HERE.parent / "flinak"
sys.path[:0] = [str(FLINAK), str(HERE.parent / "training")]

from model_kinds import apply_kind  # noqa: E402

SPECIES = ["Li", "Na", "K", "F"]


# ---- data -----------------------------------------------------------------------------------
def start_and_validation(data: Path, n_start: int, n_val: int, seed: int):
    """(start, validation): disjoint seeded draws from the labelled FLiNaK data; the start only
    from melts at 1000-1400 K (what an MD user would first label), validation from everything."""
    import ase.io

    frames = ase.io.read(data, ":")
    rng = np.random.default_rng(seed)
    melts = [k for k, a in enumerate(frames) if a.info.get("kind") == "melt" and a.info.get("temperature", 0) >= 1000]
    start = rng.choice(melts, size=min(n_start, len(melts)), replace=False)
    rest = np.setdiff1d(np.arange(len(frames)), start)
    val = rng.choice(rest, size=min(n_val, len(rest)), replace=False)
    return [frames[k] for k in sorted(start)], [frames[k] for k in sorted(val)]


def training_set(kind_dir: Path, upto: int):
    """The start plus every configuration selected in rounds before `upto`."""
    import ase.io

    images = ase.io.read(kind_dir / "start.xyz", ":")
    for r in range(upto):
        sel = kind_dir / f"round_{r:02d}" / "selected.xyz"
        if sel.exists() and sel.stat().st_size:
            images += ase.io.read(sel, ":")
    return images


# ---- the stages of one round -----------------------------------------------------------------
def train(args, kind: str, rdir: Path, images, previous: Path | None) -> dict:
    """Trains (resuming a stopped run) on `images`; returns the run's report."""
    import ase.io

    from mtp_lowrank.training.config import validate
    from mtp_lowrank.training.run import run_training

    run = rdir / "run"
    if (run / "report.json").exists():
        return json.loads((run / "report.json").read_text())
    ase.io.write(rdir / "train.xyz", images, format="extxyz")
    cfg = {
        "data": {"train": str(rdir / "train.xyz"), "validation": str(rdir.parent / "validation.xyz"),
                 "species": SPECIES},
        "model": {"level": args.level, "min_dist": 1.2, "max_dist": 5.0, "radial_basis_size": 8,
                  "seed": args.seed, "radial_floor": "data", "core": "zbl"},
        "loss": {"energy_weight": 1.0, "force_weight": 0.01, "stress_weight": 1.0},
        "optimizer": {"method": "bfgs", "max_iter": args.iterations if previous else args.first_iterations,
                      "threads": args.threads},
        "output": {"directory": str(run), "checkpoint_every": 20, "validation_every": 20, "active_set": False,
                   "plots": False},
    }
    apply_kind(cfg, kind)
    if previous is not None:   # warm start: last round's potential (floors and core recomputed from the data)
        cfg["model"]["init"] = str(previous)
        if kind == "mfra":
            cfg["optimizer"]["method"] = "bfgs"      # already at its final rank
            cfg["model"].update(representation="mf", rank=cfg["optimizer"]["r_max"])
        if kind == "rmf":
            cfg["optimizer"]["method"] = "rmf"
    resume = str(run / "checkpoint.mtp") if (run / "checkpoint.mtp").exists() else None
    report = run_training(validate(cfg), resume=resume)
    if report.get("message") == "interrupted":
        raise SystemExit(130)
    return report


def fit_active_set(pot_path: Path, images, out: Path):
    """Neighbourhood-mode active set of the trained potential on its training data, for LAMMPS."""
    from mtp_lowrank import Potential
    from mtp_lowrank.active import ActiveSet

    pot = Potential.load(pot_path)
    active = ActiveSet.fit(pot, images, mode="neighbourhood")
    active.save(out.with_suffix(".npz"))
    active.save_for_lammps(out)
    return active


def md_script(pot: Path, active_file: Path, args, seed: int) -> str:
    from npt import mass_commands

    masses = mass_commands(SPECIES)
    steps = int(round(args.md_ps * 1000))
    return f"""units metal
boundary p p p
atom_style atomic
read_data start.data
{masses}
pair_style mtp/lowrank extrapolation {active_file} every {args.grade_every} select {args.select} break {args.break_} dump picked.xyz
pair_coeff * * {pot} {' '.join(SPECIES)}
compute g all pair mtp/lowrank
neighbor 2.0 bin
timestep 0.001
velocity all create {args.temperature} {seed} mom yes rot yes dist gaussian
fix npt all npt temp {args.temperature} {args.temperature} 0.1 iso 1.0 1.0 1.0
thermo_style custom step temp press density pe c_g[1]
thermo {max(steps // 100, 1)}
run {steps}
print "MD DONE"
"""


def explore(args, rdir: Path, pot: Path, active_file: Path, seed: int) -> dict:
    """The NPT run with extrapolation control, from the start configuration nearest the
    temperature (inside the data, so a grade above select is the MD leaving it); returns how
    far it got and its largest grade."""
    import ase.io

    md = rdir / "md"
    md.mkdir(exist_ok=True)
    start = ase.io.read(rdir.parent / "start.xyz", ":")
    first = min(start, key=lambda a: abs(float(a.info.get("temperature", 0.0)) - args.temperature))
    ase.io.write(md / "start.data", first, format="lammps-data", specorder=SPECIES, atom_style="atomic")
    (md / "in.lmp").write_text(md_script(pot.resolve(), active_file.resolve(), args, seed))
    lmp = Path(sys.executable).parent / "lmp"
    proc = subprocess.run([str(lmp), "-in", "in.lmp", "-log", "log.lammps"], cwd=md, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    text = proc.stdout + proc.stderr
    completed = proc.returncode == 0 and "MD DONE" in text
    broke = "is above break" in text
    if not completed and not broke:
        raise RuntimeError(f"{md}: LAMMPS failed:\n{text[-2000:]}")
    rows = [l.split() for l in text.splitlines() if l.strip() and l.split()[0].isdigit() and len(l.split()) == 6]
    steps = [int(r[0]) for r in rows]
    grades = [float(r[5]) for r in rows]
    picked = md / "picked.xyz"
    return {"completed": completed, "broke": broke, "ps": (max(steps) if steps else 0) / 1000.0,
            "max_grade_thermo": max(grades, default=0.0), "picked": picked.exists() and picked.stat().st_size > 0}


def select_and_label(args, rdir: Path, active, oracle) -> tuple[int, float]:
    """MaxVol among the written configurations (grade > select), at most --max-select of them,
    labelled by the oracle into selected.xyz. Returns (count, largest grade written)."""
    import ase.io

    from label import label

    picked = rdir / "md" / "picked.xyz"
    if not picked.exists() or not picked.stat().st_size:
        (rdir / "selected.xyz").write_text("")
        return 0, 0.0
    written = ase.io.read(picked, ":")
    largest = max(float(a.info.get("grade", 0.0)) for a in written)
    step = -(-len(written) // args.max_candidates)
    candidates = written[::-1][::step][::-1]   # evenly thinned, keeping the last (a break's) configuration
    for a in candidates:
        a.calc = None
    chosen, _ = active.select(candidates, threshold=args.select, max_count=args.max_select)
    calc, description = oracle
    labelled = label([candidates[k] for k in chosen], calc, description)
    for a in labelled:
        a.info.update(kind="active", group="active", round=int(rdir.name.split("_")[1]))
    ase.io.write(rdir / "selected.xyz", labelled, format="extxyz")
    return len(labelled), largest


# ---- the loop ------------------------------------------------------------------------------
def run_round(args, kind: str, kind_dir: Path, r: int, oracle) -> dict:
    rdir = kind_dir / f"round_{r:02d}"
    if (rdir / "round.json").exists():
        return json.loads((rdir / "round.json").read_text())
    rdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    images = training_set(kind_dir, r)
    previous = kind_dir / f"round_{r - 1:02d}" / "run" / "potential.mtp" if r else None
    report = train(args, kind, rdir, images, previous)
    pot = rdir / "run" / "potential.mtp"
    active = fit_active_set(pot, images, rdir / "active_set.txt")
    md = explore(args, rdir, pot, rdir / "active_set.txt", seed=args.seed * 100 + r + 1)
    count, largest = select_and_label(args, rdir, active, oracle)
    val = report["validation"]["all"]
    summary = {"round": r, "train_configurations": len(images), "selected": count,
               "max_grade": max(largest, md["max_grade_thermo"]), "md_ps": md["ps"], "md_completed": md["completed"],
               "md_broke": md["broke"], "active_set_rows": len(active.sources),
               "validation_energy_meV_per_atom": val["energy_meV_per_atom"]["rmse"],
               "validation_forces_meV_per_A": val["forces_meV_per_A"]["rmse"],
               "iterations": report["iterations"], "seconds": time.perf_counter() - t0}
    (rdir / "round.json").write_text(json.dumps(summary, indent=1))
    return summary


def final_density(args, kind_dir: Path, pot: Path) -> dict:
    """The converged potential's NPT density at the loop's temperature, by the FLiNaK study's
    protocol (examples/flinak/npt.py: 1512 ions), next to the teacher's from that study."""
    import npt

    if args.toy:
        npt.NPT_SHAPE = (4, 4, 4)
    res = npt.run_npt(kind_dir / f"density_T{args.temperature:g}", str(pot), args.temperature, args.density_equilibrate_ps,
                      args.density_produce_ps, seed=args.seed + 1)
    teacher = FLINAK / "results" / "npt" / "teacher" / f"T{args.temperature:g}" / "summary.json"
    if teacher.exists():
        res["teacher"] = json.loads(teacher.read_text())
    return res


def write_summary(kind_dir: Path, kind: str, rounds: list, converged: bool, args, density=None) -> None:
    lines = [f"# Closed loop: {kind}", "",
             f"NPT {args.temperature:g} K, {args.md_ps:g} ps per round from a start configuration, per-atom grades every "
             f"{args.grade_every} steps, select {args.select:g}, break {args.break_:g}, at most {args.max_select} "
             f"selected per round; validation: {args.n_validation} FLiNaK configurations vs the teacher.", "",
             "| round | training configs | MD ps (stopped?) | max grade | selected | val E (meV/atom) | val F (meV/A) |",
             "|---|---|---|---|---|---|---|"]
    for s in rounds:
        stop = "done" if s["md_completed"] else ("break" if s["md_broke"] else "failed")
        lines.append(f"| {s['round']} | {s['train_configurations']} | {s['md_ps']:.1f} ({stop}) | {s['max_grade']:.3g} | "
                     f"{s['selected']} | {s['validation_energy_meV_per_atom']:.2f} | {s['validation_forces_meV_per_A']:.1f} |")
    lines += ["", "converged: a full-length run selected nothing" if converged else
              f"not converged after {len(rounds)} rounds (continue: the same command)"]
    if density is not None:
        t = density.get("teacher")
        got = "failed" if density["failed"] else f"{density['density']:.4f} +- {density['density_error']:.4f}"
        ref = f"{t['density']:.4f} +- {t['density_error']:.4f} g/cm^3" if t and not t["failed"] else "not run yet"
        lines += ["", f"NPT density at {args.temperature:g} K (examples/flinak/npt.py protocol, "
                  f"{args.density_equilibrate_ps:g} + {args.density_produce_ps:g} ps): {got} g/cm^3; teacher {ref}"]
    (kind_dir / "summary.md").write_text("\n".join(lines) + "\n")


def run_kind(args, kind: str, out: Path, oracle) -> None:
    import ase.io

    kind_dir = out / kind
    kind_dir.mkdir(parents=True, exist_ok=True)
    if not (kind_dir / "start.xyz").exists():
        start, val = start_and_validation(Path(args.data), args.n_start, args.n_validation, args.seed)
        ase.io.write(kind_dir / "validation.xyz", val, format="extxyz")
        ase.io.write(kind_dir / "start.xyz", start, format="extxyz")
    rounds, converged = [], False
    for r in range(args.rounds):
        s = run_round(args, kind, kind_dir, r, oracle)
        rounds.append(s)
        print(f"{kind} round {r}: {s['train_configurations']} configurations, MD {s['md_ps']:.1f} ps, "
              f"max grade {s['max_grade']:.3g}, selected {s['selected']}, validation E "
              f"{s['validation_energy_meV_per_atom']:.2f} meV/atom F {s['validation_forces_meV_per_A']:.1f} meV/A",
              flush=True)
        converged = s["md_completed"] and s["selected"] == 0
        density = final_density(args, kind_dir, kind_dir / f"round_{r:02d}" / "run" / "potential.mtp") \
            if converged else None
        write_summary(kind_dir, kind, rounds, converged, args, density)
        if converged:
            break


def main():
    from model_kinds import KINDS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(HERE / "results" / "loop"))
    ap.add_argument("--data", default=str(FLINAK / "results" / "data" / "all.xyz"),
                    help="labelled FLiNaK configurations (the start and the validation set are drawn from them)")
    ap.add_argument("--kinds", nargs="+", default=["base", "mf", "tf"], choices=KINDS)
    ap.add_argument("--oracle", default=None, help="module:function returning an ASE calculator (default: the teacher)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-start", type=int, default=20)
    ap.add_argument("--n-validation", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=None, help="at most this many rounds (default 15; --toy 2)")
    ap.add_argument("--level", type=int, default=16)
    ap.add_argument("--first-iterations", type=int, default=400)
    ap.add_argument("--iterations", type=int, default=200, help="BFGS iterations of each warm-started round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--temperature", type=float, default=1200.0)
    ap.add_argument("--md-ps", type=float, default=100.0, help="MD length of a round (the loop ends when one "
                    "this long selects nothing)")
    ap.add_argument("--grade-every", type=int, default=10)
    ap.add_argument("--select", type=float, default=2.0)
    ap.add_argument("--break", dest="break_", type=float, default=10.0)
    ap.add_argument("--max-select", type=int, default=10)
    ap.add_argument("--max-candidates", type=int, default=200)
    ap.add_argument("--density-equilibrate-ps", type=float, default=10.0)
    ap.add_argument("--density-produce-ps", type=float, default=20.0)
    ap.add_argument("--toy", action="store_true", help="level 6, few iterations, 0.3 ps MD on 64 ions, 2 rounds")
    args = ap.parse_args()
    if args.toy:
        args.level, args.first_iterations, args.iterations, args.md_ps = 6, 10, 5, 0.3
        args.rounds = args.rounds or 2
        args.n_start, args.n_validation, args.grade_every = 6, 4, 5
        args.density_equilibrate_ps, args.density_produce_ps = 0.1, 0.2
    args.rounds = args.rounds or 15
    from label import labeller

    oracle = labeller(args.oracle)
    for kind in args.kinds:
        run_kind(args, kind, Path(args.out), oracle)


if __name__ == "__main__":
    main()
