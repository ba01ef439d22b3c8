"""Training data: read configurations (MLIP .cfg, or anything ASE reads: extended XYZ, VASP
OUTCAR/vasprun.xml, ...) and split them into training and validation sets."""

from __future__ import annotations

import fnmatch
import functools
import os

import numpy as np

__all__ = ["load_images", "split", "describe", "named_errors", "select_images", "shortest_pair_distances",
           "config_weights"]


def shortest_pair_distances(images, species, cutoff: float) -> np.ndarray:
    """(N_T, N_T) shortest distance of each species pair within `cutoff` over `images` (symmetric;
    inf for pairs that never come that close): where data stops pinning the pair's radial
    functions down."""
    from ase.neighborlist import neighbor_list

    index = {s: k for k, s in enumerate(species)}
    out = np.full((len(species), len(species)), np.inf)
    for atoms in images:
        i, j, d = neighbor_list("ijd", atoms, cutoff)
        if not len(d):
            continue
        t = np.array([index[s] for s in atoms.get_chemical_symbols()])
        np.minimum.at(out, (t[i], t[j]), d)
    return np.minimum(out, out.T)


def shortest_distance_search(images, species):
    """shortest(cutoff) -> shortest_pair_distances(images, species, cutoff), searched once per
    cutoff and shared read-only by whoever asks (radial floors, the mixing rule)."""
    @functools.cache
    def shortest(cutoff: float) -> np.ndarray:
        found = shortest_pair_distances(images, species, cutoff)
        found.setflags(write=False)
        return found
    return shortest


def describe(atoms, index=None) -> str:
    """How errors name a configuration: its file and position there (atoms.info['source'],
    set by load_images), its index in the list at hand, and its group."""
    parts = []
    if "source" in atoms.info:
        parts.append(str(atoms.info["source"]))
    if index is not None:
        parts.append(f"configuration {index}")
    if "group" in atoms.info:
        parts.append(f"group {atoms.info['group']}")
    return ", ".join(parts) or "configuration"


def named_errors(fn, atoms, k=None):
    """fn(atoms), a ValueError's message prefixed with the configuration's name (describe)."""
    try:
        return fn(atoms)
    except ValueError as e:
        raise ValueError(f"{describe(atoms, k)}: {e}") from None


def load_images(paths, species=None, index=":"):
    """All configurations of one or more files. `.cfg` files: `species` is a list (symbols of
    types 0, 1, ...) or {type number: symbol} (Potential.cfg_species); without it the atoms keep
    only their MLIP type numbers, which a potential that does not name its species maps by its
    own type numbers. Other formats go through ase.io.read (energies, forces and stresses from
    the file's calculator results or extxyz columns). Each configuration records where it came
    from in info['source'] ('file:index'); one without atoms is refused."""
    import ase.io

    from ..cfg import read_cfg

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    images = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            raise ValueError(f"{path} is a directory, not a data file")
        if path.endswith(".cfg"):
            got = read_cfg(path, species=species)
        else:
            try:
                got = ase.io.read(path, index=index)
            except FileNotFoundError:
                raise
            except Exception as e:  # ASE raises many kinds for unreadable files
                raise ValueError(f"{path}: cannot read configurations ({type(e).__name__}: {e})") from None
            got = got if isinstance(got, list) else [got]
        for k, atoms in enumerate(got):
            atoms.info["source"] = f"{path}:{k}"
            if len(atoms) == 0:
                raise ValueError(f"{describe(atoms)}: configuration has no atoms")
        images.extend(got)
    if not images:
        raise ValueError(f"no configurations in {', '.join(map(str, paths))}")
    return images


def select_images(images, select=None, max_configs=None, seed=0):
    """A subset for smoke runs and learning curves: `select` is a list of indices or a slice
    string 'start:stop[:step]'; then at most `max_configs` of those, drawn at random (seeded)
    and kept in file order."""
    if select is not None:
        if isinstance(select, str):
            try:
                parts = [int(p) if p.strip() else None for p in select.split(":")]
                if not 2 <= len(parts) <= 3:
                    raise ValueError
            except ValueError:
                raise ValueError(f"data.select: expected indices or a slice 'start:stop[:step]', got {select!r}") from None
            chosen = images[slice(*parts)]
        else:
            bad = [i for i in select if isinstance(i, bool) or not isinstance(i, int) or not -len(images) <= i < len(images)]
            if bad:
                raise ValueError(f"data.select: index {bad[0]!r} is not a configuration index (0..{len(images) - 1})")
            chosen = [images[i] for i in select]
        images = chosen
    if max_configs is not None and max_configs < len(images):
        keep = np.sort(np.random.default_rng(seed).choice(len(images), size=max_configs, replace=False))
        images = [images[k] for k in keep]
    if not images:
        raise ValueError("data.select / data.max_configs leave no configurations")
    return images


def split(images, validation_fraction: float = 0.1, seed: int = 0):
    """(train, validation): a seeded random split, at least one configuration in each when
    validation_fraction > 0 and there are two or more."""
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    order = np.random.default_rng(seed).permutation(len(images))
    n_val = int(round(validation_fraction * len(images)))
    if validation_fraction > 0 and len(images) > 1:
        n_val = min(max(n_val, 1), len(images) - 1)
    return [images[k] for k in order[n_val:]], [images[k] for k in order[:n_val]]


def config_weights(images, key: str = "weight", group_weights: dict | None = None, where: str = "training data"):
    """Per-configuration loss weights c_k: atoms.info[key] (default 1) times the weight of the
    first pattern of `group_weights` ({fnmatch pattern: weight}) matching atoms.info['group'].
    A pattern that matches no configuration is an error (a misspelt group would silently fit
    with the wrong weights)."""
    weights = np.array([float(a.info.get(key, 1.0)) for a in images])
    if not group_weights:
        return weights
    groups = [str(a.info.get("group", "")) for a in images]
    used = set()
    for k, g in enumerate(groups):
        for pattern, w in group_weights.items():
            if fnmatch.fnmatchcase(g, str(pattern)):
                weights[k] *= float(w)
                used.add(pattern)
                break
    unused = [p for p in group_weights if p not in used]
    if unused and where == "training data":
        known = ", ".join(sorted(set(groups) - {""})) or "none: no atoms.info['group']"
        raise ValueError(f"loss.group_weights: {', '.join(map(repr, unused))} matches no group of the {where} "
                         f"(groups: {known})")
    return weights
