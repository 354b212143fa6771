"""rspd_system_test: a shell test that drives real rspd and rspctl processes.

The script gets `$(location //tools:rspd)` and `$(location //tools:rspctl)`
(then `extra_args`) as arguments and can source tests/test_lib.sh.

`heavy = True` runs the test alone ("exclusive"): it saturates both cores of
a small machine on purpose (floods, tens of thousands of PEs), and the
processes of another test beside it would starve, or starve it, and both
would measure the machine instead of rspd.
"""

def rspd_system_test(name, srcs, extra_args = [], extra_data = [], tags = [], heavy = False):
    native.sh_test(
        name = name,
        size = "medium",
        srcs = srcs,
        args = [
            "$(location //tools:rspd)",
            "$(location //tools:rspctl)",
        ] + extra_args,
        data = [
            "test_lib.sh",
            "//tools:rspctl",
            "//tools:rspd",
        ] + extra_data,
        tags = tags + (["exclusive"] if heavy else []),
    )
