"""Static memory planning: place tensors with known lifetimes in one arena.

A tensor is live from the step that writes it to the last step that reads it, both inclusive.
Two tensors whose lifetimes overlap must not overlap in memory; tensors that are never live at
the same time may share bytes. The planner is TFLite Micro's greedy-by-size heuristic: place the
largest tensors first, each at the lowest aligned offset that clears every already placed tensor
it is live with. It is not optimal, but it never does worse than laying the tensors end to end,
and it is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

ARENA_ALIGN = 16


@dataclass(frozen=True)
class Buffer:
    """A request: `size` bytes live over steps [first, last]."""

    name: str
    size: int
    first: int
    last: int

    def live_with(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass(frozen=True)
class ArenaPlan:
    offsets: dict[str, int]
    size: int
    naive_size: int  # every buffer end to end, aligned: what no reuse would cost


def align_up(value: int, align: int = ARENA_ALIGN) -> int:
    return (value + align - 1) // align * align


def plan_arena(buffers: list[Buffer], align: int = ARENA_ALIGN) -> ArenaPlan:
    """Give every buffer an aligned offset so that buffers live at the same time are disjoint."""
    names = [b.name for b in buffers]
    if len(set(names)) != len(names):
        raise ValueError("plan_arena: buffer names must be unique")
    for b in buffers:
        if b.size < 0 or b.first > b.last:
            raise ValueError(f"plan_arena: bad buffer {b}")

    # Largest first; ties broken by birth and name so the plan is reproducible.
    order = sorted(buffers, key=lambda b: (-b.size, b.first, b.name))
    placed: list[tuple[int, Buffer]] = []
    offsets: dict[str, int] = {}
    for buf in order:
        if buf.size == 0:
            offsets[buf.name] = 0
            continue
        # Intervals already taken by buffers live together with this one, lowest first.
        taken = sorted((off, off + align_up(b.size, align)) for off, b in placed if b.live_with(buf))
        offset = 0
        for start, end in taken:
            if offset + buf.size <= start:
                break
            offset = max(offset, end)
        offsets[buf.name] = offset
        placed.append((offset, buf))

    size = max((off + align_up(b.size, align) for off, b in placed), default=0)
    naive = sum(align_up(b.size, align) for b in buffers)
    return ArenaPlan(offsets=offsets, size=size, naive_size=naive)
