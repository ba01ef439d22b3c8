"""Potential files: MLIP .mtp/.almtp reading, exact round trips of full/mf/tt, MLIP-compatible
output, and clear errors (with line numbers) for malformed files."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mtp_lowrank import Potential, PotentialFileError
from mtp_lowrank import _core

from conftest import random_potential, shared_file


@pytest.mark.parametrize("fmt", ["full", "mf", "tt"])
def test_round_trip_is_exact(tmp_path, fmt):
    pot = random_potential(level=10, n_species=3, seed=1, fmt=fmt)
    path = tmp_path / f"pot_{fmt}.mtp"
    pot.save(path)
    back = Potential.load(path, species=pot.species)
    assert back.format == fmt and back.ranks == pot.ranks
    for a, b in zip(pot.factors, back.factors):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pot.species_coeffs, back.species_coeffs)
    np.testing.assert_array_equal(pot.moment_coeffs, back.moment_coeffs)
    assert back.to_text() == pot.to_text()


def test_lowrank_files_name_their_species(tmp_path):
    pot = random_potential(level=8, n_species=2, fmt="mf")
    pot.save(tmp_path / "p.mtp")
    assert Potential.load(tmp_path / "p.mtp").species == ["Li", "Na"]
    with pytest.raises(ValueError, match="names its species"):
        Potential.load(tmp_path / "p.mtp", species=["Na", "Li"])


def test_full_files_are_mlip_compatible(tmp_path):
    """MLIP reads keys in a fixed order and knows no extra keys: check ours follow it."""
    pot = random_potential(level=8, n_species=2)
    text = pot.to_text()
    keys = [re.split(r"\s*=", l.strip())[0] for l in text.splitlines() if "=" in l]
    assert keys == ["version", "potential_name", "species_count", "potential_tag", "radial_basis_type",
                    "min_dist", "max_dist", "radial_basis_size", "radial_funcs_count",
                    "alpha_moments_count", "alpha_index_basic_count", "alpha_index_basic",
                    "alpha_index_times_count", "alpha_index_times", "alpha_scalar_moments",
                    "alpha_moment_mapping", "species_coeffs", "moment_coeffs"]
    assert text.startswith("MTP\nversion = 1.1.0\n")
    blocks = re.findall(r"^\t\t(\d+)-(\d+)$", text, flags=re.M)
    assert blocks == [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")]
    # species can be recorded on request (our extension)
    pot.save(tmp_path / "named.mtp", mlip_compatible=False)
    assert Potential.load(tmp_path / "named.mtp").species == ["Li", "Na"]


def test_reads_mlip3_almtp_and_stops_at_binary_block():
    path = shared_file("data", "mlip3", "pot.almtp")
    pot = Potential.load(path, species=["Li"])
    assert pot.level == 6 and pot.n_species == 1 and pot.radial_funcs_count == 2
    assert pot.scaling == pytest.approx(2.391038219587312e-02)
    assert pot.moment_coeffs.shape == (5,)


def test_untrained_template_loads_and_writes_back():
    text = (
        "MTP\nversion = 1.1.0\npotential_name = MTP1m\nspecies_count = 1\npotential_tag = \n"
        "radial_basis_type = RBChebyshev\n\tmin_dist = 2\n\tmax_dist = 5\n\tradial_basis_size = 8\n"
        "\tradial_funcs_count = 2\nalpha_moments_count = 8\nalpha_index_basic_count = 5\n"
        "alpha_index_basic = {{0, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}}\n"
        "alpha_index_times_count = 5\n"
        "alpha_index_times = {{0, 0, 1, 5}, {1, 1, 1, 6}, {2, 2, 1, 6}, {3, 3, 1, 6}, {0, 5, 1, 7}}\n"
        "alpha_scalar_moments = 5\nalpha_moment_mapping = {0, 4, 5, 6, 7}\n"
    )
    core = _core.parse_potential(text, "6.mtp")
    pot = Potential(core)
    assert not pot.trained and pot.level == 6
    again = pot.to_text()
    assert "radial_coeffs" not in again and "moment_coeffs" not in again
    assert _core.parse_potential(again).alpha_index_times.shape == (5, 4)


def test_radial_block_scaling_multiplies(tmp_path):
    text = random_potential(level=4, n_species=1).to_text()
    text = text.replace("\tmin_dist", "\tscaling = 2\n\tmin_dist").replace("species_count", "scaling = 3\nspecies_count")
    assert _core.parse_potential(text).scaling == 6.0


def _good_text():
    return random_potential(level=6, n_species=2, seed=3).to_text()


def _mf_text():
    return random_potential(level=6, n_species=2, seed=3, fmt="mf").to_text()


BAD_FILES = {
    "truncated": (lambda t: "\n".join(t.splitlines()[:14]) + "\n", r":\d+: unexpected end of file while reading radial_coeffs"),
    "wrong count": (lambda t: t.replace("alpha_index_basic_count = 5", "alpha_index_basic_count = 6"), r":\d+: alpha_index_basic has 5 entries but alpha_index_basic_count = 6"),
    "unknown key": (lambda t: t.replace("potential_tag = ", "potential_flavour = x"), r":{line:potential_flavour}: unknown key 'potential_flavour'"),
    "nan": (lambda t: re.sub(r"(species_coeffs = \{)[^,]+", r"\1nan", t), r":\d+: non-finite number 'nan'"),
    "species count": (lambda t: t.replace("species_count = 2", "species_count = 3"), r":\d+: (radial_coeffs block \d of 9: expected label|species_coeffs has)"),
    "header": (lambda t: t.replace("MTP\n", "MTX\n", 1), r":1: expected the 'MTP' header"),
    "bad block label": (lambda t: t.replace("\t\t0-1\n", "\t\t1-0\n", 1), r":15: radial_coeffs block 2 of 4: expected label '0-<type>', got '1-0'"),
    "mapping range": (lambda t: t.replace("alpha_moment_mapping = {0,", "alpha_moment_mapping = {99,"), r":{line:alpha_moment_mapping}: moment program: alpha_moment_mapping entry 0 refers to moment 99"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_files_give_line_numbers(case, tmp_path):
    edit, pattern = BAD_FILES[case]
    path = tmp_path / "bad.mtp"
    text = edit(_good_text())
    path.write_text(text)
    # "{line:KEY}" stands for the line number on which KEY appears in the edited file
    for key in re.findall(r"\{line:(\w+)\}", pattern):
        number = next(n for n, l in enumerate(text.splitlines(), 1) if l.strip().startswith(key))
        pattern = pattern.replace("{line:%s}" % key, str(number))
    with pytest.raises(PotentialFileError, match=str(path).replace(".", r"\.") + pattern):
        Potential.load(path)


def test_mf_rank_inconsistent_with_factor_shape(tmp_path):
    text = _mf_text().replace("mf_rank = 2", "mf_rank = 3")
    path = tmp_path / "bad.mtp"
    path.write_text(text)
    with pytest.raises(PotentialFileError, match=r":\d+: mf_u: row has 2 numbers, expected 3"):
        Potential.load(path)


def test_tt_ranks_inconsistent(tmp_path):
    pot = random_potential(level=6, n_species=2, seed=3, fmt="tt")
    text = pot.to_text()
    r = pot.ranks
    text = text.replace(f"tt_ranks = {{{r[0]}, {r[1]}, {r[2]}}}", f"tt_ranks = {{{r[0] + 1}, {r[1]}, {r[2]}}}")
    path = tmp_path / "bad.mtp"
    path.write_text(text)
    with pytest.raises(PotentialFileError, match=r":\d+: tt_core_1: row has"):
        Potential.load(path)


def test_missing_file():
    with pytest.raises(PotentialFileError, match="pot.mtp: no such potential file"):
        Potential.load("/nonexistent/pot.mtp")


def test_directory_or_binary_file_as_potential(tmp_path):
    with pytest.raises(PotentialFileError, match=f"{tmp_path}: is a directory, not a potential file"):
        Potential.load(tmp_path)
    (tmp_path / "x.mtp").write_bytes(b"MTP\nversion = 1.1.0\n\x00\x01\x02garbage")
    with pytest.raises(PotentialFileError, match=r"x\.mtp:3: not a text potential file \(binary data\)"):
        Potential.load(tmp_path / "x.mtp")
