"""rspd_fuzz_test: a libFuzzer target and the short fuzz run that tests it.

`NAME` is a binary of the target; under `--config=fuzz` it is linked with
libFuzzer, otherwise with protocol/testing/fuzz_driver.cc (corpus replay plus
seeded mutations). `NAME_test` runs it over `corpus` (a testdata folder) with
RSPD_FUZZ_RUNS mutations; it is tagged "fuzz" for tools/test.sh.
"""

def rspd_fuzz_test(name, srcs, deps, corpus):
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        linkopts = select({
            "//bazel:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            "//bazel:libfuzzer": [],
            "//conditions:default": ["//protocol:fuzz_driver"],
        }),
    )
    native.sh_test(
        name = name + "_test",
        size = "medium",
        srcs = ["//bazel:run_fuzz_test.sh"],
        args = [
            "$(location :%s)" % name,
            "%s/%s" % (native.package_name(), corpus),
        ],
        data = [":" + name] + native.glob([corpus + "/**"]),
        tags = ["fuzz"],
    )
