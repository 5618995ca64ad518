"""zcbench: training-free NAS benchmark and zero-cost proxy evaluation suite."""

from zcbench.errors import ArchError, DataError, UnknownNameError, ZCBenchError
from zcbench.types import Arch, Batch

__version__ = "0.1.0"

__all__ = ["Arch", "ArchError", "Batch", "DataError", "UnknownNameError", "ZCBenchError"]
