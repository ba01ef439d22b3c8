"""The study's report: OUT/report.md (validation errors per level and model kind, mean +- std over
seeds, SNAP on the same split) and OUT/plots/*.png (time to accuracy, errors vs level), read from
the run directories the study writes (finished or not: unfinished runs are reported as such)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

KIND_NAMES = {"base": "base", "mf": "MF", "rmf": "R-MF", "mfra": "MFRA", "tf": "TF", "ft": "FT (base -> MF)"}


def kind_name(kind: str) -> str:
    """'mf_floor_sm0.001' -> 'MF, radial floors, smoothness 0.001'"""
    base, *variants = kind.split("_")
    words = {"floor": "radial floors", "bal": "balanced group weights", "warm": "warm start",
             "cont": "continued from the run without the change"}

    def word(v):
        if v in words:
            return words[v]
        if v.startswith("sm"):
            return f"smoothness {v[2:]}"
        if v.startswith("fw"):
            return f"w_f {v[2:]}"
        return v

    return ", ".join([KIND_NAMES.get(base, base)] + [word(v) for v in variants])


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
           "iterations": records[-1]["iteration"], "seconds": records[-1].get("seconds", float("nan")),
           "curve": [(r.get("seconds", np.nan), r["validation_energy_rmse_meV_per_atom"],
                      r["validation_force_rmse_meV_per_A"]) for r in val]}
    if report is not None:
        v = report["validation"]["all"]
        row.update(energy=v["energy_meV_per_atom"]["rmse"], forces=v["forces_meV_per_A"]["rmse"],
                   radial=report["radial_parameters"], ranks=report["ranks"], message=report["message"])
    elif val:   # unfinished: its best validation check so far (what best_validation.mtp holds)
        best = min(val, key=lambda r: r.get("validation_loss", np.inf)) if "validation_loss" in val[-1] else val[-1]
        row.update(energy=best["validation_energy_rmse_meV_per_atom"], forces=best["validation_force_rmse_meV_per_A"])
    return row


def collect(out: Path, runs: str = "runs") -> list[dict]:
    rows = [read_run(d) for d in sorted((out / runs).glob("l*/*_s*")) if d.is_dir()]
    return [r for r in rows if r is not None]


def _mean_std(values):
    v = np.asarray(values, float)
    if len(v) == 0:
        return "-"
    return f"{v.mean():.2f}" + (f" ± {v.std(ddof=1):.2f}" if len(v) > 1 else "")


def table(rows: list[dict], snap: dict | None) -> str:
    lines = ["| level | model | radial params | seeds (finished) | E val (meV/atom) | F val (meV/Å) | iterations | time (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for level in sorted({r["level"] for r in rows}):
        for kind in sorted({r["kind"] for r in rows}, key=lambda k: (list(KIND_NAMES).index(k.split("_")[0]), k)):
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
        lines.append(f"| - | published SNAP | - | - | {snap['energy_rmse_meV_per_atom']:.2f} | "
                     f"{snap['force_rmse_meV_per_A']:.2f} | - | - |")
    return "\n".join(lines)


def plot_time_to_accuracy(rows, path: Path, snap):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in rows:
        if not r["curve"]:
            continue
        t, e, f = np.array(r["curve"]).T
        label = f"l{r['level']} {kind_name(r['kind'])} s{r['seed']}" + ("" if r["finished"] else " (running)")
        axes[0].plot(t / 60, e, label=label)
        axes[1].plot(t / 60, f, label=label)
    for ax, what, key in zip(axes, ("energy (meV/atom)", "forces (meV/Å)"),
                             ("energy_rmse_meV_per_atom", "force_rmse_meV_per_A")):
        if snap:
            ax.axhline(snap[key], color="k", ls="--", lw=1, label="published SNAP")
        ax.set_xlabel("wall time (min)")
        ax.set_ylabel(f"validation RMSE, {what}")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


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
    text = ["# Nb-Mo-Ta-W study report", "",
            "Validation split: 10% of `train.xyz` (seed 0: 4754 training / 528 validation configurations). "
            "Errors are validation RMSEs of each run's result (the iterate with the lowest validation loss); "
            "unfinished runs show their best validation check so far. Mean ± sample std over seeds.", "",
            table(rows, snap), "", "![time to accuracy](plots/time_to_accuracy.png)", "",
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
