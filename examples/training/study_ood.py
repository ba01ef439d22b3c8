"""Outside the data, for the study report: each finished recipe run scored on the two proxies
for the held-out test's unseen kind, SNAP as the oracle (ood_quaternary_proxy.py: hot
equiatomic Nb-Mo-Ta-W cells, which train.xyz lacks; ood_snap_proxy.py: one cross-species pair
pushed to 2.2 A in binary cells, where train.xyz has none below 2.7 A). Scores are cached per
run in ood_proxies.json, keyed by the SHA-1 of the potential file, so a report rescores only
new or changed runs. The report gets a table by level and model (mean ± sample std over seeds)
and a plot of the distance from SNAP against the radial parameters.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

CACHE = "ood_proxies.json"
SPECIES = ["Nb", "Mo", "Ta", "W"]
PUSHED = 2.2   # A


class Oracles:
    """SNAP's side of both proxies, made on first use (a minute of SNAP runs) and then shared."""

    def __init__(self):
        self._pair = None

    def __call__(self):
        if self._pair is None:
            from ood_quaternary_proxy import make_snapshots
            from ood_snap_proxy import snap_oracle

            self._pair = (snap_oracle([PUSHED]), make_snapshots())
        return self._pair


def run_proxies(directory: Path, oracles: Oracles) -> dict:
    """{'quaternary': [E RMSE, mean E difference, F RMSE], 'pushed': [dE RMSE, F RMSE]} of the
    run's potential.mtp against SNAP (meV/atom, meV/A), from the cache when the file is unchanged."""
    from mtp_lowrank import Potential
    from ood_quaternary_proxy import errors_vs_snap
    from ood_snap_proxy import proxy_errors

    path = directory / "potential.mtp"
    digest = hashlib.sha1(path.read_bytes()).hexdigest()
    cache = directory / CACHE
    if cache.exists():
        found = json.loads(cache.read_text())
        if found.get("sha1") == digest:
            return found
    oracle, snapshots = oracles()
    pot = Potential.load(path, species=SPECIES)
    scores = {"sha1": digest, "quaternary": list(errors_vs_snap(pot, snapshots)["all"]),
              "pushed": list(proxy_errors(pot, oracle)[PUSHED])}
    cache.write_text(json.dumps(scores, indent=1))
    return scores


def ood_groups(runs: list[dict], oracles: Oracles) -> list[dict]:
    """One entry per level and model of the given (finished) runs: radial parameters, seeds and
    the per-seed proxy scores (arrays over seeds: quaternary E, F; pushed dE, F)."""
    from study_report import model_of, model_order

    scored = [(r, run_proxies(Path(r["directory"]), oracles)) for r in runs]
    groups = []
    for level in sorted({r["level"] for r in runs}):
        for name in sorted({model_of(r["kind"]) for r in runs if r["level"] == level}, key=model_order):
            part = [(r, s) for r, s in scored if r["level"] == level and model_of(r["kind"]) == name]
            groups.append({"level": level, "model": name, "radial": part[0][0]["radial"],
                           "seeds": [r["seed"] for r, _ in part],
                           "q_e": np.array([s["quaternary"][0] for _, s in part]),
                           "q_f": np.array([s["quaternary"][2] for _, s in part]),
                           "p_e": np.array([s["pushed"][0] for _, s in part]),
                           "p_f": np.array([s["pushed"][1] for _, s in part])})
    return groups


def ood_table(groups: list[dict]) -> str:
    from rank_scan import spread
    from study_report import model_name

    lines = ["| level | model | radial params | seeds | quaternary E (meV/atom) | quaternary F (meV/Å) | "
             f"pushed {PUSHED:g} Å dE (meV/atom) | pushed {PUSHED:g} Å F (meV/Å) |", "|---|---|---|---|---|---|---|---|"]
    for g in groups:
        lines.append(f"| {g['level']} | {model_name(g['model'])} | {g['radial']} | {len(g['seeds'])} | "
                     + " | ".join(spread(g[k], digits) for k, digits in (("q_e", 1), ("q_f", 0), ("p_e", 1), ("p_f", 0)))
                     + " |")
    return "\n".join(lines)


def plot_ood_vs_radial(groups: list[dict], path: Path) -> None:
    """Distance from SNAP on both proxies (energy) against the radial parameters, one point per
    level and model (mean over seeds, bars: min to max; colour: the model's family, marker: the
    level, label: the model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from model_kinds import family
    from study_report import model_color, model_name

    markers = {12: "s", 14: "^", 16: "o", 18: "D"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (key, label) in zip(axes, (("q_e", "quaternary cells"), ("p_e", f"cross pair pushed to {PUSHED:g} Å"))):
        for g in groups:
            v = g[key]
            ax.errorbar([g["radial"]], [v.mean()], yerr=[[v.mean() - v.min()], [v.max() - v.mean()]],
                        fmt=markers.get(g["level"], "o"), color=model_color(family(g["model"])), capsize=3)
            ax.annotate(model_name(g["model"]), (g["radial"], v.mean()), textcoords="offset points", xytext=(5, 3),
                        fontsize=7)
        ax.set_xlabel("radial parameters trained")
        ax.set_ylabel("energy RMS difference from SNAP (meV/atom)")
        ax.set_yscale("log")
        ax.set_title(label)
    levels = sorted({g["level"] for g in groups})
    axes[0].legend([Line2D([], [], marker=markers.get(lv, "o"), color="gray", linestyle="") for lv in levels],
                   [f"level {lv}" for lv in levels], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def ood_lines(runs: list[dict], out: Path, oracles: Oracles | None = None) -> list[str]:
    """The report's section on the finished recipe runs outside the data, with its plot."""
    groups = ood_groups(runs, oracles or Oracles())
    if not groups:
        return []
    (out / "plots").mkdir(parents=True, exist_ok=True)
    plot_ood_vs_radial(groups, out / "plots" / "ood_vs_radial.png")
    return ["## Outside the data", "",
            "Every finished recipe run on two proxies for the held-out test's unseen kind (a structure kind absent "
            "from train.xyz, with cross-species contacts below any in it), SNAP as the oracle, not DFT: "
            "`ood_quaternary_proxy.py` (120 snapshots of random equiatomic 128-atom bcc cells under SNAP dynamics "
            "at 300, 1500 and 2500 K; RMS difference from SNAP of the energy and forces) and `ood_snap_proxy.py` "
            f"(100 binary validation cells with one cross pair pushed to {PUSHED:g} Å; of the energy change on "
            "pushing and of the forces). SNAP's own error on the real unseen kind is 6.6 meV/atom and 250 meV/Å. "
            "Mean ± sample std over seeds; scores cached in each run's `ood_proxies.json`.", "",
            ood_table(groups), "", "![outside the data](plots/ood_vs_radial.png)", ""]
