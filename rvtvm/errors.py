"""Errors the user sees. Every rvtvm failure is an RvtvmError whose str() is one line
that says what is wrong and what to do; the CLI prints that line (the traceback only with
--verbose)."""


class RvtvmError(Exception):
    """Base of every error rvtvm reports to a user."""


class ModelError(RvtvmError):
    """The model can't be read or compiled (bad file, unsupported operator)."""


class ToolchainError(RvtvmError):
    """A required tool (riscv gcc, make, QEMU) is missing or failed."""


class InputError(RvtvmError):
    """An input tensor has the wrong name, shape or dtype."""


class FirmwareError(RvtvmError):
    """The firmware reported an error, trapped, or the emulator died or never answered."""


# What TVM raises across its FFI: tvm_ffi maps C++ errors onto these built-ins (InternalError is
# a RuntimeError). TVM 0.27 has no common base class such as the old tvm.TVMError.
TVM_ERRORS = (RuntimeError, ValueError, TypeError)
