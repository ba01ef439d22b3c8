"""How much the short-contact proxy (ood_snap_proxy.py: one cross-species pair pushed to 2.2 A in
binary validation cells, SNAP as the oracle) moves along one training trajectory, where the
validation errors barely do. Reads the iterates a run kept at its validation checks
(output.keep_checks: checks/iteration_<N>.mtp; the study keeps them) and scores each.

    python examples/training/ood_trajectory.py RUN_DIR [RUN_DIR ...] [--last 20]

Output: results/ood_trajectory.md, per run one row per check (validation E and F from its
metrics.jsonl, proxy dE and F at each distance) and the spread of the proxy over those checks:
if neighbouring iterates differ by 2x there, so can two kinds' kept iterates for no reason of kind.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ood_snap_proxy import SPECIES, proxy_errors, snap_oracle  # noqa: E402

from mtp_lowrank.training.convergence import kept_by  # noqa: E402

NEAR = 0.02   # checks within 2% of the best validation value count as equally good fits


def checks_of(run: Path, last: int) -> list[tuple[int, Path, dict]]:
    """(iteration, its saved iterate, its metrics.jsonl record) of the run's last `last` checks."""
    records = {r["iteration"]: r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
               if "validation_energy_rmse_meV_per_atom" in r}
    saved = sorted(run.glob("checks/iteration_*.mtp"))
    if not saved:
        raise SystemExit(f"{run}: no checks/iteration_*.mtp (train with output.keep_checks: true)")
    found = [(int(p.stem.split("_")[1]), p) for p in saved]
    return [(it, p, records[it]) for it, p in found if it in records][-last:]


def spread(values) -> str:
    """'min / median / max (max/min x)' of positive values."""
    v = np.asarray(values, float)
    return f"{v.min():.1f} / {np.median(v):.1f} / {v.max():.1f} ({v.max() / v.min():.1f}x)"


def spread_lines(checks, distances) -> list[str]:
    """The spread of the validation errors and of the proxy at each distance over `checks`
    ((iteration, metrics record, {distance: (dE, F)}) each), as Markdown list items."""
    lines = [f"- validation E {spread([c[1]['validation_energy_rmse_meV_per_atom'] for c in checks])} meV/atom, "
             f"F {spread([c[1]['validation_force_rmse_meV_per_A'] for c in checks])} meV/Å"]
    return lines + [f"- proxy at {d:g} Å: dE {spread([c[2][d][0] for c in checks])} meV/atom, "
                    f"F {spread([c[2][d][1] for c in checks])} meV/Å" for d in distances]


def run_section(run: Path, last: int, oracle: dict, distances) -> list[str]:
    from mtp_lowrank import Potential

    report = json.loads((run / "report.json").read_text()) if (run / "report.json").exists() else {}
    kept = report.get("kept_iteration")
    cache_file = run / "checks" / f"proxy_{len(oracle['base'])}_cells.json"   # {file: {distance: (dE, F)}}
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}

    def proxy(path):
        found = cache.get(path.name, {})
        if not all(str(d) in found for d in distances):
            found.update({str(d): v for d, v in proxy_errors(Potential.load(path, species=SPECIES), oracle).items()})
            cache[path.name] = found
            cache_file.write_text(json.dumps(cache))
        return {d: found[str(d)] for d in distances}

    checks = [(it, rec, proxy(path)) for it, path, rec in checks_of(run, last)]
    head = "| iteration | E val | F val | " + " | ".join(f"dE {d:g} A | F {d:g} A" for d in distances) + " |"
    lines = [f"## {run.parent.name}/{run.name}", "", f"{len(checks)} checks, iterations {checks[0][0]} to {checks[-1][0]}.",
             "", head, "|---|---|---|" + "---|---|" * len(distances)]
    for it, rec, s in checks:
        lines.append(f"| {it}{' (kept)' if it == kept else ''} | {rec['validation_energy_rmse_meV_per_atom']:.2f} | "
                     f"{rec['validation_force_rmse_meV_per_A']:.1f} | "
                     + " | ".join(f"{s[d][0]:.1f} | {s[d][1]:.0f}" for d in distances) + " |")
        print(f"{run.name} {lines[-1]}", flush=True)
    lines += ["", "Spread over these checks (min / median / max):", "", *spread_lines(checks, distances)]
    # the iterates the validation data cannot tell apart from the best one: within NEAR of its value
    scored = [c for c in checks if kept_by(c[1]) is not None]
    if scored:
        best = min(kept_by(c[1]) for c in scored)
        near = [c for c in scored if kept_by(c[1]) <= (1 + NEAR) * best]
        lines += ["", f"The {len(near)} checks within {100 * NEAR:g}% of the best value the rule keeps by "
                  f"(iterations {', '.join(str(c[0]) for c in near)}):", "", *spread_lines(near, distances)]
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--last", type=int, default=20, help="the last this many checks of each run")
    ap.add_argument("--cells", type=int, default=100)
    ap.add_argument("--distances", type=float, nargs="+", default=[2.2])
    ap.add_argument("--out", type=Path, default=HERE / "results" / "ood_trajectory.md")
    args = ap.parse_args()
    oracle = snap_oracle(args.distances, args.cells)
    lines = ["# The short-contact proxy along training trajectories", "",
             f"`ood_trajectory.py` (command: `python examples/training/ood_trajectory.py "
             f"{' '.join(str(r) for r in args.runs)} --last {args.last}`). Proxy as in `ood_snap_proxy.md`: "
             f"{len(oracle['base'])} binary validation cells, one cross-species pair pushed together; errors vs "
             "SNAP in the energy change (meV/atom) and the forces (meV/Å).", ""]
    for run in args.runs:
        lines += run_section(run, args.last, oracle, args.distances)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
