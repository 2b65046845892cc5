#!/usr/bin/env python3
"""Translate every pattern of a file in-process with stix-shifter; print patterns/s."""
import sys
import time

from stix_shifter.stix_translation import stix_translation

patterns = [line.rstrip("\n") for line in open(sys.argv[1])]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else len(patterns)
patterns = patterns[:limit]
t = stix_translation.StixTranslation()
t.translate("sysdig", "query", "{}", patterns[0], {})  # warm up imports
ok = 0
start = time.perf_counter()
for p in patterns:
    r = t.translate("sysdig", "query", "{}", p, {})
    ok += "queries" in r
elapsed = time.perf_counter() - start
print("%d %d %.6f" % (len(patterns), ok, elapsed))
