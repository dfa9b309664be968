"""rvtvm's default CPU schedule (rvtvm/schedule.py) takes hold where it should. A schedule that
silently fails falls back to correct but slow, RAM-hungry TIR, which no bit-exactness test would
notice, so this checks the scheduled operators themselves."""

import tvm

from rvtvm.frontend import load_model
from rvtvm.lower import fuse_operators, tir_functions
from rvtvm.schedule import schedule_reduction_with_epilogue

from .tflite_builder import ModelBuilder


def small_model(tmp_path):
    """conv 3x3 SAME -> depthwise 3x3 -> max pool -> FC: every kind of reduction rvtvm emits."""
    m = ModelBuilder(seed=1)
    x = m.add_input((1, 8, 8, 8), q=(0.05, -3))
    c = m.conv2d(x, 16, (3, 3), (0.1, 2), weight_max=20)
    d = m.depthwise_conv2d(c, (3, 3), (0.1, 2), weight_max=20)
    p = m.pool2d("MAX_POOL_2D", d, (2, 2), (0.1, 2), stride=(2, 2))
    m.mark_output(m.fully_connected(m.reshape(p, (1, 256)), 8, (0.2, 0), weight_max=20))
    path = tmp_path / "model.tflite"
    path.write_bytes(m.build())
    return load_model(path).mod


def test_every_quantized_unit_is_scheduled(tmp_path):
    fused = fuse_operators(small_model(tmp_path))
    units = {gv.name_hint: f for gv, f in fused.functions.items()
             if isinstance(f, tvm.tirx.PrimFunc) and "requantize" in gv.name_hint}
    assert len(units) == 3, sorted(units)  # conv, depthwise, fully connected
    for name, func in units.items():
        assert schedule_reduction_with_epilogue(func) is not None, f"{name} kept its legalized TIR"


def test_scheduled_c_has_no_accumulator_tensor_and_unrolls_only_sums(tmp_path):
    from rvtvm.lower import lower_relax

    c = tvm.compile(tir_functions(lower_relax(small_model(tmp_path))), target="c").mod.inspect_source()
    # The accumulators are one-element locals and the padded input is per output row, so no
    # operator asks the runtime for scratch the size of a tensor.
    assert "matmul_intermediate_ptr[1]" in c
    assert "TVMBackendAllocWorkspace" not in c
    # The innermost loop of each sum is unrolled: the input channels of the convolution (8), the
    # taps of the depthwise one (its channel loop has extent 1). The max pool's window is not
    # (TVM's C backend reuses a stale SSA name for max operands in unrolled code).
    bodies = [body.split("\n}\n")[0] for body in c.split("TVM_DLL int32_t __tvm_ffi_")[1:]]
    [conv] = [b for b in bodies if "int32_t conv2d_nhwc_intermediate_ptr[1]" in b]
    [depthwise] = [b for b in bodies if "group_conv2d_nhwc_intermediate_ptr[1]" in b]
    [pool] = [b for b in bodies if b.startswith("max_pool_int8") and "for (" in b]
    assert "for (int32_t ry" in conv and "for (int32_t rc" not in conv
    assert "for (int32_t ry" in depthwise and "for (int32_t rx" not in depthwise
    assert "for (int32_t rw" in pool
