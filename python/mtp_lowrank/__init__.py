from mtp_lowrank import _core
