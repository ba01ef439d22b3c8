"""Error metrics against reference data: predictions next to references, and RMSE and MAE of
energies (meV/atom), forces (meV/A) and stresses (GPa), overall and per `atoms.info["group"]`."""

from __future__ import annotations

import numpy as np

from ..potential import Potential
from .data import named_errors
from .loss import reference_data

__all__ = ["errors", "predictions", "summarize"]

EV_PER_A3_TO_GPA = 160.21766208


def _stats(x):
    x = np.asarray(x, float)
    if x.size == 0:
        return {"rmse": float("nan"), "mae": float("nan"), "n": 0}
    return {"rmse": float(np.sqrt(np.mean(x**2))), "mae": float(np.mean(np.abs(x))), "n": int(x.size)}


def predictions(potential: Potential, images) -> dict:
    """Reference and predicted values, flat arrays with the configuration index of each entry:
    energy (eV/atom; shape (n_cfg,)), forces (eV/A; one entry per component), stress (GPa; six
    components per periodic configuration with a reference stress), and groups (n_cfg,)."""
    ev = potential.evaluator()
    out = {k: ([], [], []) for k in ("energy", "forces", "stress")}  # reference, predicted, config
    for k, atoms in enumerate(images):
        energy, forces, virial = named_errors(reference_data, atoms, k)
        res = named_errors(lambda a: potential.evaluate(a, evaluator=ev), atoms, k)
        n = len(atoms)
        entries = [("energy", [energy / n], [res["energy"] / n])]
        if forces is not None:
            entries.append(("forces", forces.ravel(), res["forces"].ravel()))
        if virial is not None and "stress" in res:
            iu = np.triu_indices(3)
            ref = -virial / atoms.get_volume() * EV_PER_A3_TO_GPA
            entries.append(("stress", ref[iu], res["stress"][iu] * EV_PER_A3_TO_GPA))
        for key, ref, pred in entries:
            out[key][0].extend(ref)
            out[key][1].extend(pred)
            out[key][2].extend([k] * len(ref))
    result = {key: {"reference": np.array(r, float), "predicted": np.array(p, float), "config": np.array(c, int)}
              for key, (r, p, c) in out.items()}
    result["groups"] = np.array([a.info.get("group", "") for a in images], dtype=object)
    return result


def summarize(pred: dict, by_group: bool = True) -> dict:
    """{"all": {...}, "groups": {name: {...}}} from predictions(), with energy_meV_per_atom,
    forces_meV_per_A and stress_GPa entries, each {"rmse", "mae", "n"}."""
    names = {"energy": ("energy_meV_per_atom", 1e3), "forces": ("forces_meV_per_A", 1e3), "stress": ("stress_GPa", 1.0)}

    def summary(select):
        return {name: _stats((pred[k]["predicted"] - pred[k]["reference"])[select(pred[k]["config"])] * scale)
                for k, (name, scale) in names.items()}

    out = {"all": summary(lambda c: slice(None))}
    if by_group:
        groups = pred["groups"]
        out["groups"] = {g: summary(lambda c, g=g: groups[c] == g) for g in sorted(set(groups))}
    return out


def errors(potential: Potential, images, by_group: bool = True) -> dict:
    """summarize(predictions(potential, images))."""
    return summarize(predictions(potential, images), by_group)
