"""int8 TFLite import, bit-exact with TFLite Micro: reader (flatbuffer -> Python), importer
(-> integer-only Relax), kernels and activations (TE computes of TFLM reference kernels) and
fixed_point (TFLite/gemmlowp integer arithmetic)."""
