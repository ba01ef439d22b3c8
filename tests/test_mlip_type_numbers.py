"""Potentials whose radial blocks carry MLIP type numbers other than 0..N_T-1 (as `mlp train`
writes them: the types of its training .cfg), the MLIP-3 active-learning block, and .cfg files
typed with those numbers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mtp_lowrank import Potential, PotentialFileError, read_cfg, write_cfg
from mtp_lowrank.cli import main

from conftest import random_atoms, random_potential, shared_file


def relabel_blocks(text: str, mapping: dict) -> str:
    """Rewrite the radial_coeffs block labels 'a-b' of a full potential file."""
    return re.sub(r"(?m)^(\t\t)(\d+)-(\d+)$", lambda m: f"{m[1]}{mapping[int(m[2])]}-{mapping[int(m[3])]}", text)


@pytest.fixture
def relabelled(tmp_path):
    """(our potential with types 0 1, the same file with types 3 7)."""
    pot = random_potential(level=8, n_species=2, seed=11)
    text = pot.to_text(mlip_compatible=True)
    (tmp_path / "types37.mtp").write_text(relabel_blocks(text, {0: 3, 1: 7}))
    return pot, tmp_path / "types37.mtp"


def test_any_consistent_labelling_loads_and_evaluates_alike(relabelled):
    pot, path = relabelled
    other = Potential.load(path, species=["Li", "Na"])
    assert other.mlip_types == [3, 7] and pot.mlip_types == [0, 1]
    atoms = random_atoms(np.random.default_rng(2), n_atoms=14)
    a, b = pot.evaluate(atoms), other.evaluate(atoms)
    assert a["energy"] == b["energy"]
    np.testing.assert_array_equal(a["forces"], b["forces"])
    assert other.cfg_species == {3: "Li", 7: "Na"}


def test_labels_are_written_back_and_carried_through_compression(relabelled, tmp_path):
    _, path = relabelled
    pot = Potential.load(path)
    pot.save(tmp_path / "again.mtp")
    text = (tmp_path / "again.mtp").read_text()
    assert [l.strip() for l in text.splitlines() if re.fullmatch(r"\t\t\d+-\d+", l)] == ["3-3", "3-7", "7-3", "7-7"]
    mf = pot.to_mf(2)
    mf.save(tmp_path / "mf.mtp")
    assert "mlip_types = {3, 7}" in (tmp_path / "mf.mtp").read_text()
    assert Potential.load(tmp_path / "mf.mtp").mlip_types == [3, 7]


@pytest.mark.parametrize("edit,message", [
    ({0: 3, 1: 3}, "type 3 appears twice in the first row of blocks"),
    ("swap last", "radial_coeffs block 4 of 4: expected label '7-7'"),
    ("not a label", "expected a radial_coeffs block label 'type-type' (two non-negative integers), got 'x-y'"),
])
def test_inconsistent_labels_are_refused_with_the_line(relabelled, tmp_path, edit, message):
    _, path = relabelled
    text = path.read_text()
    if isinstance(edit, dict):
        text = relabel_blocks(text.replace("\t\t3-", "\t\t0-").replace("\t\t7-", "\t\t1-")
                              .replace("-3\n", "-0\n").replace("-7\n", "-1\n"), edit)
    elif edit == "swap last":
        text = text.replace("\t\t7-7\n", "\t\t7-3\n")
    else:
        text = text.replace("\t\t3-7\n", "\t\tx-y\n")
    (tmp_path / "bad.mtp").write_text(text)
    with pytest.raises(PotentialFileError, match=r"bad\.mtp:\d+: .*" + re.escape(message)):
        Potential.load(tmp_path / "bad.mtp")


def test_cfg_typed_with_the_potentials_numbers(relabelled, tmp_path):
    """A .cfg with types 3 and 7 evaluates with the potential's own numbers, with or without
    element names; a type the potential lacks is named."""
    pot, path = relabelled
    other = Potential.load(path)
    atoms = random_atoms(np.random.default_rng(4), n_atoms=10)
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms.calc = SinglePointCalculator(atoms, energy=1.0, forces=np.zeros((10, 3)))
    write_cfg(tmp_path / "d.cfg", [atoms], species={3: "Li", 7: "Na"})
    assert set(read_cfg(tmp_path / "d.cfg")[0].arrays["mlip_type"]) <= {3, 7}
    unnamed = read_cfg(tmp_path / "d.cfg")[0]
    named = read_cfg(tmp_path / "d.cfg", species=Potential.load(path, species=["Li", "Na"]).cfg_species)[0]
    assert named.get_chemical_symbols() == atoms.get_chemical_symbols()
    expected = pot.evaluate(atoms)["energy"]
    assert other.evaluate(unnamed)["energy"] == expected
    assert Potential.load(path, species=["Li", "Na"]).evaluate(named)["energy"] == expected
    assert Potential.load(path, species=["Li", "Na"]).evaluate(unnamed)["energy"] == expected   # 'X' atoms: by type
    with pytest.raises(ValueError, match="atom type 3, but species are given only for types 0 1"):
        read_cfg(tmp_path / "d.cfg", species=["Li", "Na"])
    unnamed.arrays["mlip_type"][0] = 5
    with pytest.raises(ValueError, match="atom 0 has MLIP type 5, which the potential does not have"):
        other.evaluate(unnamed)


# ---- the potential exactly as MLIP-3's `mlp train` writes it ---------------------------------

def mlp_trained():
    return shared_file("data", "mlip3", "mlp_trained_mota.almtp"), shared_file("data", "mlip3", "mota_val60.cfg")


def test_mlp_trained_potential_equals_its_hand_relabelled_copy(tmp_path):
    """The bar of the issue: relabelled to 0-0 ... 1-1 by hand, the file evaluates to MLIP's own
    energies (to 1e-15); read as it is, it must give the same numbers on MLIP's .cfg (types 1, 2)."""
    pot_path, cfg_path = mlp_trained()
    raw = pot_path.read_bytes()
    text = raw.split(b"\n#MVS", 1)[0].decode()
    (tmp_path / "relabelled.mtp").write_text(relabel_blocks(text, {1: 0, 2: 1}))
    as_is = Potential.load(pot_path)
    by_hand = Potential.load(tmp_path / "relabelled.mtp")
    assert as_is.mlip_types == [1, 2] and by_hand.mlip_types == [0, 1]
    images = read_cfg(cfg_path)
    assert {int(t) for a in images for t in a.arrays["mlip_type"]} == {1, 2}
    for atoms in images[:20]:
        a = as_is.evaluate(atoms)
        b = by_hand.evaluate(atoms, types=atoms.arrays["mlip_type"] - 1)
        assert a["energy"] == b["energy"]
        np.testing.assert_array_equal(a["forces"], b["forces"])
        np.testing.assert_array_equal(a["virial"], b["virial"])


def test_mlp_trained_potential_writes_back_what_it_read(tmp_path):
    pot_path, _ = mlp_trained()
    raw = pot_path.read_bytes()
    pot = Potential.load(pot_path)
    selection = raw[raw.index(b"#MVS_v1.1"):]
    assert pot._core.mlip_selection_state == selection
    pot.save(tmp_path / "copy.almtp")
    copy = (tmp_path / "copy.almtp").read_bytes()
    assert copy.endswith(b"\n" + selection) and copy.index(b"#") == len(copy) - len(selection)  # MLIP: first '#'
    back = Potential.load(tmp_path / "copy.almtp")
    assert back.mlip_types == [1, 2]
    np.testing.assert_array_equal(back.parameter_vector(), pot.parameter_vector())
    # the selection state belongs to these parameters: changed ones drop it
    changed = pot.replace(moment_coeffs=pot.moment_coeffs * 2)
    changed.save(tmp_path / "changed.almtp")
    assert b"#" not in (tmp_path / "changed.almtp").read_bytes()


def test_eval_command_on_mlip_files_needs_no_renumbering(capsys):
    pot_path, cfg_path = mlp_trained()
    main(["eval", str(pot_path), str(cfg_path), "--json"])
    unnamed = json.loads(capsys.readouterr().out)
    main(["eval", str(pot_path), str(cfg_path), "--json", "--species", "Mo", "Ta"])
    named = json.loads(capsys.readouterr().out)
    assert unnamed["all"] == named["all"]
    pot = Potential.load(pot_path, species=["Mo", "Ta"])
    images = read_cfg(cfg_path, species=pot.cfg_species)
    assert images[0].get_chemical_symbols()[0] == "Ta" and images[0].get_chemical_symbols()[-1] == "Mo"
    e = np.array([(pot.evaluate(a)["energy"] - a.get_potential_energy()) / len(a) for a in images])
    assert unnamed["all"]["energy_meV_per_atom"]["rmse"] == pytest.approx(1e3 * np.sqrt(np.mean(e**2)), rel=1e-12)
    # a trained MLIP potential on its own held-out data: a few meV/atom, not nonsense
    assert unnamed["all"]["energy_meV_per_atom"]["rmse"] < 30
