"""Speed benchmarks of Fusion Playground, each a ratio against a baseline in the same run.

Run ``python -m benchmarks`` (``--quick`` for a short run, ``--only NAME ...`` for some
areas). The table is printed and the entries are written to
``benchmarks/results/latest.json``; ``benchmarks/RESULTS.md`` keeps the last full run.
Areas: training, seed, demo, maps, app, scale, gpu (one module each).
"""
