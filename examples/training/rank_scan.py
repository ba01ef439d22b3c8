"""Validation error vs rank (the paper's Fig. 2, at reduced cost) for the model of any trained
base run: at each rank a compressed potential (--kind: MF and TF trained with BFGS, R-MF with
Riemannian BFGS at fixed rank) is trained for a fixed budget on a subset of
the run's training split under the run's own loss (its weights, group weights and stress
weight, from its config.yaml), and scored on the run's whole validation split. The start is
either a new random MF (--start scratch, the default: the paper trains every rank from scratch)
or the trained base truncated to the rank (--start truncate: a warm start, which on FLiNaK
begins 500-960 meV/atom off and does not recover in 100 iterations). Training every rank to
convergence on all the data costs the whole study again: this is the affordable middle, and
says so; the ranks are compared at equal budgets, not at convergence.

    python examples/training/rank_scan.py                      # Nb-Mo-Ta-W, the study's base
    python examples/training/rank_scan.py --seeds 0 1 2        # each rank from 3 random MFs (mean ± std)
    python examples/training/rank_scan.py --kind tf --seeds 0 1 2   # TF: into results/study/rank_scan_tf.json
    python examples/training/rank_scan.py --base examples/flinak/results/runs/base \\
        --out examples/flinak/results/rank_scan.json           # FLiNaK

The TF's rank r stands for the TT ranks (N_T, r, min(r, N_b)) (model_kinds.tf_ranks says why:
with r3 = N_b a TT is the MF of rank r in another parameterization).

Resumable: each rank's (and seed's) result is kept in the output JSON as it finishes; the plot is
plots/<the JSON's name>.png next to it. MFRA has no scan of its own: its rank is an MF rank
reached by a schedule (one rank per 80 iterations), which the scan's budget does not fit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
STUDY = HERE / "results" / "study"
sys.path.insert(0, str(HERE))
from model_kinds import tf_ranks  # noqa: E402

SCAN_KINDS = ("mf", "rmf", "tf")
KIND_NAMES = {"mf": "MF", "rmf": "R-MF", "tf": "TF"}
KIND_LABELS = {"mf": "MF rank", "rmf": "R-MF rank", "tf": "TF rank r, TT ranks (N_T, r, min(r, N_b))"}
DEFAULT_RANKS = {"mf": (1, 2, 3, 4, 5, 6, 8, 12, 16), "rmf": (1, 2, 3, 4, 5, 6, 8, 12), "tf": (2, 3, 4, 5, 6, 8)}


def scan_file(kind: str, directory: Path = STUDY) -> Path:
    """Where a study keeps a kind's scan: rank_scan.json for the MF, rank_scan_<kind>.json else."""
    return directory / ("rank_scan.json" if kind == "mf" else f"rank_scan_{kind}.json")


def compressed(pot, kind: str, rank: int):
    """`pot` (full) as the kind's representation at `rank` (TF: TT ranks tf_ranks)."""
    return pot.to_tt(tf_ranks(pot.n_species, pot.radial_basis_size, rank)) if kind == "tf" else pot.to_mf(rank)


def radial_count(pot, kind: str) -> int:
    """The radial parameters training moves: the stored count; for R-MF the manifold's dimension."""
    if kind != "rmf":
        return pot.parameter_count("radial")
    from mtp_lowrank.training import rmf_parameter_count

    return rmf_parameter_count(pot.n_species ** 2, pot.radial_funcs_count * pot.radial_basis_size, pot.ranks[0])


def scores(potential, images) -> dict:
    from mtp_lowrank.training import errors

    e = errors(potential, images, by_group=False)["all"]
    return {"E": e["energy_meV_per_atom"]["rmse"], "F": e["forces_meV_per_A"]["rmse"]}


def scan_rank(base, rank: int, train, subset, val, cfg: dict, iterations: int, threads: int, start: str,
              seed: int | None = None, kind: str = "mf") -> dict:
    """One point of the scan: a potential of the kind at this rank (start "scratch": a new one as
    the base run's model section makes it with model.seed `seed` (default the base run's), random
    radial coefficients of that seed and linear parameters
    fitted to the training split's energies; "truncate": the trained base truncated, its linear
    parameters refitted to the loss where that helps), trained on the subset (BFGS; R-MF's
    Riemannian BFGS with the run's optimizer.mu), validation scores."""
    import copy

    from mtp_lowrank.training import fit_linear_to_loss, train_bfgs, train_rmf
    from mtp_lowrank.training.run import initial_potential, training_loss

    t0 = time.perf_counter()
    if start == "scratch":
        c = copy.deepcopy(cfg)
        c["model"]["init"] = None
        if kind == "tf":
            c["model"].update(representation="tt", ranks=tf_ranks(len(base.species), base.radial_basis_size, rank))
        else:
            c["model"].update(representation="mf", rank=rank)
        if seed is not None:
            c["model"]["seed"] = seed
        c["optimizer"].update(method="bfgs", linear_init=True, linear_fit="energies")
        if base.radial_floor is not None:   # the base's floors: the same data's, without searching it again
            c["model"]["radial_floor"] = np.asarray(base.radial_floor).tolist()
        pot = initial_potential(c, base.species, None, train, None)
        loss = training_loss(cfg["loss"], pot, subset, threads)
    else:
        kept = compressed(base, kind, rank)
        loss = training_loss(cfg["loss"], kept, subset, threads)
        refit = fit_linear_to_loss(kept, loss)   # the linear parameters refitted to the whole loss,
        pot = min((kept, refit), key=lambda p: loss.evaluate(p, gradient=False)["loss"])   # if that is better
    first = scores(pot, val)
    if kind == "rmf":
        tuned = train_rmf(pot, loss.for_template(pot), max_iter=iterations, mu=cfg["optimizer"]["mu"]).potential
    else:
        tuned = train_bfgs(pot, loss, max_iter=iterations).potential
    return {"radial": radial_count(pot, kind), "E_start": first["E"], "F_start": first["F"],
            **scores(tuned, val), "seconds": time.perf_counter() - t0}


def point_key(rank: int, seed: int, first: int) -> str:
    """Where the scan's JSON keeps a rank's result for an MF seed: '<rank>' for the base run's own
    seed `first`, '<rank>_s<seed>' for the others."""
    return str(rank) if seed == first else f"{rank}_s{seed}"


def points(scan: dict) -> dict[int, list[dict]]:
    """rank -> its results over the seeds scanned (the JSON's '<rank>' and '<rank>_s<seed>')."""
    out: dict[int, list[dict]] = {}
    for k, v in scan.items():
        if k.split("_s")[0].isdigit():
            out.setdefault(int(k.split("_s")[0]), []).append(v)
    return dict(sorted(out.items()))


def run_scan(base_dir: Path, out: Path, ranks=None, iterations: int = 200, subset_size: int = 1000,
             threads: int = 1, start: str = "scratch", seeds=None, kind: str = "mf") -> dict | None:
    """The scan of the `kind` (SCAN_KINDS) from the finished base run `base_dir` into the JSON
    file `out` (resuming the points already there), and its plot OUT_DIR/plots/<out's stem>.png;
    `ranks`: default DEFAULT_RANKS[kind]; `seeds`: the models' random seeds (default: the base
    run's model.seed alone; more give each rank a mean and spread). Returns the scan; None
    (said) while the base run is not finished."""
    import yaml

    from mtp_lowrank import Potential
    from mtp_lowrank.training.config import validate
    from mtp_lowrank.training.run import load_data

    if not (base_dir / "report.json").exists():
        print(f"rank scan: skipped: {base_dir} is not finished", flush=True)
        return None
    done = json.loads(out.read_text()) if out.exists() else {}
    source = os.path.relpath(base_dir.resolve(), out.parent.resolve())   # the base run, seen from the JSON
    if done.get("settings", {}).get("base") not in (None, source):
        raise SystemExit(f"{out} holds a scan of {done['settings']['base']}: give another --out")
    if done.get("settings", {}).get("start") not in (None, start):
        raise SystemExit(f"{out} holds a scan with --start {done['settings']['start']}: give another --out")
    if done.get("settings", {}).get("kind", "mf" if done else kind) != kind:
        raise SystemExit(f"{out} holds a scan of --kind {done['settings'].get('kind', 'mf')}: give another --out")
    if kind not in SCAN_KINDS:
        raise SystemExit(f"rank scan: --kind {kind!r} is not one of {', '.join(SCAN_KINDS)}")
    ranks = tuple(ranks or DEFAULT_RANKS[kind])
    cfg = validate(yaml.safe_load((base_dir / "config.yaml").read_text()))
    first = cfg["model"]["seed"]
    seeds = list(seeds) if seeds else [first]
    if start == "truncate" and seeds != [first]:
        raise SystemExit("--start truncate has no random seed: scan it without --seeds")
    todo = [(r, s) for r in ranks for s in seeds if point_key(r, s, first) not in done]
    if not todo:   # nothing left to do
        plot(done, out.parent / "plots" / f"{out.stem}.png")
        return done
    train, val, species = load_data(cfg["data"], log=print)
    base = Potential.load(base_dir / "potential.mtp", species=species)
    if base.format != "full":
        raise SystemExit(f"{base_dir}/potential.mtp is {base.format}, not a base (full) potential")
    rng = np.random.default_rng(0)
    subset = [train[k] for k in sorted(rng.choice(len(train), min(subset_size, len(train)), replace=False))]
    done["settings"] = {"base": source, "start": start, "iterations": iterations, "subset": len(subset),
                        "validation": len(val), "kind": kind}
    done["base"] = {"radial": base.parameter_count("radial"), **scores(base, val)}
    for r, s in todo:
        done[point_key(r, s, first)] = dict(scan_rank(base, r, train, subset, val, cfg, iterations, threads, start, s,
                                                      kind), seed=s)
        out.write_text(json.dumps(done, indent=1))
        print(f"rank {r}, seed {s}: {done[point_key(r, s, first)]}", flush=True)
    out.write_text(json.dumps(done, indent=1))
    plot(done, out.parent / "plots" / f"{out.stem}.png")
    return done


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default=str(STUDY / "runs" / "l16" / "base_floor_bal_fw0.003_cont_s0"),
                    help="a finished base (full C) run directory")
    ap.add_argument("--kind", default="mf", choices=SCAN_KINDS,
                    help="the compressed kind scanned (tf: rank r stands for TT ranks (N_T, r, min(r, N_b)))")
    ap.add_argument("--out", default=None, help="default: results/study/rank_scan.json (MF), rank_scan_<kind>.json")
    ap.add_argument("--ranks", type=int, nargs="+", default=None,
                    help=f"default per kind: {'; '.join(f'{k} {list(v)}' for k, v in DEFAULT_RANKS.items())}")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--start", default="scratch", choices=("scratch", "truncate"),
                    help="each rank from a new random model (the paper's scan) or from the trained base truncated")
    ap.add_argument("--subset", type=int, default=1000, help="training cells used for the fine-tuning")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="the models' random seeds (default: the base run's); each rank is scanned with each")
    args = ap.parse_args()
    run_scan(Path(args.base), Path(args.out) if args.out else scan_file(args.kind), args.ranks, args.iterations,
             args.subset, args.threads, args.start, args.seeds, args.kind)


def spread(values, digits: int) -> str:
    """'mean ± sample std' (the mean alone for one value)."""
    v = np.asarray(values, float)
    return f"{v.mean():.{digits}f}" + (f" ± {v.std(ddof=1):.{digits}f}" if len(v) > 1 else "")


def report_section(path: Path, png: str) -> list[str]:
    """Markdown lines for a report: the table of the scan in `path` and its plot (`png`, relative
    to the report); none if the scan has not run."""
    if not path.exists():
        return []
    scan = json.loads(path.read_text())
    st = scan["settings"]
    kind = st.get("kind", "mf")
    model = {"mf": "MF", "rmf": "rank-r MF", "tf": "TF of TT ranks (N_T, r, min(r, N_b))"}[kind]
    how = (f"a new random {model} (linear parameters fitted to the energies)" if st.get("start", "truncate") == "scratch"
           else "the trained base truncated (SVD), linear parameters refitted")
    optimizer = "Riemannian BFGS (fixed rank)" if kind == "rmf" else "BFGS"
    count = " (R-MF: the manifold's dimension r (m + n - r))" if kind == "rmf" else ""
    lines = ["", f"## Errors vs {KIND_LABELS[kind]}", "",
             f"Each rank from {how}, then {st['iterations']} {optimizer} iterations on {st['subset']} training "
             f"configurations under the base run's loss; validation RMSEs on {st['validation']} configurations "
             f"(`examples/training/rank_scan.py --kind {kind}`, base run `{st['base']}`), mean ± sample std over "
             f"the models' random seeds; radial params: those training moves{count}. Equal budgets, not convergence: the base row is the "
             "base run's own result (all its training data, its own iterations).", "",
             f"| {KIND_LABELS[kind]} | radial params | seeds | E val at start | F val at start | E val (meV/atom) "
             "| F val (meV/Å) |",
             "|---|---|---|---|---|---|---|"]
    for r, runs in points(scan).items():
        cell = {k: spread([v[k] for v in runs], digits) for k, digits in
                (("E_start", 1), ("F_start", 0), ("E", 2), ("F", 1))}
        lines.append(f"| {r} | {runs[0]['radial']} | {len(runs)} | {cell['E_start']} | {cell['F_start']} | "
                     f"{cell['E']} | {cell['F']} |")
    b = scan["base"]
    lines.append(f"| base, as trained | {b['radial']} | - | - | - | {b['E']:.2f} | {b['F']:.1f} |")
    return lines + ["", f"![errors vs {KIND_LABELS[kind]}]({png})"]


def plot(done: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scan = points(done)
    ranks = list(scan)
    its = done["settings"]["iterations"]
    kind = done["settings"].get("kind", "mf")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, key, unit in ((axes[0], "E", "meV/atom"), (axes[1], "F", "meV/Å")):
        n = max(len(v) for v in scan.values())
        label = (f"{KIND_NAMES[kind]} from {done['settings'].get('start', 'truncate')}, {its} it. on "
                 f"{done['settings']['subset']} cells"
                 + (f", mean ± std of up to {n} seeds" if n > 1 else ""))
        values = [np.array([v[key] for v in scan[r]]) for r in ranks]
        ax.errorbar(ranks, [v.mean() for v in values], yerr=[v.std(ddof=1) if len(v) > 1 else 0.0 for v in values],
                    fmt="o-", capsize=3, label=label)
        for r, v in zip(ranks, values):
            if len(v) > 1:
                ax.plot([r] * len(v), v, ".", color="0.6", ms=4)
        ax.axhline(done["base"][key], color="k", ls="--", label="base run's result")
        ax.set_xlabel(KIND_LABELS[kind])
        ax.set_ylabel(f"validation {key} RMSE ({unit})")
        ax.set_yscale("log")
    axes[0].legend(fontsize=7, loc="upper right")
    fig.suptitle(Path(done["settings"]["base"]).name, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
