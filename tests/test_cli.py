"""The mtp-lowrank command line (run in-process through cli.main)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtp_lowrank import Potential, read_cfg
from mtp_lowrank.cli import main
from mtp_lowrank.training import load_images, split

from conftest import random_potential
from test_training_optimize import labelled


def test_info_compress_convert_eval(tmp_path, capsys):
    teacher = random_potential(level=8, n_species=2, seed=2)
    teacher.save(tmp_path / "full.mtp")                       # MLIP-compatible: no species
    images = labelled(teacher, count=4)
    for k, a in enumerate(images):
        a.info["group"] = f"g{k % 2}"
    import ase.io

    ase.io.write(tmp_path / "data.xyz", images)
    main(["info", str(tmp_path / "full.mtp"), "--species", "Li", "Na"])
    assert "level:           8" in capsys.readouterr().out
    main(["compress", str(tmp_path / "full.mtp"), "--tt", "2", "3", "2", "-o", str(tmp_path / "tt.mtp"),
          "--species", "Li", "Na"])
    tt = Potential.load(tmp_path / "tt.mtp")
    assert tt.format == "tt" and tt.ranks == (2, 3, 2) and tt.species == ["Li", "Na"]
    main(["convert", str(tmp_path / "data.xyz"), str(tmp_path / "data.cfg"), "--species", "Li", "Na"])
    back = read_cfg(tmp_path / "data.cfg", species=["Li", "Na"])
    assert len(back) == 4 and back[0].get_potential_energy() == pytest.approx(images[0].get_potential_energy())
    main(["convert", str(tmp_path / "full.mtp"), str(tmp_path / "named.mtp"), "--species", "Li", "Na"])
    assert Potential.load(tmp_path / "named.mtp").species == ["Li", "Na"]
    capsys.readouterr()
    main(["eval", str(tmp_path / "named.mtp"), str(tmp_path / "data.xyz"), "--json"])
    err = json.loads(capsys.readouterr().out)
    # extxyz stores numbers rounded to about 8 significant digits
    assert err["all"]["energy_meV_per_atom"]["rmse"] < 1e-2 and set(err["groups"]) == {"g0", "g1"}
    main(["eval", str(tmp_path / "named.mtp"), str(tmp_path / "data.cfg")])
    assert "meV/atom" in capsys.readouterr().out


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    with pytest.raises(SystemExit, match="mtp-lowrank info: .*cannot open"):
        main(["info", str(tmp_path / "missing.mtp")])


def test_split_is_seeded_and_disjoint():
    items = list(range(50))
    tr, va = split(items, 0.1, seed=3)
    assert len(va) == 5 and sorted(tr + va) == items
    assert split(items, 0.1, seed=3) == (tr, va) and split(items, 0.1, seed=4) != (tr, va)
    with pytest.raises(ValueError, match="species list"):
        load_images("x.cfg")
