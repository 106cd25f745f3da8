"""Helpers of ``benchmarks/bench_quality.py``: peer models, data sets, grid tuning.

Imported by the script as ``quality.*`` (the script's folder is on the path
when it runs); :mod:`quality.peers` imports nothing from here, so tests load
it by file path.
"""
