"""Training: losses with energies, forces and stresses, and their gradients (C++)."""

from .loss import Loss, reference_data

__all__ = ["Loss", "reference_data"]
