"""rspd_benchmark: a Google Benchmark binary that also runs as a short smoke test.

`bazel run -c opt //bench:NAME` measures; `bazel test //bench:NAME_smoke` runs
every benchmark once at a small scale (RSPD_BENCH_SMOKE=1, see bench_util.h),
so a broken benchmark fails the suite.
"""

def rspd_benchmark(name, srcs, deps = [], **kwargs):
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        deps = deps + [":bench_main"],
        tags = ["benchmark"],
        **kwargs
    )
    native.sh_test(
        name = name + "_smoke",
        size = "medium",
        srcs = ["run_smoke.sh"],
        args = ["$(location :%s)" % name],
        data = [":" + name],
        env = {"RSPD_BENCH_SMOKE": "1"},
    )
