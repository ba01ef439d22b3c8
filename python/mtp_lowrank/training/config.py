"""Training configuration (YAML): schema, defaults, validation with messages naming the key,
and command-line overrides (`--set section.key=value`)."""

from __future__ import annotations

import copy
import difflib
import math

import yaml

from ..species import check_species_list

__all__ = ["DEFAULTS", "load_config", "validate", "apply_overrides", "schema_text"]

# Value checks: a predicate and what it requires (for the message).
def _at_least(lo):
    return (lambda v: v >= lo), f">= {lo}"


NONNEG, POSITIVE = _at_least(0), _at_least(1)
FRACTION = (lambda v: 0 <= v < 1), "in [0, 1)"
OPEN_UNIT = (lambda v: 0 < v < 1), "in (0, 1)"

# section -> key -> (default, allowed type(s) or a list of allowed values[, check]); None
# default: optional
REQUIRED = object()
SCHEMA = {
    "data": {"train": (REQUIRED, (str, list)), "validation": (None, (str, list)),
             "validation_fraction": (0.1, (float, int), FRACTION), "seed": (0, int), "species": (None, list),
             "isolated_atom_energies": (None, dict), "select": (None, (list, str)),
             "max_configs": (None, int, POSITIVE)},
    "model": {"level": (16, int, _at_least(2)), "min_dist": (REQUIRED, (float, int), NONNEG),
              "max_dist": (REQUIRED, (float, int), (lambda v: v > 0, "> 0")),
              "radial_basis_size": (8, int, _at_least(2)), "representation": ("full", ["full", "mf", "tt"]),
              "rank": (None, int, POSITIVE), "ranks": (None, list), "init": (None, str), "seed": (0, int),
              "ensemble": (1, int, POSITIVE), "radial_floor": ("data", (str, list)),
              "radial_floor_margin": (0.0, (float, int), NONNEG), "core": (None, ["zbl"]),
              "core_width": (0.5, (float, int), (lambda v: v > 0, "> 0")),
              "core_outer_fraction": (0.85, (float, int), (lambda v: 0 < v <= 1, "in (0, 1]"))},
    "loss": {"energy_weight": (1.0, (float, int), NONNEG), "force_weight": (0.01, (float, int), NONNEG),
             "stress_weight": (0.0, (float, int), NONNEG), "energy_per_atom": (True, bool),
             "stress": ("virial_per_atom", ["virial_per_atom", "stress", "virial"]),
             "config_weight_key": ("weight", str), "group_weights": (None, dict),
             "radial_smoothness": (0.0, (float, int), NONNEG), "radial_mixing": (0.0, (float, int), NONNEG)},
    "optimizer": {"method": ("bfgs", ["bfgs", "rmf", "mfra"]), "max_iter": (1000, int, NONNEG),
                  "gtol": (1e-8, (float, int), NONNEG), "rel_decrease": (1e-9, (float, int), NONNEG),
                  "patience": (20, int, POSITIVE), "mu": (1e-3, (float, int), OPEN_UNIT),
                  "r_max": (None, int, POSITIVE), "delta_r": (1, int, POSITIVE), "s": (80, int, POSITIVE),
                  "linear_init": (True, bool), "linear_fit": ("energies", ["energies", "loss"]),
                  "threads": (0, int, NONNEG), "converge_window": (10, int, NONNEG),
                  "converge_rel_improvement": (1e-3, (float, int), FRACTION), "converge_on": ("rmse", ["rmse", "loss", "both"]),
                  "restarts": (0, int, NONNEG)},
    "output": {"directory": ("mtp_run", str), "checkpoint_every": (50, int, NONNEG),
               "validation_every": (10, int, NONNEG), "plots": (True, bool), "active_set": (True, bool),
               "keep_checks": (False, bool)},
}
# What each key means (train --print-config prints it beside the default).
HELP = {
    "data.train": "training data: one file or a list (.cfg, extxyz or anything ASE reads)",
    "data.validation": "validation data; without it validation_fraction of the training data is held out",
    "data.validation_fraction": "fraction held out for validation when data.validation is not given",
    "data.seed": "seed of the validation split and of data.max_configs",
    "data.species": "chemical symbols of the species (.cfg: of types 0, 1, ...); default: the elements in the data",
    "data.isolated_atom_energies": "{element: eV}: fix species_coeffs at these energies",
    "data.select": "use only these training configurations: a list of indices or 'start:stop[:step]'",
    "data.max_configs": "use at most this many training configurations (a seeded random subset, in file order)",
    "model.level": "MTP level (basis functions with lev <= level)",
    "model.min_dist": "radial basis min_dist (A); keep it at or below the shortest distance in the data",
    "model.max_dist": "cutoff radius (A)",
    "model.radial_basis_size": "Chebyshev polynomials per radial function (N_b)",
    "model.representation": "radial coefficients: full, mf (matrix factorization) or tt (tensor train)",
    "model.rank": "MF rank (representation mf)",
    "model.ranks": "TT ranks [r1, r2, r3] (representation tt)",
    "model.init": "start from this potential file instead of a random one",
    "model.seed": "seed of the random initial radial coefficients",
    "model.ensemble": "train this many models with seeds seed, seed+1, ... and report mean +- std",
    "model.radial_floor": "'data' (default): below the shortest distance of each species pair in the training data "
                          "(minus radial_floor_margin) radial functions continue linearly; 'mixed': the same for like "
                          "pairs, while a cross pair's floor is the larger of its two species' floors (below its own "
                          "data, loss.radial_mixing shapes it); or an N_T x N_T list (A); null: MLIP's polynomial "
                          "extrapolation",
    "model.core": "zbl: a fixed ZBL repulsive core well below each pair's radial floor (else min_dist), switched on "
                  "smoothly over core_width; it changes nothing on the training data; null: none",
    "model.core_width": "A over which the core switches on (full ZBL below its outer end minus core_width)",
    "model.core_outer_fraction": "the core ends at this fraction of each pair's floor (1: at the floor, which "
                                 "spoils contacts just below the data: NbMoTaW, examples/training/ood_quick.py)",
    "model.radial_floor_margin": "A subtracted from the data's shortest distances (model.radial_floor: data)",
    "loss.energy_weight": "w_e",
    "loss.force_weight": "w_f",
    "loss.stress_weight": "w_s",
    "loss.energy_per_atom": "energy errors per atom (true) or total (false)",
    "loss.stress": "stress term: virial_per_atom, stress (eV/A^3) or virial (eV)",
    "loss.config_weight_key": "atoms.info key of per-configuration weights",
    "loss.group_weights": "{group or glob pattern: weight}: multiplies the weight of every configuration whose "
                          "atoms.info['group'] matches (first matching pattern; others keep 1), e.g. {'*_Surface': 10}",
    "loss.radial_smoothness": "lambda of the curvature penalty on the radial functions (tames them where no data is); 0: off",
    "loss.radial_mixing": "lambda of the mixing rule: below the shortest distance of a cross-species pair in the data, its "
                          "radial functions are drawn to the mean of its two species' own (acts with model.radial_floor: "
                          "mixed); 0: off",
    "optimizer.method": "bfgs (base, MF, TF), rmf (Riemannian BFGS, fixed rank) or mfra (rank augmentation)",
    "optimizer.max_iter": "iterations",
    "optimizer.gtol": "stop when the gradient norm falls below this",
    "optimizer.rel_decrease": "stop when the loss decreases by less than this (relative) for `patience` iterations",
    "optimizer.patience": "iterations of little decrease before stopping",
    "optimizer.mu": "R-MF Armijo constant",
    "optimizer.r_max": "MFRA final rank",
    "optimizer.delta_r": "MFRA rank added per augmentation",
    "optimizer.s": "MFRA iterations between augmentations",
    "optimizer.linear_init": "start from a least-squares fit of the linear parameters (with model.init only "
                             "when linear_fit is loss: an energies-only refit would undo the init's force fit)",
    "optimizer.linear_fit": "fit them to the energies (MLIP) or to the whole loss",
    "optimizer.threads": "threads (0: all cores / MPI ranks)",
    "optimizer.converge_window": "converged when the best validation value (converge_on) of the last this many checks "
                                 "(every output.validation_every iterations) improves on the best before them by less "
                                 "than converge_rel_improvement; 0: off",
    "optimizer.converge_rel_improvement": "relative improvement of the validation value that still counts as progress",
    "optimizer.converge_on": "what the rule and the kept iterate go by: rmse (the geometric mean of the validation "
                             "energy and force RMSEs, and stress RMSE when loss.stress_weight > 0, so that a relative "
                             "gain in any counts the same whatever the loss weights), loss (the training loss on "
                             "the validation data, group weights included), or both (stop only when neither improves; "
                             "keep the lowest rmse score)",
    "optimizer.restarts": "bfgs: when the convergence rule fires, restart BFGS this many times from the current "
                          "iterate with a fresh curvature estimate before stopping (a stale one stalls it)",
    "output.directory": "run directory (must be new or empty unless --overwrite or --resume)",
    "output.checkpoint_every": "write checkpoint.mtp every this many iterations (0: only at the end and on Ctrl-C)",
    "output.validation_every": "validation RMSE every this many iterations (0: never during training)",
    "output.plots": "write parity and learning-curve plots",
    "output.active_set": "write active_set.npz (MaxVol over the training configurations) for extrapolation grades",
    "output.keep_checks": "also save the iterate of every validation check as checks/iteration_<N>.mtp (e.g. to see how "
                          "much neighbouring iterates differ where no data is)",
}
NULLABLE = {"model.radial_floor"}   # keys with a default that null switches off
DEFAULTS = {sec: {k: v[0] for k, v in keys.items() if v[0] is not REQUIRED} for sec, keys in SCHEMA.items()}


def schema_text() -> str:
    """The whole schema as commented YAML with defaults (mtp-lowrank train --print-config)."""
    lines = []
    for sec, keys in SCHEMA.items():
        lines.append(f"{sec}:")
        for key, spec in keys.items():
            default, allowed = spec[0], spec[1]
            value = "<required>" if default is REQUIRED else yaml.safe_dump(default, default_flow_style=True).strip()
            if value.endswith("\n..."):
                value = value[:-4].strip()
            choices = f" [{' | '.join(allowed)}]" if isinstance(allowed, list) else ""
            lines.append(f"  {key}: {value}".ljust(40) + f"  # {HELP.get(f'{sec}.{key}', '')}{choices}")
    return "\n".join(lines)


class ConfigError(ValueError):
    pass


def _suggest(name, options):
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def validate(raw: dict) -> dict:
    """Merge with defaults and check every key and value; raises ConfigError naming the key."""
    if not isinstance(raw, dict):
        raise ConfigError("the configuration must be a mapping of sections")
    cfg = copy.deepcopy(DEFAULTS)
    for sec, values in raw.items():
        if sec not in SCHEMA:
            raise ConfigError(f"unknown section '{sec}'{_suggest(sec, SCHEMA)}")
        if not isinstance(values, dict):
            raise ConfigError(f"section '{sec}' must be a mapping")
        for key, value in values.items():
            where = f"{sec}.{key}"
            if key not in SCHEMA[sec]:
                raise ConfigError(f"unknown key '{where}'{_suggest(key, SCHEMA[sec])}")
            default, allowed = SCHEMA[sec][key][:2]
            if value is None and (default is None or where in NULLABLE):
                cfg[sec][key] = None
                continue
            if isinstance(allowed, list):
                if value not in allowed:
                    raise ConfigError(f"'{where}' must be one of {', '.join(allowed)}; got {value!r}")
            elif not isinstance(value, allowed) or (isinstance(value, bool) and allowed in (int, (float, int))):
                names = allowed.__name__ if isinstance(allowed, type) else "/".join(t.__name__ for t in allowed)
                raise ConfigError(f"'{where}' must be {names}; got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"'{where}' must be finite; got {value!r}")
            if len(SCHEMA[sec][key]) > 2:
                ok, need = SCHEMA[sec][key][2]
                if not ok(value):
                    raise ConfigError(f"'{where}' must be {need}; got {value!r}")
            cfg[sec][key] = value
    for sec, keys in SCHEMA.items():
        for key, (default, *_) in keys.items():
            if default is REQUIRED and key not in cfg[sec]:
                raise ConfigError(f"missing required key '{sec}.{key}'")
    m = cfg["model"]
    if not 0 <= m["min_dist"] < m["max_dist"]:
        raise ConfigError("'model.min_dist' must be >= 0 and below 'model.max_dist'")
    if m["representation"] == "mf" and not m["rank"] and cfg["optimizer"]["method"] != "mfra":
        raise ConfigError("'model.rank' is required for representation mf")
    if m["representation"] == "tt" and (not m["ranks"] or len(m["ranks"]) != 3):
        raise ConfigError("'model.ranks' (three integers) is required for representation tt")
    if m["ranks"] is not None and not all(isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in m["ranks"]):
        raise ConfigError(f"'model.ranks' must be three integers >= 1; got {m['ranks']!r}")
    lo = cfg["loss"]
    if lo["energy_weight"] == lo["force_weight"] == lo["stress_weight"] == 0:
        raise ConfigError("the loss weights are all zero: nothing to fit")
    for pattern, value in (lo["group_weights"] or {}).items():
        if not isinstance(value, (float, int)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"'loss.group_weights.{pattern}' must be a number >= 0; got {value!r}")
    species = cfg["data"]["species"]
    if species is not None:
        try:
            check_species_list(species)
        except ValueError as e:
            raise ConfigError(f"'data.species': {e}") from None
    if isinstance(m["radial_floor"], str) and m["radial_floor"] not in ("data", "mixed"):
        raise ConfigError(f"'model.radial_floor' must be 'data', 'mixed', a list of lists or null; got {m['radial_floor']!r}")
    if m["radial_floor"] == "mixed" and not lo["radial_mixing"]:
        raise ConfigError("'model.radial_floor: mixed' needs 'loss.radial_mixing' above 0: without the mixing rule the "
                          "cross-pair radial functions below the data are unconstrained polynomials")
    iso = cfg["data"]["isolated_atom_energies"]
    for name, value in (iso or {}).items():
        if not isinstance(value, (float, int)) or isinstance(value, bool):
            raise ConfigError(f"'data.isolated_atom_energies.{name}' must be a number (eV); got {value!r}")
    if cfg["model"]["ensemble"] < 1:
        raise ConfigError("'model.ensemble' must be at least 1")
    method = cfg["optimizer"]["method"]
    if method == "rmf" and m["representation"] != "mf":
        raise ConfigError("'optimizer.method: rmf' needs 'model.representation: mf'")
    if cfg["optimizer"]["restarts"] and method != "bfgs":
        raise ConfigError(f"'optimizer.restarts' applies to method bfgs, not {method}")
    if cfg["optimizer"]["restarts"] and not (cfg["optimizer"]["converge_window"] and cfg["output"]["validation_every"]):
        raise ConfigError("'optimizer.restarts' needs the convergence rule (converge_window and "
                          "output.validation_every above 0): restarts happen when it fires")
    if method == "mfra" and not cfg["optimizer"]["r_max"]:
        raise ConfigError("'optimizer.r_max' is required for method mfra")
    return cfg


def apply_overrides(raw: dict, overrides) -> dict:
    """`section.key=value` strings (values parsed as YAML) applied to a raw configuration."""
    raw = copy.deepcopy(raw or {})
    for item in overrides or []:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"override '{item}' must look like section.key=value")
        path, value = item.split("=", 1)
        sec, key = path.split(".", 1)
        raw.setdefault(sec, {})[key] = yaml.safe_load(value)
    return raw


def load_config(path, overrides=None) -> dict:
    with open(path, encoding="utf-8") as fh:
        try:
            raw = yaml.safe_load(fh) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
    try:
        return validate(apply_overrides(raw, overrides))
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
