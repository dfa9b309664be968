"""The four MLPerf Tiny int8 reference models, which the repo carries as data
(models/mlperf_tiny/, with their origin, licence and checksums in its README). The tests, the
benchmarks and the demo take them from here."""

from __future__ import annotations

from pathlib import Path

MODELS = {  # short name -> file stem
    "kws": "kws_ref_model",
    "vww": "vww_96_int8",
    "resnet": "pretrainedResnet_quant",
    "ad": "ad01_int8",
}

_DIR = Path(__file__).resolve().parent.parent / "models" / "mlperf_tiny"


def models_dir() -> Path:
    """The folder holding the four .tflite files."""
    return _DIR


def model_path(short: str) -> Path:
    """The .tflite file of a model by its short name (kws, vww, resnet, ad)."""
    if short not in MODELS:
        raise KeyError(f"no MLPerf Tiny model '{short}'; the models are {', '.join(MODELS)}")
    return _DIR / f"{MODELS[short]}.tflite"
