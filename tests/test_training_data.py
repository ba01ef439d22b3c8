"""Per-configuration weights from groups (training/data.py: config_weights) and their effect on
the loss."""

import numpy as np
import pytest

from conftest import random_potential
from test_training_optimize import labelled

from mtp_lowrank.training import Loss
from mtp_lowrank.training.data import config_weights


def _grouped(images, names):
    for a, g in zip(images, names):
        a.info["group"] = g
    return images


def test_first_matching_pattern_multiplies_the_info_weight():
    images = _grouped(labelled(random_potential(level=6, n_species=2, seed=2), count=4),
                      ["Mo_Surface", "Mo_AIMD", "Ta_Surface", "Ta_AIMD"])
    images[2].info["weight"] = 3.0
    w = config_weights(images, group_weights={"Ta_*": 5, "*_Surface": 2})
    assert w.tolist() == [2.0, 1.0, 15.0, 5.0]
    assert config_weights(images).tolist() == [1.0, 1.0, 3.0, 1.0]


def test_a_pattern_matching_no_group_is_refused_naming_the_groups():
    images = _grouped(labelled(random_potential(level=6, n_species=2, seed=2), count=2), ["a", "b"])
    with pytest.raises(ValueError, match=r"'c\*' matches no group of the training data \(groups: a, b\)"):
        config_weights(images, group_weights={"c*": 2})
    # validation data may lack a group that training has
    assert config_weights(images, group_weights={"c*": 2}, where="validation data").tolist() == [1.0, 1.0]


def test_group_weight_zero_removes_the_group_from_the_loss():
    pot = random_potential(level=6, n_species=2, seed=3)
    images = _grouped(labelled(random_potential(level=6, n_species=2, seed=4), count=6), ["s", "b"] * 3)
    w = config_weights(images, group_weights={"s": 0})
    x = pot.parameter_vector()
    weighted = Loss(pot, images, config_weights=w, n_threads=1).for_template(pot)(x)
    only_b = Loss(pot, images[1::2], n_threads=1).for_template(pot)(x)
    assert weighted[0] == pytest.approx(only_b[0], rel=1e-12)
    np.testing.assert_allclose(weighted[1], only_b[1], rtol=1e-10, atol=1e-12 * np.abs(only_b[1]).max())
