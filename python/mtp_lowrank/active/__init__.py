"""Active learning: extrapolation grades and MaxVol selection for full and compressed MTPs."""

from .active_set import ActiveSet
from .coordinates import ParameterCoordinates

__all__ = ["ActiveSet", "ParameterCoordinates"]
