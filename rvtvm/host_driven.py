"""Run a compiled model from the host, one operator at a time, over a tvm.rpc session on a
host_driven board, and profile each operator in device cycles.

The program is metadata.json's `executor` section (rvtvm/compiler.py): the AOT executor's steps,
each an operator and the tensors it takes, named by memory region and offset. The board serves
those regions as tensors ("rvtvm.model.RegionTensor"), so the operators run on the same arena and
constants as the firmware's own executor, and nothing but the inputs and outputs crosses the UART.
Each operator is timed with `time_evaluator` (one warm-up call, then one timed call), and the
cycles are its seconds times the board's counter rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import FirmwareError, TVM_ERRORS
from .session import last_error_line
from .standalone import check_inputs


@dataclass
class OperatorTime:
    step: int
    func: str
    cycles: int


@dataclass
class HostDrivenResult:
    outputs: dict[str, np.ndarray]
    operators: list[OperatorTime]

    @property
    def cycles(self) -> int:
        return sum(op.cycles for op in self.operators)

    def profile_table(self) -> str:
        """One line per operator call: its cycles and share of the total."""
        total = self.cycles or 1
        width = max([len(op.func) for op in self.operators] + [8])
        lines = [f"{'step':>4}  {'operator':<{width}}  {'cycles':>12}  {'share':>6}"]
        for op in self.operators:
            lines.append(f"{op.step:>4}  {op.func:<{width}}  {op.cycles:>12,}  {100 * op.cycles / total:>5.1f}%")
        lines.append(f"{'':>4}  {'total':<{width}}  {self.cycles:>12,}  {100.0:>5.1f}%")
        return "\n".join(lines)


def run(sess, metadata: dict, inputs, *, log: Callable[[str], None] = lambda _msg: None) -> HostDrivenResult:
    """Runs the model once on `inputs` (a dict by name, or a list in order) through `sess`
    (rvtvm.session.connect) and returns its outputs and per-operator cycles."""
    import tvm

    program = metadata.get("executor")
    if not program:
        raise FirmwareError("the project's metadata.json has no executor program; compile the model again with this rvtvm")
    arrays = check_inputs(metadata, inputs)
    try:
        lib = sess.system_lib()
        dev = sess.cpu(0)
        region_tensor = sess.get_function("rvtvm.model.RegionTensor")
        rate = sess.cycles_per_second()
    except AttributeError as exc:
        raise FirmwareError(f"the board is not running rvtvm host_driven firmware ({exc})") from None

    def tensor(ref: dict):
        return region_tensor(ref["region"], ref["offset"], tvm.DataType(ref["dtype"]), *ref["shape"])

    try:
        for array, ref in zip(arrays, program["inputs"]):
            tensor(ref).copyfrom(array)
        times = []
        steps = program["steps"]
        for i, step in enumerate(steps):
            log(f"operator {i + 1}/{len(steps)}: {step['func']}")
            args = [tensor(ref) for ref in step["args"]]
            timer = lib.time_evaluator(step["func"], dev, number=1, repeat=1)
            seconds = timer(*args).mean
            times.append(OperatorTime(i, step["func"], round(seconds * rate)))
            del args, timer  # frees their handles on the board now
        for src, dst in program["output_copies"]:
            tensor(src).copyto(tensor(dst))
        outputs = {port["name"]: tensor(ref).numpy() for port, ref in zip(metadata["outputs"], program["outputs"])}
    except AttributeError as exc:  # the client's answer to a function the board does not have
        raise FirmwareError(f"the board's firmware lacks an operator of this model ({exc}); build the "
                            "project again") from None
    except TVM_ERRORS as exc:
        raise FirmwareError(f"host-driven run failed: {last_error_line(exc)}") from None
    return HostDrivenResult(outputs, times)

