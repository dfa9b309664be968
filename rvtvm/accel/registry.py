"""The offload registry: which Relax patterns become which accelerator C calls.

An `AccelTarget` is one accelerator (its name is what `rvtvm compile --accel NAME` takes). An
`AccelEntry` belongs to a target and maps one Relax pattern to one C function of its driver:

- `pattern`: a Relax DPL pattern (tvm.relax.dpl) whose root is the value the C call replaces,
  with `annotations` naming the sub-patterns the other fields look at;
- `kernels`: for `call_tir` sub-patterns, the rvtvm kernel they must call (the TFLite importer
  tags its kernels, e.g. "requantize", "add_int8"); a match that calls another kernel is not a
  candidate at all;
- `predicate(match)`: what the hardware cannot do for this match, as a list of reasons, empty if
  it can (dtypes, shapes, strides, padding, sizes). The reasons end up in the offload report;
- `lower(match)`: the C call, an `ExternCall`: the symbol and its arguments in order (tensors of
  the graph, constants packed at compile time, int32 scalars, and `OUTPUT`);
- `priority`: where patterns overlap, higher goes first; if its predicate refuses, the next
  entry gets the match;
- `sources`: C files the call needs beyond the target's driver (copied into the Model Library
  Format, built with the model).

Entries are plain Python: a user adds one with `register(AccelEntry(...))` before compiling
(README, "Offloading a new operator"). rvtvm's own target and entries are in builtin.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import tvm
from tvm import relax
from tvm.relax.dpl import DFPattern

from ..errors import ModelError


class _Output:
    """Stands for the call's output tensor in `ExternCall.args`."""

    def __repr__(self) -> str:
        return "OUTPUT"


OUTPUT = _Output()


@dataclass
class ExternCall:
    """`int32_t symbol(args...)`, returning 0 or an RVTVM_ERR_ACCEL_* code. Each argument is a
    graph tensor (a relax expression: passed as a pointer to where it lies, no copy), a numpy
    array (a constant, stored with the model's constants), an int (int32), or OUTPUT. The
    output's shape and dtype default to those of the matched root."""

    symbol: str
    args: list
    out_shape: tuple[int, ...] | None = None
    out_dtype: str | None = None


@dataclass(frozen=True)
class AccelTarget:
    name: str
    help: str
    # The Project API supplies this target's driver (rvtvm's accel_driver/), with the backend the
    # board needs; otherwise the driver is `sources`, shipped in the Model Library Format.
    project_driver: bool = False
    sources: tuple[Path, ...] = ()


@dataclass(frozen=True)
class AccelEntry:
    target: str
    name: str
    pattern: DFPattern
    annotations: dict[str, DFPattern]
    predicate: Callable[["Match"], Iterable[str]]
    lower: Callable[["Match"], ExternCall]
    kernels: dict[str, str] = field(default_factory=dict)
    priority: int = 0
    sources: tuple[Path, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.target}.{self.name}"


class Match:
    """One match of an entry's pattern: the expressions its annotations name, and helpers."""

    def __init__(self, mod: tvm.IRModule, root: relax.Expr, exprs: dict[str, relax.Expr]):
        self.mod = mod
        self.root = root
        self.exprs = exprs

    def __getitem__(self, name: str) -> relax.Expr:
        return self.exprs[name]

    def __contains__(self, name: str) -> bool:
        return name in self.exprs

    def shape(self, name: str | None = None) -> tuple[int, ...]:
        """Static shape of an annotated expression (of the root without a name)."""
        ty = (self.root if name is None else self.exprs[name]).ty
        return tuple(int(d) for d in ty.shape)

    def size(self, name: str | None = None) -> int:
        """Number of elements."""
        return int(np.prod(self.shape(name), dtype=np.int64))

    def dtype(self, name: str | None = None) -> str:
        return str((self.root if name is None else self.exprs[name]).ty.dtype)

    def const(self, name: str) -> np.ndarray:
        expr = self.exprs[name]
        if not isinstance(expr, tvm.ir.GenericConst):
            raise ModelError(f"pattern '{name}' matched a non-constant")
        return expr.value.numpy()

    def kernel(self, name: str | None = None) -> tvm.tirx.PrimFunc | None:
        """The PrimFunc a `call_tir` calls."""
        call = self.root if name is None else self.exprs[name]
        if not (isinstance(call, relax.Call) and isinstance(call.op, tvm.ir.Op) and call.op.name == "relax.call_tir"):
            return None
        gv = call.args[0]
        return self.mod.functions.get(gv) if isinstance(gv, tvm.ir.GlobalVar) else None

    def kernel_attr(self, attr: str, name: str | None = None):
        func = self.kernel(name)
        if func is None or func.attrs is None:
            return None
        return func.attrs.get(attr)

    def params(self, name: str | None = None) -> dict[str, int]:
        """The scalar parameters a TFLite kernel baked in ("rvtvm.params")."""
        params = self.kernel_attr("rvtvm.params", name)
        return {str(k): int(v) for k, v in params.items()} if params is not None else {}

    def describe(self) -> str:
        """The model operator this match came from, e.g. "CONV_2D #3", or the root's op."""
        source = self.kernel_attr("rvtvm.source")
        if source is not None:
            return str(source)
        op = self.root.op
        return op.name if isinstance(op, tvm.ir.Op) else str(op)


_TARGETS: dict[str, AccelTarget] = {}
_ENTRIES: dict[str, list[AccelEntry]] = {}


def register_target(target: AccelTarget, *, replace: bool = False) -> AccelTarget:
    if target.name in _TARGETS and not replace:
        raise ValueError(f"accelerator target '{target.name}' is already registered")
    _TARGETS[target.name] = target
    _ENTRIES.setdefault(target.name, [])
    return target


def register(entry: AccelEntry, *, replace: bool = False) -> AccelEntry:
    """Add an entry to its target. An entry of the same name is an error unless `replace`."""
    _load_builtin()
    if entry.target not in _TARGETS:
        raise ValueError(f"unknown accelerator target '{entry.target}'; register_target() it first")
    entries = _ENTRIES[entry.target]
    same = [i for i, e in enumerate(entries) if e.name == entry.name]
    if same and not replace:
        raise ValueError(f"{entry.qualified_name} is already registered; pass replace=True to change it")
    if same:
        entries[same[0]] = entry
    else:
        entries.append(entry)
    return entry


def unregister(target: str, name: str) -> None:
    _load_builtin()
    entries = _ENTRIES.get(target, [])
    keep = [e for e in entries if e.name != name]
    if len(keep) == len(entries):
        raise ValueError(f"{target}.{name} is not registered")
    _ENTRIES[target] = keep


def get_target(name: str) -> AccelTarget:
    _load_builtin()
    if name not in _TARGETS:
        known = ", ".join(sorted(_TARGETS)) or "none"
        raise ModelError(f"unknown accelerator '{name}' (registered: {known})")
    return _TARGETS[name]


def targets() -> list[str]:
    _load_builtin()
    return sorted(_TARGETS)


def entries(target: str) -> list[AccelEntry]:
    """The target's entries, highest priority first (registration order among equals)."""
    get_target(target)
    return sorted(_ENTRIES[target], key=lambda e: -e.priority)


def _load_builtin() -> None:
    from . import builtin  # noqa: F401  (registers rvtvm's own target on import)
