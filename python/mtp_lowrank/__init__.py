"""mtp-lowrank: Moment Tensor Potentials with low-rank (matrix and tensor-train) radial
parameters. The kernel is C++ (`_core`); this package is its Python face."""

from ._core import PotentialFileError
from .basis import enumerate_graphs, generate_program
from .calculator import MTPCalculator
from .cfg import read_cfg, write_cfg
from .potential import Potential

__all__ = [
    "Potential",
    "MTPCalculator",
    "PotentialFileError",
    "read_cfg",
    "write_cfg",
    "enumerate_graphs",
    "generate_program",
]
__version__ = "0.1.0"
