#!/usr/bin/env bash
# README command 1: install what is needed, build, and run the registrar on the
# default socket I/O in the foreground. Ctrl-C stops it. Extra arguments go to rspd.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel build //tools:rspd //tools:rspctl
exec bazel-bin/tools/rspd --bind_address=127.0.0.1 "$@"
