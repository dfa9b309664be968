"""rvtvm: TVM-compiled models as bare-metal RISC-V firmware, on QEMU riscv32 today.

The API verbs (compile_model, create_project, build, flash, run, run_model, standalone_session,
run_host_driven) live in rvtvm.api and are re-exported here lazily, so `import rvtvm` stays cheap
and does not load TVM (the Project API and the process helpers need only the standard library and
numpy). `rvtvm.session.connect(project)` opens a tvm.rpc session on a host_driven board.
"""

from .errors import FirmwareError, InputError, ModelError, RvtvmError, ToolchainError

__version__ = "0.1.0"

_API = ("compile_model", "create_project", "build", "flash", "run", "run_model", "standalone_session",
        "run_host_driven")

__all__ = ["RvtvmError", "ModelError", "ToolchainError", "InputError", "FirmwareError", *_API]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name == "session":
        import importlib

        return importlib.import_module(".session", __name__)
    raise AttributeError(f"module 'rvtvm' has no attribute '{name}'")
