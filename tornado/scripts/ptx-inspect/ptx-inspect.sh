#!/usr/bin/env bash
# Shows the PTX TornadoVM generates for the tornado kernels on a machine WITHOUT an NVIDIA GPU, and what ptxas makes
# of it (registers, spills, stack, shared memory). It builds fakecuda.c into a stand-in libcuda.so.1 (enough of the
# driver API for TornadoVM to start, compile and "launch": launches do nothing, so results are meaningless) that
# writes every PTX module TornadoVM loads into $PTX_DIR, then runs CLASS (a main that executes task graphs) with
# TornadoVM's JVM arguments. Needs gcc, the CUDA headers (/usr/local/cuda/include) and ptxas.
#   usage: TORNADOVM_HOME=… tornado/scripts/ptx-inspect/ptx-inspect.sh CLASSPATH CLASS [args…]
set -euo pipefail
: "${TORNADOVM_HOME:?set TORNADOVM_HOME}"
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK=${WORK:-/tmp/seer-ptx-inspect}
PTX_DIR=${PTX_DIR:-$WORK/ptx}
mkdir -p "$WORK/lib" "$PTX_DIR"
rm -f "$PTX_DIR"/*.ptx
gcc -shared -fPIC -O2 -I/usr/local/cuda/include -o "$WORK/lib/libcuda.so.1" "$HERE/fakecuda.c"
sed "s|\${TORNADOVM_HOME}|$TORNADOVM_HOME|g" "$TORNADOVM_HOME/tornado-argfile.template" > "$WORK/argfile"
CP=$1
shift
LD_LIBRARY_PATH="$WORK/lib" FAKE_CUDA_PTX_DIR="$PTX_DIR" "$JAVA_HOME/bin/java" @"$WORK/argfile" \
  -Dtornado.recover.bailout=False -cp "$CP" "$@" || true
for f in "$PTX_DIR"/*.ptx; do
  entry=$(grep -m1 '\.entry' "$f" | sed 's/.*\.entry \([^ (]*\).*/\1/' | cut -c1-70)
  echo "== $(basename "$f") $entry"
  ptxas -arch=sm_90 -v "$f" -o /dev/null 2>&1 | grep -E "Used|stack|error" || true
  # a local (shared) array indexed by a 64-bit register is addressed like a heap array: a TornadoVM miscompile
  bad=$(grep -cE 'Arr[0-9]+\[rsd' "$f" || true)
  [ "$bad" = 0 ] || echo "   WARNING: $bad local-array accesses through 64-bit byte offsets"
  python3 "$HERE/undefined-predicates.py" "$f" || true
done
