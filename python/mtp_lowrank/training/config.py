"""Training configuration (YAML): schema, defaults, validation with messages naming the key,
and command-line overrides (`--set section.key=value`)."""

from __future__ import annotations

import copy
import difflib

import yaml

__all__ = ["DEFAULTS", "load_config", "validate", "apply_overrides"]

# section -> key -> (default, allowed type(s) or a list of allowed values); None default: optional
REQUIRED = object()
SCHEMA = {
    "data": {"train": (REQUIRED, (str, list)), "validation": (None, (str, list)),
             "validation_fraction": (0.1, (float, int)), "seed": (0, int), "species": (None, list),
             "isolated_atom_energies": (None, dict)},
    "model": {"level": (16, int), "min_dist": (REQUIRED, (float, int)), "max_dist": (REQUIRED, (float, int)),
              "radial_basis_size": (8, int), "representation": ("full", ["full", "mf", "tt"]),
              "rank": (None, int), "ranks": (None, list), "init": (None, str), "seed": (0, int),
              "ensemble": (1, int)},
    "loss": {"energy_weight": (1.0, (float, int)), "force_weight": (0.01, (float, int)),
             "stress_weight": (0.0, (float, int)), "energy_per_atom": (True, bool),
             "stress": ("virial_per_atom", ["virial_per_atom", "stress", "virial"]),
             "config_weight_key": ("weight", str)},
    "optimizer": {"method": ("bfgs", ["bfgs", "rmf", "mfra"]), "max_iter": (1000, int),
                  "gtol": (1e-8, (float, int)), "rel_decrease": (1e-9, (float, int)), "patience": (20, int),
                  "mu": (1e-3, (float, int)), "r_max": (None, int), "delta_r": (1, int), "s": (80, int),
                  "linear_init": (True, bool), "linear_fit": ("energies", ["energies", "loss"]),
                  "threads": (0, int)},
    "output": {"directory": ("mtp_run", str), "checkpoint_every": (50, int), "validation_every": (10, int),
               "plots": (True, bool)},
}
DEFAULTS = {sec: {k: v[0] for k, v in keys.items() if v[0] is not REQUIRED} for sec, keys in SCHEMA.items()}


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
            default, allowed = SCHEMA[sec][key]
            if value is None and default is None:
                cfg[sec][key] = None
                continue
            if isinstance(allowed, list):
                if value not in allowed:
                    raise ConfigError(f"'{where}' must be one of {', '.join(allowed)}; got {value!r}")
            elif not isinstance(value, allowed) or (isinstance(value, bool) and allowed in (int, (float, int))):
                names = allowed.__name__ if isinstance(allowed, type) else "/".join(t.__name__ for t in allowed)
                raise ConfigError(f"'{where}' must be {names}; got {value!r}")
            cfg[sec][key] = value
    for sec, keys in SCHEMA.items():
        for key, (default, _) in keys.items():
            if default is REQUIRED and key not in cfg[sec]:
                raise ConfigError(f"missing required key '{sec}.{key}'")
    m = cfg["model"]
    if not 0 <= m["min_dist"] < m["max_dist"]:
        raise ConfigError("'model.min_dist' must be >= 0 and below 'model.max_dist'")
    if m["representation"] == "mf" and not m["rank"] and cfg["optimizer"]["method"] != "mfra":
        raise ConfigError("'model.rank' is required for representation mf")
    if m["representation"] == "tt" and (not m["ranks"] or len(m["ranks"]) != 3):
        raise ConfigError("'model.ranks' (three integers) is required for representation tt")
    iso = cfg["data"]["isolated_atom_energies"]
    for name, value in (iso or {}).items():
        if not isinstance(value, (float, int)) or isinstance(value, bool):
            raise ConfigError(f"'data.isolated_atom_energies.{name}' must be a number (eV); got {value!r}")
    if cfg["model"]["ensemble"] < 1:
        raise ConfigError("'model.ensemble' must be at least 1")
    method = cfg["optimizer"]["method"]
    if method == "rmf" and m["representation"] != "mf":
        raise ConfigError("'optimizer.method: rmf' needs 'model.representation: mf'")
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
