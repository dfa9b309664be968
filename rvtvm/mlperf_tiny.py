"""Where the MLPerf Tiny reference models are (the tests, the benchmark and the demo use them).

The models are not in this repo: they sit in the project's shared folder,
`<parent>/shared/models/mlperf_tiny/`, next to the checkout. A fresh clone made elsewhere (CI
clones into a scratch directory) finds them through the repository it was cloned from.
RVTVM_MLPERF_DIR overrides both.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS = {  # short name -> file stem
    "kws": "kws_ref_model",
    "vww": "vww_96_int8",
    "resnet": "pretrainedResnet_quant",
    "ad": "ad01_int8",
}
_RELATIVE = Path("shared") / "models" / "mlperf_tiny"


def models_dir() -> Path | None:
    """The folder holding the four .tflite files, or None if none of the candidates has them."""
    for candidate in _candidates():
        if all((candidate / f"{stem}.tflite").is_file() for stem in MODELS.values()):
            return candidate
    return None


def where_looked() -> str:
    return ", ".join(str(c) for c in _candidates())


def _candidates() -> list[Path]:
    if os.environ.get("RVTVM_MLPERF_DIR"):
        return [Path(os.environ["RVTVM_MLPERF_DIR"])]
    roots = [REPO_ROOT]
    origin = _origin_checkout()
    if origin is not None:
        roots.append(origin)
    return [root.parent / _RELATIVE for root in roots]


def _origin_checkout() -> Path | None:
    """The local repository this checkout was cloned from, if it was cloned from a path."""
    try:
        url = subprocess.run(["git", "-C", str(REPO_ROOT), "remote", "get-url", "origin"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = Path(url.removeprefix("file://")) if url and "://" not in url.removeprefix("file://") else None
    return path.resolve() if path is not None and path.is_dir() else None
