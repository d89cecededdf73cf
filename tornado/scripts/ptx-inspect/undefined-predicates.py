"""Predicates a PTX module branches on but never sets (a TornadoVM miscompile: seen on TornadoVM 5.2.0's PTX backend
when a loop with a compound exit condition over constant-specialised bounds is fully unrolled; the branch then reads
an unset register and the kernel computes garbage on the device while the Java form is right).

Usage: python3 undefined-predicates.py FILE.ptx; prints the predicates, exit status 1 when there are any."""
import re
import sys

text = open(sys.argv[1]).read()
used = set(re.findall(r'@!?(rpb\d+)', text))
defined = set(re.findall(r'(?:setp|and|or|not|xor|mov|selp)(?:\.\w+)+\s+(rpb\d+)', text))
missing = sorted(used - defined, key=lambda p: int(p[3:]))
if missing:
    print("   WARNING: branches on predicates never set (miscompile): " + ", ".join(missing))
    sys.exit(1)
