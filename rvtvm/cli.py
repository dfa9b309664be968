"""The `rvtvm` command line, mirroring `tvmc micro`:

    rvtvm compile MODEL -o model.tar
    rvtvm project create DIR --mlf model.tar --board qemu_riscv32 [-o key=value ...]
    rvtvm project build DIR
    rvtvm project flash DIR
    rvtvm run DIR   --input NAME=file.npy ... [--output out.npz] [--mode host-driven]
    rvtvm run MODEL --board qemu_riscv32 --input ... [--output out.npz]
    rvtvm rpc-server --project DIR [--tracker HOST:PORT --key K]

Every failure is one line on stderr and exit status 1 (130 on Ctrl-C); --verbose adds the
traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from .errors import InputError, RvtvmError


def _progress(msg: str) -> None:
    print(f"[rvtvm] {msg}", file=sys.stderr, flush=True)


def _option(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"option '{text}' must look like key=value")
    key, value = text.split("=", 1)
    low = value.lower()
    if low in ("true", "false"):
        return key, low == "true"
    try:
        return key, int(value, 0)
    except ValueError:
        return key, value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rvtvm", description="TVM models as bare-metal RISC-V firmware")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and build output")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compile", help="compile a model into a Model Library Format tar")
    c.add_argument("model", help="a .tflite (int8) or .onnx file")
    c.add_argument("-o", "--output", required=True, help="the .tar to write")
    c.add_argument("--name", default="default", help="model name in the generated C (default: default)")
    c.add_argument("--accel", metavar="NAME", help="offload the operators accelerator NAME takes to calls into its "
                   "driver, and print which were offloaded and why the others were not (rvtvm: rvtvm's int8 accelerator)")

    proj = sub.add_parser("project", help="create, build and flash firmware projects")
    psub = proj.add_subparsers(dest="project_command", required=True)
    pc = psub.add_parser("create", help="generate a project from a template and an MLF tar")
    pc.add_argument("dir")
    pc.add_argument("--mlf", required=True, help="Model Library Format tar from `rvtvm compile`")
    pc.add_argument("--board", default="qemu_riscv32")
    pc.add_argument("--project-type", default="aot_standalone")
    for name, help_text in (("build", "build the firmware"), ("flash", "boot the firmware and check that it answers")):
        q = psub.add_parser(name, help=help_text)
        q.add_argument("dir")
    for q in psub.choices.values():
        q.add_argument("-o", "--option", dest="options", action="append", type=_option, default=[], metavar="KEY=VALUE", help="a project option (repeatable)")

    r = sub.add_parser("run", help="run inputs through a built project, or through a model end to end")
    r.add_argument("target", help="a project directory, or a model file (compiled and built in a temp dir)")
    r.add_argument("--input", "-i", dest="inputs", action="append", default=[], metavar="NAME=FILE.npy", help="an input tensor (repeatable); a .npz gives all inputs")
    r.add_argument("--output", help="write the outputs to this .npz")
    r.add_argument("--board", default="qemu_riscv32", help="board when TARGET is a model")
    r.add_argument("--accel", metavar="NAME", help="when TARGET is a model: offload to accelerator NAME (see compile)")
    r.add_argument("-o", "--option", dest="options", action="append", type=_option, default=[], metavar="KEY=VALUE")
    r.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the firmware per step (default 60)")
    r.add_argument("--seed", type=int, default=0, help="seed of the random inputs used when no --input is given (default 0)")
    r.add_argument("--mode", choices=("standalone", "host-driven"), default="standalone",
                   help="standalone: the firmware runs the model (default); host-driven: the host calls each operator over "
                        "RPC and prints a per-operator cycle profile (needs a host_driven project)")
    s = sub.add_parser("rpc-server", help="serve a host_driven board to tvm.rpc clients, optionally through an RPC tracker")
    s.add_argument("--project", required=True, help="a built project created with --project-type host_driven")
    s.add_argument("--board", help="the board the project must be for (default: the project's)")
    s.add_argument("--tracker", metavar="HOST:PORT", help="register with this TVM RPC tracker (python -m tvm.exec.rpc_tracker)")
    s.add_argument("--key", default="rvtvm", help="the key clients request the board by (default: rvtvm)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    s.add_argument("--port", type=int, default=9090, help="first port to try (default 9090; up to 9199)")
    s.add_argument("--timeout", type=float, default=60.0, help="seconds a single RPC call may take on the board (default 60)")
    s.add_argument("--emulator-timeout", type=int, default=24 * 3600,
                   help="the emulator is stopped after this many seconds, and the server with it (default 24 h)")
    return p


def _host_port(text: str) -> tuple[str, int]:
    from .session import parse_host_port

    address = parse_host_port(text)
    if address is None:
        raise InputError(f"--tracker must look like HOST:PORT, got {text!r}")
    return address


def _cmd_rpc_server(args, log) -> None:
    from . import api
    from .board_server import serve

    project = Path(args.project)
    if not (project / "microtvm_api_server.py").is_file():
        raise RvtvmError(f"{project} is not an rvtvm project; create one with `rvtvm project create --project-type host_driven`")
    stored = api.project_options(project)
    if stored.get("project_type") != "host_driven":
        raise RvtvmError(f"{project} is an {stored.get('project_type')} project; the RPC server needs --project-type host_driven")
    if args.board and args.board != stored.get("board"):
        raise RvtvmError(f"{project} was created for board {stored.get('board')}, not {args.board}")
    tracker = _host_port(args.tracker) if args.tracker else None
    serve(project, host=args.host, port=args.port, port_end=9199, tracker=tracker, key=args.key,
          call_timeout_sec=args.timeout, emulator_timeout_sec=args.emulator_timeout, say=log)


def _load_inputs(specs: list[str]) -> dict[str, np.ndarray]:
    inputs: dict[str, np.ndarray] = {}
    for spec in specs:
        if "=" in spec:
            name, path = spec.split("=", 1)
        else:
            name, path = None, spec
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read input file {path}: {exc}") from None
        if isinstance(data, np.lib.npyio.NpzFile):
            if name is not None:
                raise InputError(f"{path} is an .npz; give it without NAME= to load every array in it")
            inputs.update({k: data[k] for k in data.files})
        else:
            if name is None:
                raise InputError(f"give the input's name: --input NAME={path}")
            inputs[name] = data
    return inputs


def _print_result(result, metadata: dict, elapsed: float) -> None:
    _print_outputs(result.outputs, metadata)
    print(f"cycles: {result.cycles}  instret: {result.instret}  stack: {result.stack_bytes} bytes  (wall {elapsed:.2f} s)")


def _print_outputs(outputs: dict, metadata: dict) -> None:
    quant = {port["name"]: port.get("quantization") for port in metadata["outputs"]}
    for name, value in outputs.items():
        with np.printoptions(threshold=64, precision=6, suppress=True):
            print(f"{name}: {value.dtype}{list(value.shape)}\n{value}")
            q = quant.get(name)
            if q:  # an int8 TFLite output: also show the real values it stands for
                real = q["scale"] * (value.astype(np.float64) - q["zero_point"])
                print(f"dequantized (scale {q['scale']:.9g}, zero point {q['zero_point']}):\n{real}")


def _cmd_run(args, log) -> None:
    from . import api
    from .compiler import read_metadata

    inputs = _load_inputs(args.inputs)
    target = Path(args.target)
    if args.accel and (target.is_dir() or args.mode == "host-driven"):
        raise InputError("--accel applies when TARGET is a model file; for a project, compile its model with "
                         "`rvtvm compile --accel` and create the project from that")
    options = dict(args.options)
    start = time.monotonic()
    if args.mode == "host-driven":
        if not (target / "microtvm_api_server.py").is_file():
            raise RvtvmError(f"{target} is not an rvtvm project; host-driven runs need a project created with "
                             "--project-type host_driven")
        metadata = read_metadata(target / "model.tar")
        result = api.run_host_driven(target, inputs or None, timeout_sec=args.timeout, seed=args.seed, log=log)
        _print_outputs(result.outputs, metadata)
        print(result.profile_table())
        print(f"device cycles: {result.cycles}  (wall {time.monotonic() - start:.2f} s)")
        if args.output:
            np.savez(args.output, **result.outputs)
            log(f"wrote {args.output}")
        return
    if target.is_dir():
        if not (target / "microtvm_api_server.py").is_file():
            raise RvtvmError(f"{target} is not an rvtvm project; create one with `rvtvm project create`")
        metadata = read_metadata(target / "model.tar")
        [result] = api.run(target, [inputs] if inputs else None, options=options, timeout_sec=args.timeout,
                           seed=args.seed, log=log)
    else:
        compiled, [result] = api.run_model(target, [inputs] if inputs else None, board=args.board, options=options,
                                           timeout_sec=args.timeout, seed=args.seed, accel=args.accel, log=log)
        metadata = compiled.metadata
    _print_result(result, metadata, time.monotonic() - start)
    if args.output:
        np.savez(args.output, **result.outputs)
        log(f"wrote {args.output}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log = _progress
    try:
        from . import api

        if args.command == "compile":
            from .accel.partition import report_lines

            result = api.compile_model(args.model, args.output, model_name=args.name, accel=args.accel, log=log)
            if args.accel:
                print("\n".join(report_lines(result.metadata["accel"])))
            mem = result.metadata["memory"]
            print(f"{args.output}: arena {mem['arena_bytes']} bytes (naive {mem['naive_bytes']}), constants {mem['constant_bytes']} bytes, {len(result.metadata['operators'])} operators, {result.seconds:.1f} s")
        elif args.command == "project":
            options = dict(args.options)
            if args.project_command == "create":
                if args.verbose:
                    options.setdefault("verbose", True)
                api.create_project(args.dir, args.mlf, board=args.board, project_type=args.project_type, options=options, log=log)
                print(f"created {args.dir}")
            elif args.project_command == "build":
                api.build(args.dir, options=options, log=log)
                print(f"built {Path(args.dir) / 'build' / 'firmware.elf'}")
            else:
                name = api.flash(args.dir, options=options, log=log)
                print(f"flashed {args.dir}: the firmware booted and answered with model '{name}'")
        elif args.command == "rpc-server":
            _cmd_rpc_server(args, log)
        else:
            _cmd_run(args, log)
        return 0
    except KeyboardInterrupt:
        print("rvtvm: interrupted", file=sys.stderr)
        return 130
    except RvtvmError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"rvtvm: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug in rvtvm or TVM: still one line, details on request
        if args.verbose:
            traceback.print_exc()
        detail = str(exc).strip().splitlines()
        print(f"rvtvm: internal error: {type(exc).__name__}: {detail[-1] if detail else ''} (rerun with --verbose for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
