"""Error metrics against reference data: RMSE and MAE of energies (meV/atom), forces (meV/A)
and stresses (GPa), overall and per `atoms.info["group"]`."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..potential import Potential
from .loss import reference_data

__all__ = ["errors"]

EV_PER_A3_TO_GPA = 160.21766208


def _stats(x):
    x = np.asarray(x, float)
    if x.size == 0:
        return {"rmse": float("nan"), "mae": float("nan"), "n": 0}
    return {"rmse": float(np.sqrt(np.mean(x**2))), "mae": float(np.mean(np.abs(x))), "n": int(x.size)}


def errors(potential: Potential, images, by_group: bool = True) -> dict:
    """{"all": {...}, "groups": {name: {...}}} with energy_meV_per_atom, forces_meV_per_A and
    stress_GPa entries, each {"rmse", "mae", "n"}."""
    ev = potential.evaluator()
    buckets = defaultdict(lambda: {"e": [], "f": [], "s": []})
    for atoms in images:
        energy, forces, virial = reference_data(atoms)
        out = potential.evaluate(atoms, evaluator=ev)
        keys = ["all"] + ([atoms.info.get("group", "")] if by_group else [])
        de = (out["energy"] - energy) / len(atoms) * 1e3
        df = None if forces is None else ((out["forces"] - forces) * 1e3).ravel()
        ds = None
        if virial is not None and "stress" in out:
            ds = ((-virial / atoms.get_volume()) - out["stress"])[np.triu_indices(3)] * -EV_PER_A3_TO_GPA
        for k in keys:
            buckets[k]["e"].append(de)
            if df is not None:
                buckets[k]["f"].extend(df)
            if ds is not None:
                buckets[k]["s"].extend(ds)

    def summary(b):
        return {"energy_meV_per_atom": _stats(b["e"]), "forces_meV_per_A": _stats(b["f"]),
                "stress_GPa": _stats(b["s"])}

    out = {"all": summary(buckets.pop("all"))}
    if by_group:
        out["groups"] = {k: summary(v) for k, v in sorted(buckets.items())}
    return out
