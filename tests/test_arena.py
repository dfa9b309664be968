"""The arena planner: live tensors never share bytes, and reuse never costs more than none."""

import random

import pytest

from rvtvm.arena import ARENA_ALIGN, Buffer, align_up, plan_arena


def assert_valid(buffers, plan):
    for b in buffers:
        assert plan.offsets[b.name] % ARENA_ALIGN == 0
        assert plan.offsets[b.name] + b.size <= plan.size
    for i, a in enumerate(buffers):
        for b in buffers[i + 1 :]:
            if a.live_with(b) and a.size and b.size:
                a0, b0 = plan.offsets[a.name], plan.offsets[b.name]
                assert a0 + a.size <= b0 or b0 + b.size <= a0, f"{a} and {b} overlap"
    assert plan.size <= plan.naive_size == sum(align_up(b.size) for b in buffers)


def test_chain_reuses_memory():
    # x0 -> x1 -> x2 -> x3: only neighbours are live together, so two slots suffice.
    bufs = [Buffer(f"t{i}", 1000, i, i + 1) for i in range(4)]
    plan = plan_arena(bufs)
    assert_valid(bufs, plan)
    assert plan.size == 2 * align_up(1000)
    assert plan.naive_size == 4 * align_up(1000)


def test_all_live_together_is_the_sum():
    bufs = [Buffer(f"t{i}", 100 * (i + 1), 0, 5) for i in range(5)]
    plan = plan_arena(bufs)
    assert_valid(bufs, plan)
    assert plan.size == plan.naive_size


def test_overlapping_lifetimes_with_a_long_lived_skip_connection():
    # A residual block: `skip` stays live while a, b, c come and go around it.
    bufs = [
        Buffer("skip", 4096, 0, 4),
        Buffer("a", 2048, 1, 2),
        Buffer("b", 2048, 2, 3),
        Buffer("c", 1024, 3, 4),
        Buffer("ws", 512, 2, 2),  # one operator's scratch
    ]
    plan = plan_arena(bufs)
    assert_valid(bufs, plan)
    assert plan.size == 4096 + 2048 + 2048 + 512
    assert plan.size < plan.naive_size


def test_small_buffer_fills_a_hole():
    bufs = [Buffer("big0", 1024, 0, 1), Buffer("big1", 1024, 2, 3), Buffer("small", 64, 1, 2)]
    plan = plan_arena(bufs)
    assert_valid(bufs, plan)
    assert plan.size == 1024 + 64


def test_zero_sized_and_empty():
    assert plan_arena([]).size == 0
    plan = plan_arena([Buffer("z", 0, 0, 0), Buffer("a", 10, 0, 0)])
    assert plan.size == ARENA_ALIGN


def test_rejects_bad_requests():
    with pytest.raises(ValueError):
        plan_arena([Buffer("a", 1, 0, 0), Buffer("a", 1, 0, 0)])
    with pytest.raises(ValueError):
        plan_arena([Buffer("a", 1, 3, 2)])


@pytest.mark.parametrize("seed", range(40))
def test_random_lifetimes(seed):
    rng = random.Random(seed)
    bufs = []
    for i in range(rng.randint(1, 30)):
        first = rng.randint(0, 20)
        bufs.append(Buffer(f"t{i}", rng.choice([1, 7, 64, 100, 3000, 65536]), first, first + rng.randint(0, 6)))
    plan = plan_arena(bufs)
    assert_valid(bufs, plan)
    # Never below the peak of bytes live at one step (a lower bound for any valid plan).
    peak = max(sum(align_up(b.size) for b in bufs if b.first <= s <= b.last) for s in range(30))
    assert plan.size >= peak
