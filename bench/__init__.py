"""Benchmarks: `make bench [BENCH_ARGS="NAME …"]` (targets and figures in docs/performance.md).

`bench/run.py` prepares its own database (`aidc_bench`) and Redis db, builds the generated fleet
once, starts gunicorn and runs the benchmarks registered in `run.BENCHMARKS`: modules
`bench/<name>.py` exposing `run(ctx: harness.Context) -> dict`.
"""
