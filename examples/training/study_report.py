"""The study's report: OUT/report.md (validation errors per level and model kind, mean +- std over
seeds, SNAP on the same split) and OUT/plots/*.png (time to accuracy, errors vs level), read from
the run directories the study writes (finished or not: unfinished runs are reported as such)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from mtp_lowrank.training.convergence import kept_by

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model_kinds import family, rank_of  # noqa: E402
from study_ood import ood_lines  # noqa: E402

KIND_NAMES = {"base": "base", "mf": "MF", "rmf": "R-MF", "mfra": "MFRA", "tf": "TF", "ft": "FT (base -> MF)"}
KIND_COLORS = {"base": "tab:red", "mf": "tab:blue", "rmf": "tab:green", "mfra": "tab:purple", "tf": "tab:orange",
               "ft": "tab:brown"}


def model_of(kind: str) -> str:
    """The model a run's kind names first: 'mf_r4_floor_bal' -> 'mf_r4' (an MF at another rank),
    'mf_floor_bal' -> 'mf'."""
    first, *rest = kind.split("_")
    return f"{first}_{rest[0]}" if rest and rank_of(f"{first}_{rest[0]}") is not None else first


def model_name(model: str) -> str:
    """'mf' -> 'MF', 'mf_r4' -> 'MF r 4'."""
    return KIND_NAMES.get(model) or f"{KIND_NAMES[family(model)]} r {rank_of(model)}"


def model_order(model: str) -> tuple:
    """Sort key: the order of KIND_NAMES, an MF at another rank after the MF by its rank."""
    return (list(KIND_NAMES).index(family(model)), rank_of(model) or 0)


def model_color(model: str) -> str:
    return KIND_COLORS.get(model, "tab:cyan")


def kind_name(kind: str) -> str:
    """'mf_floor_sm0.001' -> 'MF, radial floors, smoothness 0.001'"""
    base = model_of(kind)
    variants = kind.split("_")[len(base.split("_")):]
    words = {"floor": "radial floors", "bal": "balanced group weights", "warm": "warm start",
             "cont": "continued from the run without the change",
             "rmse": "rule on the validation RMSEs", "both": "rule on the validation RMSEs and loss"}

    def word(v):
        if v in words:
            return words[v]
        if v.startswith("sm"):
            return f"smoothness {v[2:]}"
        if v.startswith("fw"):
            return f"w_f {v[2:]}"
        if v.startswith("rs"):
            return f"up to {v[2:]} BFGS restarts"
        if v.startswith("mix"):
            return f"mixing rule {v[3:]}"
        return v

    return ", ".join([model_name(base)] + [word(v) for v in variants])


def read_run(directory: Path) -> dict | None:
    """What a run directory holds: configuration, metrics (time to accuracy) and, when finished,
    its report; None before its first iteration."""
    metrics = directory / "metrics.jsonl"
    if not metrics.exists() or not metrics.read_text().strip():
        return None
    records = [json.loads(l) for l in metrics.read_text().splitlines() if l.strip()]
    report = json.loads((directory / "report.json").read_text()) if (directory / "report.json").exists() else None
    level, (kind, seed) = int(directory.parent.name[1:]), directory.name.rsplit("_s", 1)
    val = [r for r in records if "validation_energy_rmse_meV_per_atom" in r]
    row = {"level": level, "kind": kind, "seed": int(seed), "directory": str(directory), "finished": report is not None,
           "source": source_of(directory),
           "iterations": records[-1]["iteration"], "seconds": records[-1].get("seconds", float("nan")),
           "checks": [(r["iteration"], r.get("seconds", np.nan), kept_by(r), r["validation_energy_rmse_meV_per_atom"],
                       r["validation_force_rmse_meV_per_A"]) for r in val if kept_by(r) is not None]}
    # the iterate the rule keeps (best_validation.mtp; the result when finished): its lowest check
    finite = [c for c in row["checks"] if np.isfinite(c[2])]
    row["kept"] = min(finite, key=lambda c: c[2])[0] if finite else None
    if report is not None:
        v = report["validation"]["all"]
        row.update(energy=v["energy_meV_per_atom"]["rmse"], forces=v["forces_meV_per_A"]["rmse"],
                   radial=trained_radial_parameters(kind, report["radial_parameters"], report["ranks"]),
                   ranks=report["ranks"], message=report["message"])
    elif val:   # unfinished: its best validation check so far (what best_validation.mtp holds)
        best = next(r for r in val if r["iteration"] == row["kept"]) if row["kept"] is not None else val[-1]
        row.update(energy=best["validation_energy_rmse_meV_per_atom"], forces=best["validation_force_rmse_meV_per_A"])
    return row


def trained_radial_parameters(kind: str, stored: int, ranks) -> int:
    """The radial parameters a run of `kind` trains, from the `stored` count of its potential
    and its `ranks`: all of them, except for R-MF, which moves on the manifold of rank-r
    matrices, of dimension r (m + n - r): r^2 fewer than the r (m + n) numbers of its factors."""
    return stored - ranks[0] ** 2 if family(model_of(kind)) == "rmf" else stored


def source_of(directory: Path) -> str | None:
    """The run (kind, without its seed) whose potential this run started from (its config's
    model.init), if that is a run of the same level; R-MF's padded start counts as the MF's
    first stage; None for a run from scratch."""
    import yaml

    config = directory / "config.yaml"
    init = yaml.safe_load(config.read_text())["model"].get("init") if config.exists() else None
    if not init:
        return None
    init = Path(init)
    if init.name.startswith("rmf_init"):
        return "mf"
    return init.parent.name.rsplit("_s", 1)[0] if init.parent.parent.name == directory.parent.name else None


def collect(out: Path, runs: str = "runs") -> list[dict]:
    rows = [read_run(d) for d in sorted((out / runs).glob("l*/*_s*")) if d.is_dir()]
    return [r for r in rows if r is not None]


def _mean_std(values):
    """'mean ± sample std' to 2 decimals (rank_scan.spread), '-' for none."""
    from rank_scan import spread

    return spread(values, 2) if len(values) else "-"


def snap_row(snap: dict, rest: str) -> str:
    """The published SNAP's row of a table: its validation errors in the E and F columns, then `rest`."""
    return (f"| - | published SNAP | - | - | {snap['energy_rmse_meV_per_atom']:.2f} | "
            f"{snap['force_rmse_meV_per_A']:.2f} | {rest}")


def table(rows: list[dict], snap: dict | None) -> str:
    lines = ["| level | model | radial params | seeds (finished) | E val (meV/atom) | F val (meV/Å) | iterations | time (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for level in sorted({r["level"] for r in rows}):
        for kind in sorted({r["kind"] for r in rows}, key=lambda k: (model_order(model_of(k)), k)):
            group = [r for r in rows if r["level"] == level and r["kind"] == kind]
            if not group:
                continue
            done = [r for r in group if r["finished"]]
            use = done or group
            radial = done[0]["radial"] if done else "-"
            lines.append(f"| {level} | {kind_name(kind)} | {radial} | {len(group)} ({len(done)}) | "
                         f"{_mean_std([r['energy'] for r in use if 'energy' in r])} | "
                         f"{_mean_std([r['forces'] for r in use if 'forces' in r])} | "
                         f"{_mean_std([r['iterations'] for r in use])} | {_mean_std([r['seconds'] for r in use])} |")
    if snap:
        lines.append(snap_row(snap, "- | - |"))
    return "\n".join(lines)


RULES = (1e-3, 3e-3, 1e-2)   # relative improvements over CONVERGE_WINDOW checks, for the convergence table
CONVERGE_WINDOW = 10


def when_converged(checks, rel: float, window: int = CONVERGE_WINDOW):
    """(iteration, seconds, E, F of the best check so far) at the first validation check at which
    the study's stopping rule (convergence.converged) with this threshold holds; None if never."""
    from mtp_lowrank.training.convergence import converged

    losses = [c[2] for c in checks]
    for k in range(1, len(checks) + 1):
        if converged(losses[:k], window, rel):
            best = min(checks[:k], key=lambda c: c[2])
            return checks[k - 1][0], checks[k - 1][1], best[3], best[4]
    return None


def convergence_table(rows) -> str:
    """When the stopping rule would have stopped each run from scratch (no warm start), at three
    thresholds: iterations, wall minutes and the validation errors of the iterate kept."""
    head = " | ".join(f"{rel:g}: it. / min / E / F" for rel in RULES)
    lines = [f"| run | {head} | where it stopped: it. / min / E / F |", "|---|" + "---|" * (len(RULES) + 1)]
    for r in rows:
        if "warm" in r["kind"] or "cont" in r["kind"] or len(r["checks"]) <= CONVERGE_WINDOW:
            continue
        cells = []
        for rel in RULES:
            hit = when_converged(r["checks"], rel)
            cells.append("not yet" if hit is None else f"{hit[0]} / {hit[1] / 60:.0f} / {hit[2]:.2f} / {hit[3]:.1f}")
        stop = (f"{r['iterations']} / {r['seconds'] / 60:.0f} / {r['energy']:.2f} / {r['forces']:.1f}"
                + ("" if r["finished"] else " (unfinished)")) if "energy" in r else "-"
        lines.append(f"| {Path(r['directory']).parent.name}/{Path(r['directory']).name} | " + " | ".join(cells)
                     + f" | {stop} |")
    return "\n".join(lines)


def predecessor(row) -> str | None:
    """The run a staged run continued (its source_of), None for a run from scratch."""
    return row.get("source")


def chain_root(row, rows) -> dict:
    """The run from scratch that a staged run's chain of stages started with."""
    prev = [r for r in rows if r["kind"] == predecessor(row) and r["level"] == row["level"] and r["seed"] == row["seed"]]
    return chain_root(prev[0], rows) if prev else row


def mixing_of(kind: str) -> str:
    """', mixing rule <lambda>' for runs with the mixing rule (nbmotaw_study.py --mixing), else ''."""
    mix = [v[3:] for v in kind.split("_") if v.startswith("mix")]
    return f", mixing rule {mix[0]}" if mix else ""


def recipe_of(root_kind: str) -> str:
    """What a chain of runs is, named by the run it started from (nbmotaw_study.py); the mixing
    rule is a variant of each (mixing_of)."""
    root_kind = "_".join(v for v in root_kind.split("_") if not v.startswith("mix"))
    name = model_of(root_kind)
    if root_kind == name:
        return "pipeline"        # PIPELINE: uniform weights, then balanced, then w_f 0.003
    if root_kind == f"{name}_floor_bal":
        return "recipe"          # RECIPE: w_f 0.01, then 0.003 with restarts, each until the rule
    if root_kind == f"{name}_floor_bal_fw0.003":
        return "one stage"
    if root_kind.startswith(f"{name}_floor_bal_fw0.003_rs"):
        return "one stage, BFGS restarts"
    return kind_name(root_kind)


RECIPE_STYLES = {"pipeline": dict(ls="--", lw=1.0), "recipe": dict(ls="-", lw=2.2), "one stage": dict(ls="-", lw=1.0),
                 "one stage, BFGS restarts": dict(ls=":", lw=1.4)}


def staged_offset(row, rows) -> tuple[float, int]:
    """(seconds, iterations) spent before this run by the stages it continues."""
    prev = predecessor(row)
    match = [r for r in rows if r["kind"] == prev and r["level"] == row["level"] and r["seed"] == row["seed"]]
    if prev is None or not match:
        return 0.0, 0
    t, it = staged_offset(match[0], rows)
    return t + match[0]["seconds"], it + match[0]["iterations"]


def restarts_of(row) -> list[int]:
    """The iterations at which the run's BFGS restarted (its saved optimizer state)."""
    state = Path(row["directory"]) / "checkpoint_state.npz"
    if not state.exists():
        return []
    with np.load(state) as z:
        return [int(k) for k in z["restarts"]] if "restarts" in z.files else []


def recipe_table(rows) -> str:
    """Each model trained with nbmotaw_study.py's RECIPE, end to end: where each stage stopped and
    why, the total iterations and wall minutes (training only; each stage also spends ~1.5 min
    loading data), and the validation errors of the result."""
    lines = ["| level | model | seed | stage 1: it. / min / stop | stage 2: it. / min / restarts at / stop | "
             "total it. / min | E val | F val |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if predecessor(r) is None or recipe_of(chain_root(r, rows)["kind"]) != "recipe":
            continue
        first = chain_root(r, rows)

        def stop(x):
            return x.get("message", "running").split(" (")[0].split(":")[0] if x["finished"] else "running"

        rule = {"rmse": ", stage 2 on the RMSEs", "both": ", stage 2 on the RMSEs and loss"}.get(rule_of(r), "")
        lines.append(f"| {r['level']} | {model_name(model_of(r['kind']))}{mixing_of(r['kind'])}{rule} | "
                     f"{r['seed']} | {first['iterations']} / {first['seconds'] / 60:.1f} / {stop(first)} | "
                     f"{r['iterations']} / {r['seconds'] / 60:.1f} / {', '.join(map(str, restarts_of(r))) or '-'} / "
                     f"{stop(r)} | {first['iterations'] + r['iterations']} / {(first['seconds'] + r['seconds']) / 60:.1f} | "
                     f"{r.get('energy', float('nan')):.2f} | {r.get('forces', float('nan')):.1f} |")
    return "\n".join(lines)


def plot_time_to_accuracy(rows, path: Path, snap):
    """Validation RMSE against wall time (top; every run on its own clock, from its own start) and
    against iterations counted from scratch (bottom; a staged run continues its predecessors')."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for r in rows:
        if not r["checks"]:
            continue
        it, t, _, e, f = np.array(r["checks"]).T
        t0, it0 = staged_offset(r, rows)
        name = model_of(r["kind"])
        recipe = recipe_of(chain_root(r, rows)["kind"])
        label = None
        if predecessor(r) is None or model_of(predecessor(r)) != name:   # once per chain and kind
            label = f"{model_name(name)} {recipe}{mixing_of(r['kind'])}" + (f" (seed {r['seed']})" if r["seed"] else "") + \
                (f" l{r['level']}" if r["level"] != 16 else "")
        style = dict(color=model_color(name), label=label, **RECIPE_STYLES.get(recipe, dict(ls="-.", lw=0.8)))
        for col, y in ((0, e), (1, f)):
            axes[0, col].plot((t + t0) / 60, y, **style)
            axes[1, col].plot(it + it0, y, **style)
    for row_axes, xlabel in zip(axes, ("wall time from the start of the first stage (min)", "BFGS iterations from scratch")):
        for ax, what, key in zip(row_axes, ("energy (meV/atom)", "forces (meV/Å)"),
                                 ("energy_rmse_meV_per_atom", "force_rmse_meV_per_A")):
            if snap:
                ax.axhline(snap[key], color="k", ls=":", lw=1, label="published SNAP")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(f"validation RMSE, {what}")
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
    axes[0, 1].legend(fontsize=6)
    fig.suptitle("thick: the recipe (w_f 0.01, then 0.003 with restarts, each until the rule; balanced, floors); "
                 "thin: one stage with the final weights (dotted: with restarts);\ndashed: the pipeline behind the shipped "
                 "potentials (uniform weights, then balanced, then w_f 0.003; TF, R-MF, MFRA from the MF's first stage).\n"
                 "Stages chained; wall times as measured, on different days and loads: compare recipes by iterations "
                 "(bottom)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def rank_scan_lines(out: Path) -> list[str]:
    """The rank scans' sections (rank_scan.py: rank_scan.json for the MF, rank_scan_<kind>.json
    for the others), those that ran."""
    from rank_scan import SCAN_KINDS, report_section, scan_file

    files = [scan_file(kind, out) for kind in SCAN_KINDS]
    return [line for f in files for line in report_section(f, f"plots/{f.stem}.png")]


def plot_errors_vs_level(rows, path: Path, snap) -> None:
    """Validation RMSE vs level of each model kind as the recipe trained it (recipe_results: the
    headline comparison's runs), mean and sample std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    results = recipe_results(rows)
    for name in sorted({model_of(r["kind"]) for r in results}, key=model_order):
        of_kind = [r for r in results if model_of(r["kind"]) == name]
        levels = sorted({r["level"] for r in of_kind})
        if not levels:
            continue
        for ax, key in zip(axes, ("energy", "forces")):
            values = [[r[key] for r in of_kind if r["level"] == lv] for lv in levels]
            ax.errorbar(levels, [np.mean(v) for v in values], yerr=[np.std(v, ddof=1) if len(v) > 1 else 0 for v in values],
                        marker="o", capsize=3, color=model_color(name), label=model_name(name))
    for ax, what, key in zip(axes, ("energy (meV/atom)", "forces (meV/Å)"),
                             ("energy_rmse_meV_per_atom", "force_rmse_meV_per_A")):
        if snap:
            ax.axhline(snap[key], color="k", ls=":", lw=1, label="published SNAP")
        ax.set_xlabel("MTP level")
        ax.set_xticks(sorted({r["level"] for r in results}))
        ax.set_ylabel(f"validation RMSE, {what}")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def rule_of(row) -> str:
    """optimizer.converge_on of the run, from its name: rmse (_rmse), both (_both) or loss."""
    return next((v for v in row["kind"].split("_") if v in ("rmse", "both")), "loss")


def recipe_results(rows, mixing: str = ", mixing rule 0.1") -> list[dict]:
    """The finished runs of the recipe's last stage (the rule on the validation RMSEs) with its
    mixing rule: what the comparison and the errors-vs-level plot show."""
    return [r for r in rows if r["finished"] and predecessor(r) is not None and mixing_of(r["kind"]) == mixing
            and recipe_of(chain_root(r, rows)["kind"]) == "recipe" and rule_of(r) == "rmse"]


def comparison_table(rows, snap: dict | None, mixing: str = ", mixing rule 0.1") -> str:
    """The paper's comparison as the recipe (with its mixing rule) trained it: one row per level and
    model, over the finished seeds of the recipe's last stage (on the rule on the validation RMSEs;
    the earlier stage 2 on the loss rule is in criterion_table); mean ± sample std, the best seed,
    the radial parameters as a share of the base's, end-to-end training minutes (both stages),
    and the ratio of the mean errors to the published SNAP's."""
    lines = ["| level | model | radial params (% of base) | seeds | E val (meV/atom) | F val (meV/Å) | "
             "best seed: E / F | min, both stages | E / SNAP | F / SNAP |", "|---|---|---|---|---|---|---|---|---|---|"]
    last = recipe_results(rows, mixing)
    for level in sorted({r["level"] for r in last}):
        base = [r for r in last if r["level"] == level and model_of(r["kind"]) == "base"]
        for name in sorted({model_of(r["kind"]) for r in last}, key=model_order):
            group = [r for r in last if r["level"] == level and model_of(r["kind"]) == name]
            if not group:
                continue
            e, f = (np.array([r[k] for r in group]) for k in ("energy", "forces"))
            best = min(group, key=lambda r: r["energy"] / (snap or {}).get("energy_rmse_meV_per_atom", 1.0)
                       + r["forces"] / (snap or {}).get("force_rmse_meV_per_A", 1.0))
            share = f" ({100 * group[0]['radial'] / base[0]['radial']:.0f}%)" if base else ""
            minutes = [(r["seconds"] + chain_root(r, rows)["seconds"]) / 60 for r in group]
            ratio = ((f"{e.mean() / snap['energy_rmse_meV_per_atom']:.2f} | {f.mean() / snap['force_rmse_meV_per_A']:.2f}")
                     if snap else "- | -")
            lines.append(f"| {level} | {model_name(name)} | {group[0]['radial']}{share} | {len(group)} | {_mean_std(e)} | "
                         f"{_mean_std(f)} | {best['energy']:.2f} / {best['forces']:.1f} (seed {best['seed']}) | "
                         f"{_mean_std(minutes)} | {ratio} |")
    if snap:
        lines.append(snap_row(snap, "- | - | 1 | 1 |"))
    return "\n".join(lines)


def criterion_table(rows) -> str:
    """Stage 2 of the recipe, paired: the same start (stage 1, same seed) continued until the rule
    on the validation loss, on the validation RMSEs (optimizer.converge_on rmse, runs named
    _rmse), or on both (_both): iterations run, the kept iterate, minutes, validation E and F."""
    lines = ["| level | model | seed | rule on | iterations (kept) | min | E val (meV/atom) | F val (meV/Å) |",
             "|---|---|---|---|---|---|---|---|"]
    names = {"loss": "loss", "rmse": "**RMSEs**", "both": "**RMSEs and loss**"}
    stage2 = {}   # (level, seed, kind without the rule) -> its runs by rule
    for r in rows:
        if r["finished"] and (rule_of(r) != "loss" or "cont" in r["kind"].split("_")):
            plain = "_".join(v for v in r["kind"].split("_") if v != rule_of(r))
            stage2.setdefault((r["level"], r["seed"], plain), {})[rule_of(r)] = r
    for (level, seed, plain), runs in sorted(stage2.items(), key=lambda x: (
            x[0][0], model_order(model_of(x[0][2])), x[0][1])):
        if set(runs) == {"loss"}:
            continue   # no other rule from the same start
        for run, rule in [(runs[k], names[k]) for k in names if k in runs]:
            kept = run["kept"] if run["kept"] is not None else "-"
            lines.append(f"| {run['level']} | {model_name(model_of(run['kind']))} | {run['seed']} | {rule} | "
                         f"{run['iterations']} ({kept}) | {run['seconds'] / 60:.1f} | {run['energy']:.2f} | "
                         f"{run['forces']:.1f} |")
    return "\n".join(lines)


def write_report(out: Path, data: str, snap_dir: Path | None = None) -> Path:
    rows = collect(out)
    snap = None
    snap_dir = snap_dir or Path(data).parent
    if (snap_dir / "Ta-W-Nb-Mo.snapcoeff").exists():
        import ase.io

        from mtp_lowrank.training import split
        from snap_reference import snap_errors

        cache = out / "snap_validation.json"
        if not cache.exists():
            train, val = split(ase.io.read(data, ":"), 0.1, 0)
            snap_errors(train, val, snap_dir, cache)
        snap = json.loads(cache.read_text())
    (out / "plots").mkdir(parents=True, exist_ok=True)
    plot_time_to_accuracy(rows, out / "plots" / "time_to_accuracy.png", snap)
    plot_errors_vs_level(rows, out / "plots" / "errors_vs_level.png", snap)
    text = ["# Nb-Mo-Ta-W study report", "",
            "Validation split: 10% of `train.xyz` (seed 0: 4754 training / 528 validation configurations). "
            "Errors are validation RMSEs of each run's result (the iterate its rule kept: the lowest validation "
            "loss, or for runs named _rmse the lowest geometric mean of the validation energy and force RMSEs); "
            "unfinished runs show their best validation check so far. Mean ± sample std over seeds.", "",
            "## The paper's comparison, as the recipe trains it", "",
            "Every model trained end to end by `nbmotaw_study.py --recipe` (two stages, mixing rule 0.1, stage 2 "
            "until the rule on the validation RMSEs; table \"The recipe, end to end\" below): mean ± sample std "
            "over the finished seeds, the best seed (lowest "
            "sum of E and F relative to SNAP), training minutes of both stages, and mean errors relative to the "
            "published SNAP on the same validation cells.", "",
            comparison_table(rows, snap), ""] + (ood_lines(recipe_results(rows), out) if snap else []) + [
            "## Every run, by model and schedule", "",
            table(rows, snap), "", "![time to accuracy](plots/time_to_accuracy.png)", "",
            "## Convergence", "",
            f"When the stopping rule (converged when the best validation loss of the last {CONVERGE_WINDOW} checks, "
            "one every 20 iterations, improves on the best before them by less than the threshold) stops each run "
            "that started from scratch, at three thresholds (the runs use 0.001): iterations, wall minutes, and the "
            "validation E (meV/atom) and F (meV/Å) of the iterate kept; the last column is where the run itself "
            "stopped (its budget, or the rule after its BFGS restarts: runs named _rs<n>). Wall times are those "
            "of the machine as it was (other jobs on it are noted in findings.md).", "",
            convergence_table(rows), "",
            "## The recipe, end to end", "",
            "`nbmotaw_study.py --recipe` (RECIPE): stage 1 from scratch with balanced group weights, radial floors "
            "and w_f 0.01 until the stopping rule (0.1% over 10 checks) or 1500 iterations; stage 2 continues with "
            "w_f 0.003 until the rule fires after up to 2 BFGS restarts, or 1500 iterations (on the validation "
            "RMSEs; rows without \"stage 2 on the RMSEs\" ran it on the validation loss, as the recipe did until "
            "2026-12-07, and \"on the RMSEs and loss\" stopped only when both were flat). Both stages with the "
            "mixing rule (loss.radial_mixing 0.1, mixed floors) by default; rows without it ran with `--mixing 0`. "
            "Minutes are training time (each stage also spends 1-2 min loading data and fitting floors).", "",
            recipe_table(rows), "",
            "## Stage 2 until the rule on the validation RMSEs", "",
            "Until 2026-12-07 the recipe's stage 2 kept the iterate with the lowest validation loss and stopped when "
            "that loss stopped improving. The loss sums forces over atoms, so with w_f 0.003 it is mostly forces. "
            "Each pair below continues the same stage 1 (same seed) with the same loss, once on that rule and once "
            "with `optimizer.converge_on: rmse` (the rule and the kept iterate on the geometric mean of the "
            "validation energy and force RMSEs; runs named _rmse; the recipe's stage 2 since).", "",
            criterion_table(rows), ""] + rank_scan_lines(out) + [
            "", "![errors vs level](plots/errors_vs_level.png)", "",
            "## Runs", "", "| run | finished | iterations | time (s) | E | F | stop |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        text.append(f"| {Path(r['directory']).relative_to(out)} | {r['finished']} | {r['iterations']} | "
                    f"{r['seconds']:.0f} | {r.get('energy', float('nan')):.2f} | {r.get('forces', float('nan')):.1f} | "
                    f"{r.get('message', 'running or stopped')} |")
    path = out / "report.md"
    path.write_text("\n".join(text) + "\n")
    print(f"wrote {path}")
    return path


def write_ood_report(out: Path, data: str, split: dict) -> Path:
    """OUT/report_<split>.md: each finished out-of-domain run's potential on the held-out cells
    (overall and per group), next to SNAP on the same cells."""
    import ase.io

    from mtp_lowrank import Potential
    from mtp_lowrank.training import errors
    from snap_reference import snap_errors

    images = ase.io.read(data, ":")
    held = [images[k] for k in split["held_out"]]
    kept = [images[k] for k in split["kept"]]
    lines = [f"# Out-of-domain test: {split['split']}", "",
             f"{len(held)} held-out cells (the test), {len(kept)} kept for training and validation.", "",
             "| run | E test (meV/atom) | F test (meV/Å) |", "|---|---|---|"]
    snap_dir = Path(data).parent
    if (snap_dir / "Ta-W-Nb-Mo.snapcoeff").exists():
        snap = snap_errors(kept, held, snap_dir, out / f"snap_{split['split']}.json")
        lines.append(f"| published SNAP (fitted to all cells) | {snap['energy_rmse_meV_per_atom']:.2f} | "
                     f"{snap['force_rmse_meV_per_A']:.1f} |")
    for directory in sorted((out / f"runs_{split['split']}").glob("l*/*_s*")):
        pot_file = directory / "potential.mtp"
        if not pot_file.exists():
            continue
        e = errors(Potential.load(pot_file), held, by_group=False)["all"]
        lines.append(f"| {directory.relative_to(out)} | {e['energy_meV_per_atom']['rmse']:.2f} | "
                     f"{e['forces_meV_per_A']['rmse']:.1f} |")
    path = out / f"report_{split['split']}.md"
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")
    return path
