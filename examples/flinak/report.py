"""The FLiNaK study's report: OUT/report.md (a table like the paper's Table III: model, radial
parameters, validation errors, NPT density at each temperature with its block-averaging error,
the teacher and experiment) and OUT/plots/{density.png, rdf_<T>K.png}."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

JANZ = (2.579, -6.24e-4)   # FLiNaK density, g/cm^3 = a + b T(K) (Janz, Molten Salts Handbook)


def experiment(temperature: float) -> float:
    return JANZ[0] + JANZ[1] * temperature


def _runs(out: Path, args):
    rows = {}
    for model_dir in sorted((out / "npt").glob("*")):
        rows[model_dir.name] = {}
        for t in args.temperatures:
            f = model_dir / f"T{t:g}" / "summary.json"
            if f.exists():
                rows[model_dir.name][t] = json.loads(f.read_text())
    return rows


def _model_info(out: Path, name: str) -> dict:
    rep = out / "runs" / name / "report.json"
    if not rep.exists():
        return {}
    r = json.loads(rep.read_text())
    from mtp_lowrank import Potential

    pot = Potential.load(out / "runs" / name / "potential.mtp")
    val = (r.get("validation") or {}).get("all", {})
    cfg = _config(out, name)
    stress = val.get("stress_GPa", {}).get("rmse")
    return {"radial": pot.parameter_count("radial"), "E": val.get("energy_meV_per_atom", {}).get("rmse"),
            "F": val.get("forces_meV_per_A", {}).get("rmse"), "S": stress, "iterations": r.get("iterations"),
            "message": r.get("message"), "minutes": r.get("seconds", 0) / 60,
            "init": cfg.get("model", {}).get("init"), "configs": cfg.get("data", {}).get("max_configs")}


def _config(out: Path, name: str) -> dict:
    import yaml

    f = out / "runs" / name / "config.yaml"
    return yaml.safe_load(f.read_text()) if f.exists() else {}


def _ions(out: Path) -> str:
    for f in sorted((out / "npt").glob("*/T*/start.data")):
        for line in f.read_text().splitlines()[:6]:
            if line.strip().endswith("atoms"):
                return line.split()[0]
    return "1512"


def write_report(out: Path, args) -> None:
    rows = _runs(out, args)
    temps = args.temperatures
    lines = ["# FLiNaK NPT densities (the paper's Table III workflow)", "",
             f"NPT: {_ions(out)} ions, 1 bar, 1 fs, {args.equilibrate_ps:g} ps equilibration + {args.produce_ps:g} ps "
             "production; density = production mean +- standard error of 10 block means (g/cm^3).",
             "The teacher is the Tosi-Fumi rigid-ion model (teacher.py); the MTPs are scored against it. "
             "Experiment (Janz: 2.579 - 6.24e-4 T) is context only: the teacher is about 16% below it.", "",
             "| model | radial params | E val (meV/atom) | F val (meV/A) | " + " | ".join(f"{t:g} K" for t in temps) + " |",
             "|---|---|---|---|" + "---|" * len(temps)]
    for name, by_t in rows.items():
        info = _model_info(out, name)
        cells = []
        for t in temps:
            r = by_t.get(t)
            cells.append("-" if r is None else "FAILED" if r["failed"] else f"{r['density']:.4f} +- {r['density_error']:.4f}")
        fmt = lambda v, p: "-" if v is None else f"{v:.{p}f}"   # noqa: E731
        lines.append(f"| {name} | {info.get('radial', '-')} | {fmt(info.get('E'), 2)} | {fmt(info.get('F'), 1)} | "
                     + " | ".join(cells) + " |")
    lines.append("| experiment (Janz) | - | - | - | " + " | ".join(f"{experiment(t):.4f}" for t in temps) + " |")
    teacher = rows.get("teacher", {})
    diffs = []
    for name, by_t in rows.items():
        if name == "teacher":
            continue
        for t in temps:
            if t in by_t and t in teacher and not by_t[t]["failed"] and not teacher[t]["failed"]:
                d = by_t[t]["density"] - teacher[t]["density"]
                err = np.hypot(by_t[t]["density_error"], teacher[t]["density_error"])
                diffs.append(f"- {name} {t:g} K: {d:+.4f} g/cm^3 vs teacher (combined error {err:.4f})")
    if diffs:
        lines += ["", "## Difference from the teacher", ""] + diffs
    lines += _acceptance(rows, temps)
    lines += _stability(out)
    lines += _rank_scan(out)
    lines += _provenance(out, rows)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    _density_plot(rows, temps, out / "plots" / "density.png")
    lines += ["", "![density](plots/density.png)"]
    if _rdf_plot(out, args.rdf_temperature, out / "plots" / f"rdf_{args.rdf_temperature:g}K.png"):
        lines += [f"![rdf](plots/rdf_{args.rdf_temperature:g}K.png)"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print(f"report: {out / 'report.md'}", flush=True)


def _rank_scan(out: Path) -> list:
    """The rankscan stage's table (validation errors vs MF rank), if it ran."""
    from rank_scan import report_section

    return report_section(out / "rank_scan.json", "plots/rank_scan.png")


def _acceptance(rows, temps) -> list:
    """The study's acceptance: base within 0.01 g/cm^3 of the teacher at every temperature; every
    compressed model within 0.005 of base or within their combined error bars."""
    ok = lambda r: r is not None and not r["failed"]   # noqa: E731
    teacher, base = rows.get("teacher", {}), rows.get("base", {})
    lines = ["", "## Acceptance", ""]
    for t in temps:
        b, tt = base.get(t), teacher.get(t)
        if ok(b) and ok(tt):
            d = b["density"] - tt["density"]
            lines.append(f"- base {t:g} K: {d:+.4f} g/cm^3 from the teacher: {'within' if abs(d) <= 0.01 else 'NOT within'} 0.01")
    for name, by_t in rows.items():
        if name in ("teacher", "base"):
            continue
        for t in temps:
            r, b = by_t.get(t), base.get(t)
            if ok(r) and ok(b):
                d = r["density"] - b["density"]
                err = float(np.hypot(r["density_error"], b["density_error"]))
                verdict = "within 0.005" if abs(d) <= 0.005 else "within the combined error" if abs(d) <= err else \
                    "NOT within 0.005 or the combined error"
                lines.append(f"- {name} {t:g} K: {d:+.4f} g/cm^3 from base (combined error {err:.4f}): {verdict}")
    return lines if len(lines) > 3 else []


def _stability(out: Path) -> list:
    """The long runs of the stability stage: no lost atoms or NaN, density within [0.5, 1.5] x
    the teacher's at that temperature (no collapse or boiling off)."""
    import json

    lines = []
    for path in sorted((out / "stability").glob("*/T*/summary.json")):
        r = json.loads(path.read_text())
        name, t = path.parent.parent.name, r["temperature"]
        teacher_file = out / "npt" / "teacher" / f"T{t:g}" / "summary.json"
        ref = json.loads(teacher_file.read_text()).get("density") if teacher_file.exists() else None
        if r["failed"]:
            verdict = "FAILED: " + r.get("error", "").strip().splitlines()[-1][:200] if r.get("error") else "FAILED"
        else:
            bounded = ref is None or 0.5 * ref <= r["density_min"] and r["density_max"] <= 1.5 * ref
            verdict = (f"{'stable' if bounded else 'NOT stable'}: density {r['density_min']:.4f}..{r['density_max']:.4f} "
                       f"g/cm^3, mean {r['density']:.4f} +- {r['density_error']:.4f}")
        lines.append(f"- {name} {t:g} K, {r['produce_ps']:g} ps after {r['equilibrate_ps']:g} ps: {verdict} "
                     f"({r['seconds'] / 60:.0f} min)")
    return (["", "## Long runs (no lost atoms, NaN or collapse)", ""] + lines) if lines else []


def _provenance(out: Path, rows) -> list:
    """How the models were trained and on what data (checksums), and the command."""
    import sys

    lines = ["", "## Models and data", ""]
    ds = out / "data" / "dataset.json"
    data = json.loads(ds.read_text()) if ds.exists() else None
    for name in rows:
        info = _model_info(out, name)
        if info:
            if data and info["configs"]:
                info["configs"] = min(info["configs"], data["configurations"])
            start = f"warm start from {Path(info['init']).parent.name}" if info.get("init") else "random start"
            stress = f", stress {info['S']:.3f} GPa" if info.get("S") is not None else ""
            lines.append(f"- {name}: {info['iterations']} BFGS iterations ({info['message']}), {info['minutes']:.0f} min, "
                         f"{start}, {info['configs'] or 'all'} configurations (10% of them validate); validation E {info['E']:.2f} meV/atom, F {info['F']:.1f} meV/A{stress}")
    if data:
        d = data
        lines.append(f"- data: {d['configurations']} labelled configurations, {d['atoms']} atoms; all.xyz SHA-256 "
                     f"{d['all.xyz']} (regenerated from the seed, not committed)")
    lines.append("- made by: `python examples/flinak/" + " ".join([Path(sys.argv[0]).name] + sys.argv[1:]) + "`")
    return lines


def _density_plot(rows, temps, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for k, (name, by_t) in enumerate(rows.items()):
        ts = [t for t in temps if t in by_t and not by_t[t]["failed"]]
        if ts:
            ax.errorbar(np.array(ts) + 4 * (k - len(rows) / 2), [by_t[t]["density"] for t in ts],
                        yerr=[by_t[t]["density_error"] for t in ts], marker="o", capsize=3, label=name,
                        lw=2 if name == "teacher" else 1)
    ax.plot(temps, [experiment(t) for t in temps], "k--", label="experiment (Janz)")
    ax.set_xlabel("T (K)")
    ax.set_ylabel("density (g/cm$^3$)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _rdf_plot(out: Path, temperature: float, path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from npt import RDF_PAIRS, read_rdf

    files = {d.name: d / f"T{temperature:g}" / "rdf.txt" for d in sorted((out / "npt").glob("*"))}
    files = {k: f for k, f in files.items() if f.exists() and f.stat().st_size > 200
             and not json.loads((f.parent / "summary.json").read_text())["failed"]}
    if not files:
        return False
    fig, axes = plt.subplots(2, 3, figsize=(11, 6))
    for name, f in files.items():
        rdf = read_rdf(f)
        for ax, pair in zip(axes.ravel(), RDF_PAIRS):
            r, g = rdf[pair]
            ax.plot(r, g, lw=2 if name == "teacher" else 1, label=name)
            ax.set_title("-".join(pair))
    axes[0, 0].legend(fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("r (A)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
