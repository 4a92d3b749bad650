#!/usr/bin/env python3
# minflt.py PROG ARGS...: the minor page faults of one run of PROG (its
# process only; the least of 5 runs), for tests that bound what the shim
# adds to a process that never uses it.
import resource, subprocess, sys
best = None
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
    n = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before
    best = n if best is None else min(best, n)
print(best)
