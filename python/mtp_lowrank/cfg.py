"""MLIP's `.cfg` configuration format (read and write).

Conventions (MLIP): atom types are the type numbers of the potential's species (0, 1, ... for
potentials we write; `mlp train` labels a potential with the types of its training .cfg, often
1, 2, ...: see Potential.mlip_types); `Energy` is the total energy (eV); forces in eV/A;
`PlusStress` is the virial in eV, columns xx yy zz yz xz xy, with stress_ase = -PlusStress /
volume. Read configurations become ase.Atoms with a SinglePointCalculator holding what the file
gives, the types in `atoms.arrays["mlip_type"]`, the `Feature group <name>` line in
`atoms.info["group"]` and other `Feature` lines in `atoms.info["features"]`.
"""

from __future__ import annotations

import os

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

__all__ = ["read_cfg", "write_cfg"]

_VOIGT = {"xx": (0, 0), "yy": (1, 1), "zz": (2, 2), "yz": (1, 2), "xz": (0, 2), "xy": (0, 1)}


class CfgError(ValueError):
    pass


def _type_symbols(species) -> dict | None:
    """{type number: symbol} from a list (types 0, 1, ...) or a dict (e.g. Potential.cfg_species)."""
    if species is None:
        return None
    if isinstance(species, dict):
        return {int(t): str(s) for t, s in species.items()}
    return dict(enumerate(str(s) for s in species))


def _symbols_for(types, symbols, path, line):
    if symbols is None:
        return ["X"] * len(types)
    out = []
    for t in types:
        if int(t) not in symbols:
            raise CfgError(f"{path}:{line}: atom type {t}, but species are given only for types "
                           f"{' '.join(map(str, sorted(symbols)))}")
        out.append(symbols[int(t)])
    return out


def read_cfg(path: str | os.PathLike, species=None) -> list[Atoms]:
    """All configurations of an MLIP .cfg file. `species`: chemical symbols of types 0, 1, ...
    (a list), or {type number: symbol} (a dict, e.g. `potential.cfg_species` for a potential
    from `mlp train` whose types are 1, 2, ...). Without it atoms are 'X' and only
    `arrays['mlip_type']` says what they are (a potential that does not name its species maps
    them by its own type numbers)."""
    path = os.fspath(path)
    symbols = _type_symbols(species)
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    images: list[Atoms] = []
    i, n = 0, len(lines)

    def fail(msg, at):
        raise CfgError(f"{path}:{at + 1}: {msg}")

    while i < n:
        if lines[i].strip() != "BEGIN_CFG":
            if lines[i].strip():
                fail(f"expected BEGIN_CFG, got {lines[i].strip()[:40]!r}", i)
            i += 1
            continue
        start = i
        i += 1
        size = None
        cell = None
        atom_cols = None
        atom_rows = None
        energy = None
        plus_stress = None
        features: dict[str, str] = {}
        while True:
            if i >= n:
                fail("file ends inside a configuration (no END_CFG)", start)
            s = lines[i].strip()
            if s == "END_CFG":
                i += 1
                break
            if not s or s == "BEGIN_CFG":  # tolerate a repeated marker
                i += 1
                continue
            head = s.split()[0]
            if head == "Size":
                size = int(_value_line(lines, i, "Size", fail))
                i += 2
            elif head == "Supercell":
                rows = []
                i += 1
                while i < n and len(lines[i].split()) == 3 and _is_number(lines[i].split()[0]):
                    rows.append([float(x) for x in lines[i].split()])
                    i += 1
                cell = np.array(rows)
            elif head.startswith("AtomData"):
                atom_cols = s.split(":", 1)[1].split()
                if size is None:
                    fail("AtomData before Size", i)
                try:
                    atom_rows = np.array([[float(x) for x in lines[i + 1 + k].split()] for k in range(size)])
                except (ValueError, IndexError):
                    fail("bad or missing AtomData rows", i)
                if atom_rows.shape != (size, len(atom_cols)):
                    fail(f"AtomData rows do not have {len(atom_cols)} columns", i)
                i += 1 + size
            elif head == "Energy":
                energy = _value_line(lines, i, "Energy", fail)
                i += 2
            elif head.startswith("PlusStress"):
                cols = s.split(":", 1)[1].split() if ":" in s else []
                if len(cols) != 6 or set(cols) - set(_VOIGT):
                    fail(f"PlusStress needs the columns xx yy zz yz xz xy, got {' '.join(cols)!r}", i)
                vals = _value_line(lines, i, "PlusStress", fail, count=6)
                plus_stress = np.zeros((3, 3))
                for c, v in zip(cols, vals):
                    a, b = _VOIGT[c]
                    plus_stress[a, b] = plus_stress[b, a] = v
                i += 2
            elif head == "Feature":
                parts = s.split(None, 2)
                features[parts[1] if len(parts) > 1 else ""] = parts[2] if len(parts) > 2 else ""
                i += 1
            else:
                i += 1  # unknown blocks (e.g. EnergyWeight) are skipped
        if size == 0:
            fail("configuration with no atoms (Size 0)", start)
        if atom_rows is None:
            fail("configuration without AtomData", start)
        col = {c: k for k, c in enumerate(atom_cols)}
        if "type" not in col:
            fail("AtomData has no 'type' column", start)
        types = atom_rows[:, col["type"]].astype(int)
        pbc = [False, False, False]
        full_cell = np.zeros((3, 3))
        if cell is not None:
            full_cell[: len(cell)] = cell
            pbc = [k < len(cell) for k in range(3)]
        if "cartes_x" in col:
            pos = atom_rows[:, [col["cartes_x"], col["cartes_y"], col["cartes_z"]]]
        elif "direct_x" in col:
            pos = atom_rows[:, [col["direct_x"], col["direct_y"], col["direct_z"]]] @ full_cell
        else:
            fail("AtomData has no positions (cartes_* or direct_*)", start)
        atoms = Atoms(symbols=_symbols_for(types, symbols, path, start + 1), positions=pos,
                      cell=full_cell, pbc=pbc)
        atoms.arrays["mlip_type"] = types.astype(np.int32)
        if "group" in features:
            atoms.info["group"] = features.pop("group")
        if features:
            atoms.info["features"] = features
        results = {}
        if energy is not None:
            results["energy"] = energy
        if "fx" in col:
            results["forces"] = atom_rows[:, [col["fx"], col["fy"], col["fz"]]]
        if plus_stress is not None and all(pbc):
            s = -plus_stress / atoms.get_volume()
            results["stress"] = s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
        images.append(atoms)
    return images


def _value_line(lines, i, what, fail, count=1):
    """The number(s) on the line after a block header, or a file:line error."""
    try:
        vals = [float(x) for x in lines[i + 1].split()]
    except (ValueError, IndexError):
        vals = []
    if len(vals) != count or not np.all(np.isfinite(vals)):
        fail(f"{what} needs {count} finite number{'s' if count > 1 else ''} on the next line", i)
    return vals[0] if count == 1 else vals


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def write_cfg(path: str | os.PathLike, images, species=None) -> None:
    """Write configurations to an MLIP .cfg file. Types come from `species` (symbols of types
    0, 1, ..., or {type number: symbol}) when given, else from `arrays['mlip_type']`.
    `info['group']` is written as a `Feature group` line (read back into info['group'])."""
    if isinstance(images, Atoms):
        images = [images]
    with open(os.fspath(path), "w", encoding="utf-8") as fh:
        for atoms in images:
            if species is not None:
                from .species import species_indices

                numbers, symbols = zip(*_type_symbols(species).items())
                types = np.asarray(numbers)[species_indices(atoms.numbers, list(symbols))]
            elif "mlip_type" in atoms.arrays:
                types = atoms.arrays["mlip_type"]
            else:
                raise ValueError("write_cfg needs species=[...] or atoms.arrays['mlip_type']")
            calc = atoms.calc
            res = getattr(calc, "results", {}) if calc is not None else {}
            fh.write("BEGIN_CFG\n Size\n")
            fh.write(f"    {len(atoms)}\n")
            periodic = [k for k in range(3) if atoms.pbc[k]]
            if periodic:
                fh.write(" Supercell\n")
                for k in periodic:
                    fh.write("    " + " ".join(f"{x:.17g}" for x in atoms.cell[k]) + "\n")
            cols = "id type cartes_x cartes_y cartes_z"
            forces = res.get("forces")
            if forces is not None:
                cols += " fx fy fz"
            fh.write(f" AtomData:  {cols}\n")
            for k in range(len(atoms)):
                row = [f"{k + 1}", f"{int(types[k])}"] + [f"{x:.17g}" for x in atoms.positions[k]]
                if forces is not None:
                    row += [f"{x:.17g}" for x in forces[k]]
                fh.write("    " + " ".join(row) + "\n")
            if "energy" in res:
                fh.write(f" Energy\n    {res['energy']:.17g}\n")
            if "stress" in res and all(atoms.pbc):
                st = np.asarray(res["stress"])
                if st.shape == (3, 3):
                    st = st[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
                ps = -st * atoms.get_volume()  # voigt xx yy zz yz xz xy
                fh.write(" PlusStress:  xx          yy          zz          yz          xz          xy\n")
                fh.write("    " + " ".join(f"{x:.17g}" for x in ps) + "\n")
            features = dict(atoms.info.get("features", {}))
            if "group" in atoms.info:
                features["group"] = atoms.info["group"]
            for key, val in features.items():
                fh.write(f" Feature   {key}\t{val}\n")
            fh.write("END_CFG\n\n")
