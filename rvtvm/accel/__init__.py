"""The int8 tensor accelerator, seen from the host: its data layouts and a numpy model of what it
computes. The hardware is rtl/ (register map in rtl/README.md); the firmware's API is
accel_driver/include/rvtvm/accel.h."""
