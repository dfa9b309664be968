"""Offload int8 ADD to your own C function: a registry entry for a new driver function, in a
few lines (README, "Offloading a new operator"). Importing this module registers it on target
"rvtvm", above rvtvm's own "add" entry (the accelerator's add pass); then

    rvtvm compile model.tflite -o model.tar --accel rvtvm     (with this module imported)

calls example_add_s8 (add_s8.c, shipped inside the Model Library Format) for every ADD whose
inputs have the output's shape. tests/test_accel_e2e.py runs it against TFLite Micro.
"""

from pathlib import Path

from tvm.relax.dpl import GlobalVarPattern, TuplePattern, is_op, wildcard

from rvtvm import accel

a, b = wildcard(), wildcard()
add = is_op("relax.call_tir")(GlobalVarPattern(), TuplePattern([a, b]))


def can_add(m: accel.Match) -> list[str]:
    if not m.shape("a") == m.shape("b") == m.shape():
        return [f"broadcasting {m.shape('a')} + {m.shape('b')}"]
    return []


def lower_add(m: accel.Match) -> accel.ExternCall:
    p = m.params()  # the importer's ADD parameters (TFLM's names)
    return accel.ExternCall("example_add_s8", [
        m["a"], m["b"], accel.OUTPUT, m.size("a"),
        p["input1_offset"], p["input1_multiplier"], p["input1_shift"],
        p["input2_offset"], p["input2_multiplier"], p["input2_shift"], p["left_shift"],
        p["output_multiplier"], p["output_shift"], p["output_offset"], p["act_min"], p["act_max"]])


ENTRY = accel.register(accel.AccelEntry(
    target="rvtvm", name="example_add", pattern=add, annotations={"a": a, "b": b, "root": add},
    kernels={"root": "add_int8"}, predicate=can_add, lower=lower_add, priority=10,
    sources=(Path(__file__).with_name("add_s8.c"),)), replace=True)
