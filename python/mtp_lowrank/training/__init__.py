"""Training: losses with energies, forces and stresses, their gradients (C++), linear least
squares and BFGS in the stored representation."""

from .data import load_images, split
from .loss import Loss, reference_data
from .metrics import errors
from .optimize import TrainResult, fit_linear, fit_linear_to_loss, train_bfgs
from .rank_augmentation import train_mfra
from .riemannian import rmf_parameter_count, train_rmf

__all__ = ["load_images", "split", "Loss", "reference_data", "errors", "fit_linear", "fit_linear_to_loss", "train_bfgs", "TrainResult", "train_mfra", "train_rmf", "rmf_parameter_count"]
