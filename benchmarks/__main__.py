"""Run one benchmark with its inputs and threads set, as the project's commands do:

    python -m benchmarks [--data DIR] [--threads N] NAME [ARGS ...]

is `python -m benchmarks.NAME ARGS ...` with BENCHMARKS_DATA=DIR (the folder laid out as
../shared/data that every benchmark reads) and OMP_NUM_THREADS=N (inherited by the
trainings it starts) set first: project.yml's commands cannot set environment variables.
"""

import argparse
import os
import runpy
import sys


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", help="Folder of the treebanks and vectors (../shared/data)")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for it and its children")
    parser.add_argument("name", help="A module of benchmarks/, e.g. joint, vectors, tag_speed")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="The benchmark's own arguments")
    opts = parser.parse_args()
    # Before the benchmark's modules are imported: benchmarks.common reads them then.
    if opts.data:
        os.environ["BENCHMARKS_DATA"] = os.path.abspath(opts.data)
    if opts.threads:
        os.environ["OMP_NUM_THREADS"] = str(opts.threads)
    sys.argv = [f"benchmarks.{opts.name}", *opts.args]
    runpy.run_module(f"benchmarks.{opts.name}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
