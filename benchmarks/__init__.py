"""cloudlet's benchmark harness (issue 9): ``python -m benchmarks run --quick|--full``.

It seeds its own datasets, starts its own servers on loopback (cloudlet on SQLite and PostgreSQL,
a raw granian ceiling app, moto's server), loads them from separate processes with bounded
durations and counts, and writes benchmarks/RESULTS.md. The Python API is ``benchmarks.plan``
(what to measure), ``benchmarks.scenarios.run_plan`` (measure it) and ``benchmarks.report`` (render).
"""
