"""Default CPU schedule for fused operators: keep the MAC loop tight and the scratch small.

Legalized TIR computes each stage of a fused operator over the whole tensor: pad the input
into a padded copy, accumulate every int32 output, then requantize. On a microcontroller that
costs RAM (an int32 accumulator tensor is four times the int8 output) and time (the
accumulator goes through memory). For an operator with one reduction block this schedule:

- computes a padding producer per output row (compute_at the row loop), so the padded copy
  shrinks to the rows one output row reads;
- folds the element-wise epilogue into one block (compute_inline) and moves it under the last
  spatial loop of the reduction (reverse_compute_at), so each accumulator lives in a register;
- takes the accumulator's initialisation out of the reduction loop (decompose_reduction);
- unrolls the innermost reduction loop (by UNROLL, or entirely when it is short).

Chains of element-wise stages get each intermediate computed per element of its consumer.

Operators of any other shape, or any step the scheduler refuses, keep their legalized TIR:
a schedule never changes results, only where and when values are computed.
"""

from __future__ import annotations

import re

import tvm
from tvm import s_tir, tirx

_REDUCE = 2  # IterVar.CommReduce
UNROLL = 4


class _NotThisShape(Exception):
    pass


# What a refused schedule step raises: ScheduleError is a RuntimeError, as are TVM's internal
# checks. Python errors (TypeError, AttributeError...) are bugs here and are not swallowed.
_REFUSED = (RuntimeError, _NotThisShape)


def schedule_operators(mod: tvm.IRModule) -> tvm.IRModule:
    updates = {}
    for gv, func in mod.functions.items():
        if isinstance(func, tirx.PrimFunc):
            scheduled = schedule_reduction_with_epilogue(func)
            if scheduled is not None:
                updates[gv] = scheduled
    for gv, func in updates.items():
        mod[gv] = func
    return mod


def schedule_reduction_with_epilogue(func: tirx.PrimFunc) -> tirx.PrimFunc | None:
    """The scheduled function, or None if `func` is not one reduction with spatial stages."""
    try:
        sch = s_tir.Schedule(func)
        blocks = sch.get_child_blocks(sch.get_sblock("root"))
    except RuntimeError:
        return None
    reductions = [b for b in blocks if _is_reduction(sch, b)]
    if not reductions:
        return _schedule_spatial_chain(sch, blocks)
    if len(reductions) != 1:
        return None
    red = reductions[0]
    try:
        _place_producers(sch, red)
        _place_epilogue(sch, red)
        loops = sch.get_loops(red)
        first_reduce = _num_spatial(sch, red)
        if first_reduce < len(loops):
            sch.decompose_reduction(red, loops[first_reduce])
            _unroll_innermost(sch, red)
    except _REFUSED:
        return None
    return sch.mod["main"]


def _schedule_spatial_chain(sch, blocks) -> tirx.PrimFunc | None:
    """Element-wise stages (e.g. int8 ADD's rescaled sum, then its requantization): compute each
    intermediate per element of its consumer, so it needs one register, not a tensor."""
    if len(blocks) < 2:
        return None
    try:
        for block in reversed(blocks[:-1]):
            consumers = sch.get_consumers(block)
            if len(consumers) != 1:
                return None
            sch.compute_at(block, sch.get_loops(consumers[0])[-1], preserve_unit_loops=False)
    except RuntimeError:
        return None
    return sch.mod["main"]


def _unroll_innermost(sch, red) -> None:
    """Unroll the innermost reduction loop that does anything: entirely when it is short (a
    depthwise 3x3's taps), else by UNROLL when that divides it. The loads, multiply and add per
    MAC stay; the loop's increment and branch are paid once per unrolled body."""
    if not _is_plain_sum(sch.get(red).body):
        return
    loops = [l for l in sch.get_loops(red)[_num_spatial(sch, red):] if _extent(sch, l) != 1]
    if not loops:
        return
    inner, extent = loops[-1], _extent(sch, loops[-1])
    if extent is None:
        return
    if extent <= 2 * UNROLL:
        sch.unroll(inner)
    elif extent % UNROLL == 0:
        _, body = sch.split(inner, [None, UNROLL])
        sch.unroll(body)


def _is_plain_sum(update) -> bool:
    """acc[i] = acc[i] + rhs, with rhs not reading acc. Other combiners are not unrolled: TVM's C
    backend names a max's operands as SSA values and, in an unrolled body, reuses the name of
    `acc[i]` after the next statement has stored to it (a max pool came out wrong).
    TVM 0.27 has no TIR visitor in Python, so the loads are recognised in the printed TIR."""
    if not isinstance(update, tirx.BufferStore) or not isinstance(update.value, tirx.Add):
        return False
    load = re.compile(rf"\b{re.escape(update.buffer.name)}\[")
    return load.match(str(update.value.a)) is not None and load.search(str(update.value.b)) is None


def _extent(sch, loop) -> int | None:
    extent = sch.get(loop).extent
    return extent.value if isinstance(extent, tirx.IntImm) else None


def _is_reduction(sch, block) -> bool:
    return any(int(iv.iter_type) == _REDUCE for iv in sch.get(block).iter_vars)


def _num_spatial(sch, block) -> int:
    return sum(1 for iv in sch.get(block).iter_vars if int(iv.iter_type) != _REDUCE)


def _place_producers(sch, red) -> None:
    """Padding (or a copy) feeding the reduction: per output row if there are rows, else inline.
    Stages further up (nn.pad before topi's own pad_temp copy) are inlined into it first."""
    for producer in sch.get_producers(red):
        if _is_reduction(sch, producer):
            continue
        _inline_upstream(sch, producer)
        loops = sch.get_loops(red)
        if _num_spatial(sch, red) >= 4:  # NHWC: loop 1 is the output row
            sch.compute_at(producer, loops[1], preserve_unit_loops=False)
        else:
            sch.compute_inline(producer)


def _inline_upstream(sch, block) -> None:
    for producer in sch.get_producers(block):
        if _is_reduction(sch, producer):
            raise _NotThisShape("a reduction feeds the padding")
        _inline_upstream(sch, producer)
        sch.compute_inline(producer)


def _place_epilogue(sch, red) -> None:
    """Inline the element-wise chain after the reduction into its last block, then compute that
    block per accumulator, right after the accumulator is complete."""
    consumers = sch.get_consumers(red)
    if not consumers:
        return
    if len(consumers) != 1:
        raise _NotThisShape("the reduction feeds several blocks")
    block = consumers[0]
    while True:
        nxt = sch.get_consumers(block)
        if not nxt:
            break
        if len(nxt) != 1:
            raise _NotThisShape("the epilogue branches")
        sch.compute_inline(block)
        block = nxt[0]
    spatial = _num_spatial(sch, red)
    sch.reverse_compute_at(block, sch.get_loops(red)[spatial - 1], preserve_unit_loops=False)
