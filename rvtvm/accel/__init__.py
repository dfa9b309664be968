"""Accelerators, seen from the host: the offload registry (which Relax patterns become which
driver calls, registry.py; rvtvm's own entries, builtin.py), the partitioning and lowering
(partition.py, extern.py), and for rvtvm's int8 accelerator its data layouts and a numpy model
of what it computes. The hardware is rtl/ (register map in rtl/README.md); the firmware's API is
accel_driver/include/rvtvm/accel.h."""

from .registry import (
    OUTPUT,
    AccelEntry,
    AccelTarget,
    ExternCall,
    Match,
    entries,
    get_target,
    register,
    register_target,
    targets,
    unregister,
)

__all__ = ["OUTPUT", "AccelEntry", "AccelTarget", "ExternCall", "Match", "entries", "get_target", "register",
           "register_target", "targets", "unregister"]
