"""The Python API: the same verbs as the CLI (`rvtvm compile`, `project create|build|flash`, `run`).

    import rvtvm
    rvtvm.compile_model("model.onnx", "model.tar")
    rvtvm.create_project("proj", "model.tar", board="qemu_riscv32")
    rvtvm.build("proj")
    results = rvtvm.run("proj", [{"input": x0}, {"input": x1}])   # one boot, several inputs
    results = rvtvm.run_model("model.onnx", [{"input": x0}])       # all steps in a temp dir
    result = rvtvm.api.run_host_driven("proj", {"input": x0})      # operator by operator over RPC
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from .compiler import CompiledModel, compile_model, read_metadata
from .errors import RvtvmError
from .host_driven import HostDrivenResult
from .standalone import RunResult, StandaloneSession, check_inputs

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = REPO_ROOT / "project_template"
RUNTIME_DIR = REPO_ROOT / "riscv_runtime"
DEFAULT_BOARD = "qemu_riscv32"
DEFAULT_PROJECT_TYPE = "aot_standalone"

Log = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


def create_project(
    project_dir: "str | os.PathLike",
    mlf: "str | os.PathLike",
    *,
    board: str = DEFAULT_BOARD,
    project_type: str = DEFAULT_PROJECT_TYPE,
    options: dict | None = None,
    log: Log = _quiet,
) -> Path:
    """Generate a self-contained firmware project from a Model Library Format tar."""
    from .project import TemplateProject

    read_metadata(mlf)  # a clear error for a file that is not an MLF tar
    opts = {"board": board, "project_type": project_type, **(options or {})}
    log(f"generating project {project_dir} for {opts['board']}")
    with TemplateProject.from_directory(TEMPLATE_DIR) as template:
        template.generate_project(Path(mlf).resolve(), Path(project_dir).resolve(), opts).close()
    return Path(project_dir)


def build(project_dir: "str | os.PathLike", *, options: dict | None = None, log: Log = _quiet) -> None:
    from .project import GeneratedProject

    log(f"building {project_dir}")
    with GeneratedProject.from_directory(project_dir) as project:
        project.build(options or {})


@contextlib.contextmanager
def standalone_session(project_dir: "str | os.PathLike", *, options: dict | None = None, timeout_sec: float = 60.0) -> Iterator[StandaloneSession]:
    """Boot the built firmware and talk to it. The emulator is stopped and reaped on exit,
    whatever happens inside the block."""
    from .project import GeneratedProject

    project_dir = Path(project_dir)
    metadata = json.loads((project_dir / "model" / "metadata.json").read_text())
    with GeneratedProject.from_directory(project_dir) as project:
        project.flash(options or {})
        with project.transport(options or {}) as transport:
            sess = StandaloneSession(transport, metadata, timeout_sec=timeout_sec)
            yield sess
            sess.quit()


def flash(project_dir: "str | os.PathLike", *, options: dict | None = None, log: Log = _quiet) -> str:
    """Boot the firmware, check that it answers with the project's model, and stop it."""
    name = read_metadata(Path(project_dir) / "model.tar")["model_name"]
    if project_type(project_dir) == "host_driven":
        from .rpc_bridge import open_board

        with open_board(project_dir, options=options):
            pass
    else:
        with standalone_session(project_dir, options=options) as sess:
            name = sess.metadata["model_name"]
    log(f"firmware booted and answered with model '{name}'")
    return name


def project_options(project_dir: "str | os.PathLike") -> dict:
    """The options a generated project was created with (board, project_type, ...)."""
    from .rpc_bridge import stored_options

    return stored_options(Path(project_dir))


def project_type(project_dir: "str | os.PathLike") -> str | None:
    return project_options(project_dir).get("project_type")


def run_host_driven(
    project_dir: "str | os.PathLike",
    inputs: "dict | list | None",
    *,
    timeout_sec: float = 60.0,
    seed: int = 0,
    log: Log = _quiet,
) -> HostDrivenResult:
    """Boots a host_driven project and runs the model once from the host, operator by
    operator, with each operator's device cycles. `inputs=None` draws random inputs."""
    from . import host_driven
    from .session import connect

    metadata = read_metadata(Path(project_dir) / "model.tar")
    if project_type(project_dir) != "host_driven":
        raise RvtvmError(f"{project_dir} is an {project_type(project_dir)} project; create it with "
                         "--project-type host_driven to run it host-driven")
    if inputs is None:
        [inputs] = _random_input_sets(metadata, seed, log)
    check_inputs(metadata, inputs)
    log("booting the board and opening an RPC session")
    with connect(project_dir, call_timeout_sec=timeout_sec) as sess:
        return host_driven.run(sess, metadata, inputs, log=log)


def run(
    project_dir: "str | os.PathLike",
    inputs: "list | None",
    *,
    options: dict | None = None,
    timeout_sec: float = 60.0,
    seed: int = 0,
    log: Log = _quiet,
) -> list[RunResult]:
    """Run each input set (a dict name -> array, or a list in input order) through one boot.
    `inputs=None` runs one set of random inputs drawn with `seed`."""
    if inputs is None:
        inputs = _random_input_sets(read_metadata(Path(project_dir) / "model.tar"), seed, log)
    results = []
    with standalone_session(project_dir, options=options, timeout_sec=timeout_sec) as sess:
        for i, inp in enumerate(inputs):
            log(f"running input set {i + 1}/{len(inputs)}")
            results.append(sess.run(inp))
    return results


def run_model(
    model,
    inputs: "list | None",
    *,
    board: str = DEFAULT_BOARD,
    options: dict | None = None,
    workdir: "str | os.PathLike | None" = None,
    timeout_sec: float = 60.0,
    seed: int = 0,
    accel: str | None = None,
    log: Log = _quiet,
) -> tuple[CompiledModel, list[RunResult]]:
    """compile + create + build + run, in `workdir` or a temporary directory. `inputs=None`
    runs one set of random inputs drawn with `seed` (examples.random_inputs). `accel` offloads
    to that accelerator (compile_model)."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="rvtvm-"))
        workdir = Path(workdir)
        compiled = compile_model(model, workdir / "model.tar", accel=accel, log=log)
        if inputs is None:
            inputs = _random_input_sets(compiled.metadata, seed, log)
        for inp in inputs:  # refuse bad inputs before the slow build, not after it
            check_inputs(compiled.metadata, inp)
        project = workdir / "project"
        create_project(project, compiled.path, board=board, options=options, log=log)
        build(project, log=log)
        return compiled, run(project, inputs, timeout_sec=timeout_sec, log=log)


def _random_input_sets(metadata: dict, seed: int, log: Log) -> list:
    from .examples import random_inputs

    log(f"no inputs given: running one set of random inputs (seed {seed})")
    return [random_inputs(metadata, seed=seed)]
