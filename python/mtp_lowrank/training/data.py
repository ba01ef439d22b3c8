"""Training data: read configurations (MLIP .cfg, or anything ASE reads: extended XYZ, VASP
OUTCAR/vasprun.xml, ...) and split them into training and validation sets."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["load_images", "split"]


def load_images(paths, species=None, index=":"):
    """All configurations of one or more files. `.cfg` files need `species` (symbols of types
    0, 1, ...); other formats go through ase.io.read (energies, forces and stresses from the
    file's calculator results or extxyz columns)."""
    import ase.io

    from ..cfg import read_cfg

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    images = []
    for path in paths:
        path = os.fspath(path)
        if path.endswith(".cfg"):
            if species is None:
                raise ValueError(f"{path}: MLIP .cfg files store type numbers; give the species list")
            images.extend(read_cfg(path, species=species))
        else:
            got = ase.io.read(path, index=index)
            images.extend(got if isinstance(got, list) else [got])
    if not images:
        raise ValueError(f"no configurations in {', '.join(map(str, paths))}")
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
