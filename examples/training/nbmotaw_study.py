"""The paper's comparison on real DFT data, as one resumable command: Nb-Mo-Ta-W MTPs trained as
base (full C), MF, R-MF, MFRA, TF and FT (the converged base compressed to MF and fine-tuned),
the compressed ones at about 50% of the base radial parameters, on ../shared/data/nbmotaw/train.xyz
with 10% held out (seed 0), each until converged (validation loss) or out of iterations.

    python examples/training/nbmotaw_study.py                        # runs what is missing, in order
    python examples/training/nbmotaw_study.py --continue             # after a stop: resume the runs
    mpirun -np 2 python examples/training/nbmotaw_study.py --continue --threads 1
    python examples/training/nbmotaw_study.py --report                # report.md and plots only
    python examples/training/nbmotaw_study.py --plan                  # list the runs and their state
    python examples/training/nbmotaw_study.py --all --continue --threads 2
                                                                      # the whole study behind report.md and
                                                                      # the shipped potentials, resumable
                                                                      # (--all --plan: what it runs, what is done)
    python examples/training/nbmotaw_study.py --recipe --kinds mf base --seeds 0 1 2 --threads 2
                                                                      # the recommended recipe (RECIPE):
                                                                      # two stages, each until converged
                                                                      # (it sets --converge-on per stage)
    python examples/training/nbmotaw_study.py --pipeline --threads 1  # everything behind the shipped
                                                                      # potentials and the rank scan,
                                                                      # resumable, then ships them
    python examples/training/nbmotaw_study.py --split short --kinds base mf [--smoothness 1e-3]
                                                                      # out of domain: short contacts held out

Every run is an `mtp-lowrank train` run directory under OUT/runs/l<level>/<kind>_s<seed> (config.yaml,
metrics.jsonl, checkpoints, potential.mtp, report.json): the study reuses the training stages of
mtp_lowrank.training.run, and `--continue` resumes each unfinished run exactly from its checkpoint.
A run with report.json is done and is skipped, unless it stopped at an iteration budget that --max-iter
(or the pipeline) has since raised: then --continue resumes it exactly from its last checkpoint.

Ranks of the kinds: model_kinds.compressed_ranks (level 16: MF r = 5, R-MF r = 6, MFRA 1 -> 5,
TF (4, 4, 8)); FT is the MF started from the base.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from model_kinds import apply_kind, compressed_ranks, family, parse_kind, rank_of  # noqa: E402
from study_report import write_ood_report, write_report  # noqa: E402

SPECIES = ["Nb", "Mo", "Ta", "W"]
KINDS = ("base", "mf", "rmf", "mfra", "tf", "ft")
# --weights balanced: per-group weights (loss.group_weights) that give the small groups a say.
# Uniform weights leave the 41 surface cells (0.9% of the data) and the strain-only elastic
# cells underfitted (surface energies 27-75 meV/atom on the training cells themselves, where
# the published SNAP, fitted with group weights, has 6-19).
BALANCED = {"*_Surface": 10.0, "*_Elastic": 3.0, "*_AIMD": 2.0}


def base_config(args) -> dict:
    return {
        "data": {"train": args.data, "validation_fraction": 0.1, "seed": 0, "species": SPECIES},
        "model": {"level": 16, "min_dist": 2.0, "max_dist": 5.0, "radial_basis_size": 8, "representation": "full",
                  "seed": 0, "radial_floor": args.radial_floor},
        "loss": {"energy_weight": 1.0, "force_weight": args.force_weight, "stress_weight": 0.0,
                 "group_weights": BALANCED if getattr(args, "weights", "paper") == "balanced" else None,
                 "radial_mixing": getattr(args, "mixing", None) or 0.0},
        "optimizer": {"method": "bfgs", "max_iter": args.max_iter, "threads": args.threads,
                      "converge_window": args.converge_window, "converge_rel_improvement": args.converge_rel,
                      "restarts": getattr(args, "restarts", 0), "converge_on": getattr(args, "converge_on", "loss")},
        # keep_checks: every check's iterate, to measure how far neighbours differ outside the data
        "output": {"checkpoint_every": 20, "validation_every": 20, "plots": True, "keep_checks": True},
    }


def run_config(args, level: int, kind: str, seed: int, out: Path) -> dict:
    """The training configuration of one run of the study."""
    cfg = base_config(args)
    cfg["model"].update(level=level, seed=seed)
    cfg["loss"]["radial_smoothness"] = args.smoothness
    if getattr(args, "mixing", None):   # the mixing rule acts between mixed floors and the data
        cfg["model"]["radial_floor"] = "mixed"
    if args.split != "standard":   # out-of-domain study: train and validate on the kept cells only
        cfg["data"]["select"] = ood_split(args, out)["kept"]
    ranks = compressed_ranks(len(SPECIES), level)
    apply_kind(cfg, "mf" if kind == "ft" else kind, args.mfra_every, ranks)
    m, opt = cfg["model"], cfg["optimizer"]
    if family(kind) == "rmf":   # Riemannian BFGS has no restarts (optimizer.restarts is BFGS's)
        opt["restarts"] = 0
    if kind == "ft":  # compress the converged base of the same seed, then train in compressed form
        m["init"] = str(run_dir(out, level, "base", seed, args) / "potential.mtp")
    if getattr(args, "init_run", None):   # continue from another run of the study (e.g. with other weights)
        source = out / ("runs" if args.split == "standard" else f"runs_{args.split}") / f"l{level}" / \
            args.init_run.format(kind=kind, seed=seed, mix=mix_suffix(args))
        found = [source / f for f in ("potential.mtp", "best_validation.mtp") if (source / f).exists()]
        if not found:
            raise SystemExit(f"--init-run: {source} has no potential yet")
        m["init"], opt["linear_init"] = str(found[0]), False
        if family(kind) == "mfra":  # continued at its final rank, where MFRA is BFGS on the MF factors
            opt["method"] = "bfgs"
            m.update(representation="mf", rank=opt["r_max"])
    elif getattr(args, "warm_start", False):
        if rank_of(kind) is not None:
            raise SystemExit(f"--warm-start: not for {kind}: it starts the five kinds at their ~50% ranks")
        source = warm_start_source(args, out, level, kind, seed, ranks["rmf"])
        m["init"] = str(source)
        # the same kind: keep its trained linear parameters; compressed from another kind (its C
        # changes, e.g. from the MF to TF): refit them
        opt["linear_init"] = source.parent.name.split("_")[0] != kind and not source.name.startswith("rmf_init")
    cfg["output"]["directory"] = str(run_dir(out, level, kind, seed, args))
    return cfg


def warm_start_source(args, out: Path, level: int, kind: str, seed: int, rmf_rank: int) -> Path:
    """--warm-start: the best validation iterate of a run with the paper's uniform weights (same
    split, smoothness and seed; with or without floors, which change nothing on the training
    data): the same kind's if it exists, else (TF, MFRA, R-MF) the MF run's, else the base
    run's; initial_potential compresses it to the kind's format (MFRA: to rank 1). R-MF takes
    the MF padded to `rmf_rank` (padded_for_rmf), keeping its linear parameters."""
    plain = argparse.Namespace(**dict(vars(args), weights="paper", warm_start=False, radial_floor=None))
    for source in (kind, "mf", "base") if kind in ("tf", "mfra", "rmf") else (kind, "base"):
        path = run_dir(out, level, source, seed, plain) / "best_validation.mtp"
        if path.exists():
            return padded_for_rmf(path, out / f"rmf_init_l{level}_s{seed}.mtp", seed, rmf_rank) \
                if kind == "rmf" and source == "mf" \
                else path
    raise SystemExit(f"--warm-start: no {run_dir(out, level, 'base', seed, plain)}/best_validation.mtp yet")


def padded_for_rmf(path: Path, dest: Path, seed: int, rank: int = 6) -> Path:
    """The rank-5 MF at `path` as a rank-6 point of the fixed-rank manifold R-MF needs: its SVD
    plus a sixth component at 1e-3 of the fifth singular value along random orthogonal
    directions (a zero singular value is not on the manifold). Written once to `dest`."""
    if dest.exists():
        return dest
    import numpy as np

    from mtp_lowrank import Potential

    pot = Potential.load(path, species=SPECIES)
    if pot.ranks[0] + 1 != rank:
        raise SystemExit(f"--warm-start: {path} has MF rank {pot.ranks[0]}; the R-MF at rank {rank} starts from rank {rank - 1}")
    u, v = pot.factors
    qu, ru = np.linalg.qr(u)
    qv, rv = np.linalg.qr(v)
    a, sig, bt = np.linalg.svd(ru @ rv.T)
    uu, vv = qu @ a, qv @ bt.T
    rng = np.random.default_rng(seed)
    extra_u = rng.normal(size=(u.shape[0], 1))
    extra_v = rng.normal(size=(v.shape[0], 1))
    extra_u -= uu @ (uu.T @ extra_u)
    extra_v -= vv @ (vv.T @ extra_v)
    extra_u /= np.linalg.norm(extra_u)
    extra_v /= np.linalg.norm(extra_v)
    s6 = 1e-3 * sig[-1]
    factors = [np.hstack([uu * sig, extra_u * s6]), np.hstack([vv, extra_v])]
    pot.replace(factors=factors, ranks=[rank]).save(dest, mlip_compatible=False)
    return dest


def mix_suffix(args) -> str:
    """'_mix<lambda>' for runs with the mixing rule (--mixing), else ''."""
    mixing = getattr(args, "mixing", None)
    return f"_mix{mixing:g}" if mixing else ""


def run_dir(out: Path, level: int, kind: str, seed: int, args=None) -> Path:
    """OUT/runs[_<split>]/l<level>/<kind>[_floor][_mix<lambda>][_sm<lambda>][_bal][_warm][_fw<w_f>][_rs<restarts>][_rmse|_both][_cont]_s<seed>"""
    split = getattr(args, "split", "standard")
    smooth = getattr(args, "smoothness", 0.0)
    floor = "_floor" if getattr(args, "radial_floor", None) else ""
    bal = "_bal" if getattr(args, "weights", "paper") == "balanced" else ""
    warm = "_warm" if getattr(args, "warm_start", False) else ""
    fw = getattr(args, "force_weight", 0.01)
    fw = f"_fw{fw:g}" if fw != 0.01 else ""
    cont = "_cont" if getattr(args, "init_run", None) else ""
    rs = f"_rs{args.restarts}" if getattr(args, "restarts", 0) else ""
    rule = getattr(args, "converge_on", "loss")
    rmse = f"_{rule}" if rule != "loss" else ""   # _rmse, _both
    name = f"{kind}{floor}{mix_suffix(args)}{f'_sm{smooth:g}' if smooth else ''}{bal}{warm}{fw}{rs}{rmse}{cont}_s{seed}"
    return out / ("runs" if split == "standard" else f"runs_{split}") / f"l{level}" / name


# Out-of-domain splits built from the training data: the held-out cells are the test.
#   short:    every cell with any pair closer than 2.35 A (AIMD snapshots, about 3% of the
#             cells): the kept cells never come that close, so the test needs extrapolation of
#             the radial functions below what the data pins down (0.35 A).
#   surfaces: every *_Surface cell (a kind of structure absent from the kept data).
OOD_SPLITS = ("short", "surfaces")


def ood_split(args, out: Path) -> dict:
    """{"kept": indices, "held_out": indices} of train.xyz for args.split (cached as JSON)."""
    path = out / f"split_{args.split}.json"
    if path.exists():
        return json.loads(path.read_text())
    import ase.io
    from ase.neighborlist import neighbor_list

    images = ase.io.read(args.data, ":")
    if args.split == "short":
        held = [k for k, a in enumerate(images) if len(neighbor_list("d", a, 2.35))]
    else:
        held = [k for k, a in enumerate(images) if str(a.info.get("group", "")).endswith("_Surface")]
    split = {"split": args.split, "kept": [k for k in range(len(images)) if k not in set(held)], "held_out": held}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(split))
    return split


def study_kind(text: str) -> str:
    """argparse type for --kinds: one of KINDS or <kind>_r<rank> (model_kinds.parse_kind)."""
    return text if text == "ft" else parse_kind(text)


def budget_kind(kind: str) -> str:
    """The kind whose stage budgets `kind` takes: a kind at another rank (mf_r4, tf_r5) its kind's."""
    return family(kind)


def plan(args):
    """(level, kind, seed) in the order they run: every kind for seed 0 first, then more seeds."""
    return [(level, kind, seed) for seed in args.seeds for level in args.levels for kind in args.kinds]


def state_of(directory: Path) -> str:
    if (directory / "report.json").exists():
        return "done"
    if (directory / "checkpoint.mtp").exists():
        return "started"
    return "new"


def out_of_budget(directory: Path, max_iter: int) -> bool:
    """A finished run that stopped at an iteration budget smaller than max_iter (not converged)."""
    report = json.loads((directory / "report.json").read_text())
    return report.get("message", "").startswith("maximum number of iterations") and report["iterations"] < max_iter


def run_one(args, out: Path, level: int, kind: str, seed: int) -> None:
    from mtp_lowrank.training.config import validate
    from mtp_lowrank.training.run import run_training

    directory = run_dir(out, level, kind, seed, args)
    cfg = validate(run_config(args, level, kind, seed, out))
    if kind == "ft" and not Path(cfg["model"]["init"]).exists():
        print(f"skip {directory}: needs the finished base run {cfg['model']['init']}", flush=True)
        return
    state = state_of(directory)
    if state == "done":
        if not (args.resume and out_of_budget(directory, cfg["optimizer"]["max_iter"])):
            return
        state = "started"   # stopped by its iteration budget, which is now larger: continue exactly
    resume = None
    if state == "started":
        if not args.resume:
            raise SystemExit(f"{directory} holds an unfinished run: continue it with --continue")
        resume = str(directory / "checkpoint.mtp")
    # a run stopped before its first checkpoint (e.g. killed in its first iterations) has nothing
    # to continue from: it starts again in its own directory
    again = state == "new" and directory.is_dir() and any(directory.iterdir())
    print(f"== l{level} {kind} seed {seed}: {'continue' if resume else 'start again' if again else 'start'} "
          f"in {directory}", flush=True)
    report = run_training(cfg, resume=resume, overwrite=again)
    if report.get("message") == "interrupted":
        raise SystemExit(130)


# --pipeline: the sequence that made the shipped potentials, each stage a set of runs with the
# options it names and a per-kind iteration budget (the 2026-11-23 sessions' schedule; stage 3 extended
# to R-MF, MFRA and the base on 2026-12-06). A run that ended at a smaller budget continues exactly
# from its last checkpoint when its budget grows.
PIPELINE = [
    ("paper weights, from scratch", {"weights": "paper", "warm_start": False, "radial_floor": None},
     {"base": 1300, "mf": 1300}),
    ("balanced weights and radial floors, warm-started from stage 1", {"weights": "balanced", "warm_start": True,
                                                                       "radial_floor": "data"},
     {"base": 400, "mf": 600, "tf": 300, "rmf": 300, "mfra": 400}),
    ("energies emphasised (w_f 0.003), continued from stage 2", {"weights": "balanced", "warm_start": False,
                                                                 "radial_floor": "data", "force_weight": 0.003,
                                                                 "init_run": "{kind}_floor_bal_warm_s{seed}"},
     {"mf": 200, "tf": 400, "rmf": 200, "mfra": 500, "base": 600}),
]


# --recipe: the recommended way to train one level-16 model from scratch, converged by the
# validation rule in every stage (0.1% over 10 checks of 20 iterations) within its budget:
# forces first, until the rule on the validation loss (mostly forces); then energies emphasised
# with BFGS restarts (where the rule first fires on a BFGS stall; findings.md section 4), until
# the rule on the validation RMSEs (converge_on rmse: the loss rule stopped the TF, R-MF and
# MFRA while their energy error still fell; findings.md section 7). Both stages use the
# balanced group weights and the mixing rule with mixed floors (short cross-species contacts,
# findings.md section 5). Until 2026-12-07 stage 2 also ran on the loss rule (runs without _rmse).
RECIPE_MIXING = 0.1   # the recipe's loss.radial_mixing (findings.md section 5), unless --mixing says otherwise
RECIPE = [
    ("forces first (balanced weights, mixing rule, w_f 0.01), from scratch, until the rule on the loss",
     {"weights": "balanced", "warm_start": False, "radial_floor": "data", "mixing": RECIPE_MIXING,
      "force_weight": 0.01, "restarts": 0, "converge_on": "loss"},
     {"base": 1500, "mf": 1500, "tf": 1500, "rmf": 1500, "mfra": 1500}),
    ("energies emphasised (w_f 0.003), continued, until the rule on the RMSEs after up to 2 BFGS restarts",
     {"weights": "balanced", "warm_start": False, "radial_floor": "data", "mixing": RECIPE_MIXING,
      "force_weight": 0.003, "restarts": 2, "converge_on": "rmse", "init_run": "{kind}_floor{mix}_bal_s{seed}"},
     {"base": 1500, "mf": 1500, "tf": 1500, "rmf": 1500, "mfra": 1500}),
]


# --all: the report's recipe runs after the pipeline, as (levels, kinds, seeds): 3 seeds of the
# base and MF at level 16, one of the other kinds and of each compressed kind at its rank scan's
# best rank (the smallest rank on the scan's plateau: MF 4, findings.md section 9; TF 5, TT ranks
# (4, 5, 5), R-MF 3, section 10; MFRA ends at an MF rank: the MF's 4), one of base and MF at 12-18.
REPORT_RUNS = [([16], ["base", "mf"], [0, 1, 2]),
               ([16], ["rmf", "mfra", "tf", "mf_r4", "tf_r5", "rmf_r3", "mfra_r4"], [0]),
               ([12, 14, 18], ["base", "mf"], [0])]


def stage_runs(args, stages):
    """(title, level, kind, seed, the run's args) of the stages of `stages` (PIPELINE or RECIPE)
    in order for each model of --levels, --kinds and --seeds in turn (plan order, so each model
    is finished before the next starts; TF, R-MF and MFRA warm-start from the MF, FT from the
    base). A kind that a stage's budget omits skips that stage; --max-iter caps every budget."""
    for level, kind, seed in plan(args):
        for title, options, budget in stages:
            if budget_kind(kind) not in budget:
                continue
            if "mixing" in options and args.mixing is not None:   # --mixing overrides the recipe's
                options = dict(options, mixing=args.mixing)
            max_iter = min(budget[budget_kind(kind)], args.max_iter)   # --max-iter caps every stage
            yield title, level, kind, seed, argparse.Namespace(**dict(vars(args), **options, max_iter=max_iter,
                                                                      resume=True))


def all_runs(args):
    """stage_runs of everything the report and the shipped potentials rest on, in the order --all
    runs them: the PIPELINE (level 16, seed 0), then the RECIPE's REPORT_RUNS."""
    yield from stage_runs(argparse.Namespace(**dict(vars(args), levels=[16], kinds=list(KINDS), seeds=[0])), PIPELINE)
    for levels, kinds, seeds in REPORT_RUNS:
        yield from stage_runs(argparse.Namespace(**dict(vars(args), levels=levels, kinds=kinds, seeds=seeds)), RECIPE)


def run_stages(args, out: Path, runs) -> None:
    """Each run of `runs` (stage_runs, all_runs) in turn, resuming what was started."""
    for title, level, kind, seed, run_args in runs:
        print(f"== l{level} {kind} seed {seed}, stage: {title}", flush=True)
        run_one(run_args, out, level, kind, seed)


def run_pipeline(args, out: Path, runs) -> None:
    """Each of `runs` (run_stages), then the rank scans and the shipped potentials
    (ship_potentials.py, which picks among all level-16 runs)."""
    run_stages(args, out, runs)
    rank_scan(args, out)
    import subprocess

    subprocess.run([sys.executable, str(HERE / "ship_potentials.py")], check=True)


def rank_scan(args, out: Path) -> None:
    """Errors vs rank (rank_scan.py) of the MF, R-MF and TF from the pipeline's final level-16
    base, seed 0, each rank from 3 random seeds, into OUT/rank_scan.json (MF) and
    OUT/rank_scan_<kind>.json, plots in OUT/plots (resumable rank by rank)."""
    from rank_scan import SCAN_KINDS, run_scan, scan_file

    for kind in SCAN_KINDS:
        print(f"== rank scan: {kind}", flush=True)
        run_scan(out / "runs" / "l16" / "base_floor_bal_fw0.003_cont_s0", scan_file(kind, out),
                 threads=max(args.threads, 1), seeds=(0, 1, 2), kind=kind)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(HERE.parents[2] / "shared" / "data" / "nbmotaw" / "train.xyz"))
    ap.add_argument("--out", default=str(HERE / "results" / "study"))
    ap.add_argument("--levels", type=int, nargs="+", default=[16])
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), type=study_kind, metavar="KIND",
                    help=f"model kinds: {' '.join(KINDS)} or mf_r<rank>, rmf_r<rank>, mfra_r<rank>, tf_r<rank> "
                         "(at another rank, e.g. a rank scan's best; MFRA's: its final rank)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--max-iter", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--force-weight", type=float, default=0.01)
    ap.add_argument("--converge-window", type=int, default=10, help="validation checks (every 20 iterations)")
    ap.add_argument("--converge-rel", type=float, default=1e-3)
    ap.add_argument("--converge-on", default="loss", choices=("loss", "rmse", "both"),
                    help="optimizer.converge_on of the runs: the rule and the kept iterate go by the validation loss, "
                         "or by the geometric mean of the validation energy and force RMSEs (_rmse), or the rule waits "
                         "for both to be flat and keeps the lowest geometric mean (_both). The default stays loss so "
                         "that earlier runs keep their names; --recipe sets the rule per stage (stage 2: rmse)")
    ap.add_argument("--restarts", type=int, default=0,
                    help="optimizer.restarts: BFGS restarts when the validation rule fires, before stopping (_rs<n>)")
    ap.add_argument("--mfra-every", type=int, default=80, help="MFRA: BFGS iterations between rank augmentations")
    ap.add_argument("--split", default="standard", choices=("standard",) + OOD_SPLITS,
                    help="standard: 10%% of all cells held out; short/surfaces: out-of-domain studies (runs_<split>/)")
    ap.add_argument("--smoothness", type=float, default=0.0, help="loss.radial_smoothness of the runs (_sm<value>)")
    ap.add_argument("--mixing", type=float, default=None,
                    help="loss.radial_mixing of the runs, with model.radial_floor: mixed (_mix<value>); default: off, "
                         "but %g with --recipe (0: the recipe without it)" % RECIPE_MIXING)
    ap.add_argument("--radial-floor", default=None, choices=(None, "data"),
                    help="model.radial_floor of the runs (the seed-0 runs of 2026-11-23 started without floors)")
    ap.add_argument("--weights", default="paper", choices=("paper", "balanced"),
                    help="paper: every configuration weight 1; balanced: loss.group_weights %s (_bal)" % BALANCED)
    ap.add_argument("--warm-start", action="store_true",
                    help="start from the same kind's (else the base's) run with paper weights (_warm)")
    ap.add_argument("--init-run", metavar="NAME", help="start each run from this run's potential (a directory name "
                    "under runs/l<level>/, with {kind} and {seed} filled in), keeping its linear parameters (_cont)")
    ap.add_argument("--rank-scan", action="store_true", help="then errors vs rank (MF, R-MF, TF) from the pipeline's base (rank_scan.py)")
    ap.add_argument("--continue", dest="resume", action="store_true", help="resume unfinished runs")
    ap.add_argument("--report", action="store_true", help="only write report.md and the plots")
    ap.add_argument("--plan", action="store_true", help="list the runs and their state")
    ap.add_argument("--pipeline", action="store_true",
                    help="the whole sequence behind the shipped potentials (PIPELINE), resumable, then ship them")
    ap.add_argument("--all", action="store_true",
                    help="everything the report and the shipped potentials rest on (the pipeline, then REPORT_RUNS "
                         "with the recipe, the rank scans, the shipped potentials, the report), resumable; "
                         "with --plan: list its runs and their state")
    ap.add_argument("--recipe", action="store_true",
                    help="train --kinds/--seeds/--levels with RECIPE (two stages, each until the validation rule), resumable")
    args = ap.parse_args()
    out = Path(args.out)
    staged = (all_runs(args) if args.all else stage_runs(args, PIPELINE) if args.pipeline
              else stage_runs(args, RECIPE) if args.recipe else None)
    if args.plan:
        if staged is None:
            staged = [("", level, kind, seed, args) for level, kind, seed in plan(args)]
        for title, level, kind, seed, run_args in staged:
            directory = run_dir(out, level, kind, seed, run_args)
            print(f"l{level:<3} {kind:5} seed {seed}  {state_of(directory):7} {directory.name}  {title}")
        return
    if args.pipeline or args.all:
        run_pipeline(args, out, staged)
        write_report(out, args.data)
        return
    if args.recipe:
        run_stages(args, out, staged)
        write_report(out, args.data)
        return
    if not args.report:
        for level, kind, seed in plan(args):
            run_one(args, out, level, kind, seed)
        if args.rank_scan:
            rank_scan(args, out)
    write_report(out, args.data)
    if args.split != "standard":
        write_ood_report(out, args.data, ood_split(args, out))


if __name__ == "__main__":
    main()
