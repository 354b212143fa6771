"""Wraps Debian's system libraries as Bazel targets by asking pkg-config.

`system_libs(name, modules)` creates `@name//:<target>` for every entry of
`modules` (target name -> list of pkg-config module names), and for every entry
of `plain_libraries` (target name -> link flags) for libraries without a
pkg-config file. Each pkg-config target is a
cc_library whose include directories are symlinked into the repository (so
Bazel sees the headers as declared and passes them with -isystem) and whose
link flags are pkg-config's `--libs` (and its `-D` flags, defines). Runs at fetch time; needs no network.
"""

def _run(rctx, args):
    res = rctx.execute(["pkg-config"] + args)
    if res.return_code != 0:
        fail("pkg-config %s failed: %s\nInstall the project's packages with tools/setup.sh." %
             (" ".join(args), res.stderr))
    return res.stdout.strip()

def _system_libs_impl(rctx):
    build = ['package(default_visibility = ["//visibility:public"])', ""]
    for target, modules in rctx.attr.modules.items():
        includes = []
        for flag in _run(rctx, ["--cflags-only-I"] + modules).split(" "):
            if not flag.startswith("-I"):
                continue
            path = flag[2:]
            if path in ("/usr/include", "/usr/local/include") or path in [i[1] for i in includes]:
                continue
            link = "%s_include_%d" % (target, len(includes))
            rctx.symlink(path, link)
            includes.append((link, path))
        linkopts = [f for f in _run(rctx, ["--libs"] + modules).split(" ") if f]
        # Macros the library's headers need (toml++: TOML_SHARED_LIB=1).
        defines = [f[2:] for f in _run(rctx, ["--cflags-only-other"] + modules).split(" ")
                   if f.startswith("-D")]
        build.append("cc_library(")
        build.append('    name = "%s",' % target)
        build.append("    hdrs = glob([%s], allow_empty = True)," %
                     ", ".join(['"%s/**"' % i[0] for i in includes]))
        build.append("    includes = %s," % repr([i[0] for i in includes]))
        build.append("    linkopts = %s," % repr(linkopts))
        build.append("    defines = %s," % repr(defines))
        build.append(")")
        build.append("")
    for target, flags in rctx.attr.plain_libraries.items():
        # Libraries that ship no pkg-config file: link flags only (the caller
        # declares the few functions it uses).
        build.append("cc_library(")
        build.append('    name = "%s",' % target)
        build.append("    linkopts = %s," % repr(flags))
        build.append(")")
        build.append("")
    rctx.file("BUILD.bazel", "\n".join(build))
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

system_libs = repository_rule(
    implementation = _system_libs_impl,
    attrs = {
        "modules": attr.string_list_dict(mandatory = True),
        "plain_libraries": attr.string_list_dict(),
    },
    local = True,
    environ = ["PKG_CONFIG_PATH"],
)
