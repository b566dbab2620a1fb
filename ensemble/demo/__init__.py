"""The synthetic demo data: simulated-user personas, a planted real-user mixture, topic pools.

Not part of the measurement: it only writes conversations for the demo, the
tests and the benchmarks to measure.
"""
from ensemble.demo.generator import write_demo

__all__ = ["write_demo"]
