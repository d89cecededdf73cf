"""Same-run ratios of GpuBench (its log) and attention_peers.py (its JSON) on identical masks (issue #19, line 5).

Usage: python3 peer_ratios.py PEERS-JAVA.LOG PEERS.JSON. The masks are the same when the kept-tile counts are:
GpuBench's column 4 and the harness's "tiles" field.
"""
import json, sys
java = {}
for line in open(sys.argv[1]):
    c = [x.strip() for x in line.strip().strip("|").split("|")]
    if len(c) >= 5 and c[1].isdigit() and c[3].isdigit():
        java[(c[1], "dense" if float(c[2]) == 1.0 else "sparse")] = (int(c[3]), float(c[4]))
for r in json.load(open(sys.argv[2]))["rows"]:
    key = (str(r["n"]), "dense" if "dense" in r["what"] else "sparse")
    tiles, ms = java.get(key, (None, float("nan")))
    same = "same mask" if tiles == r["tiles"] else f"MASK DIFFERS (ours {tiles} tiles, peer {r['tiles']})"
    print(f"{r['what']}, N = {r['n']}: peer {r['ms']:.3f} ms, seer-java {ms:.3f} ms, ratio {ms / r['ms']:.3f} ({same})")
