"""What rvtvm pins beside apache-tvm, and the crash the pin avoids.

apache-tvm 0.27.0.post1 leaves apache-tvm-ffi unpinned. With 0.1.15.post2, tvm.ir.save_json()
segfaults on any IR node (in tvm::ffi::ToJSONGraph), which takes down meta_schedule's
TuneContext and JSONDatabase; 0.1.14.post1 works. The check runs in a child process, because
the failure is a segfault, not an exception.
"""

import importlib.metadata
import re
import sys
import textwrap
from pathlib import Path

from rvtvm import process

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

SERIALIZE_IR = textwrap.dedent("""
    import os, sys, tempfile
    import tvm
    from tvm import te, tirx
    from tvm.s_tir import meta_schedule as ms

    assert tvm.ir.load_json(tvm.ir.save_json(tirx.IntImm("int32", 7))).value == 7
    a = te.placeholder((8,), "int8", name="a")
    mod = tvm.IRModule({"main": te.create_prim_func([a, te.compute((8,), lambda i: a[i] + 1)])})
    tvm.ir.assert_structural_equal(tvm.ir.load_json(tvm.ir.save_json(mod)), mod)

    folder = tempfile.mkdtemp()
    paths = [os.path.join(folder, "workloads.json"), os.path.join(folder, "records.json")]
    db = ms.database.JSONDatabase(*paths, allow_missing=True)
    workload = db.commit_workload(mod)
    trace = tvm.s_tir.Schedule(mod).trace
    db.commit_tuning_record(ms.database.TuningRecord(trace, workload, [1e-3], tvm.target.Target("c"), []))
    reloaded = ms.database.JSONDatabase(*paths)
    [record] = reloaded.get_all_tuning_records()
    tvm.ir.assert_structural_equal(record.workload.mod, mod)
    print("ok")
""")


def test_tvm_ffi_is_the_pinned_version():
    pinned = re.search(r'"apache-tvm-ffi==([^"]+)"', PYPROJECT.read_text()).group(1)
    assert importlib.metadata.version("apache-tvm-ffi") == pinned


def test_ir_serializes_and_a_tuning_database_round_trips():
    done = process.run([sys.executable, "-c", SERIALIZE_IR], timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (
        f"status {done.returncode} (-11 is the save_json segfault of apache-tvm-ffi 0.1.15):\n{done.stderr[-2000:]}")
