#!/usr/bin/env bash
# On the GPU machine, from the repository root: the decoder tests (package org.seerjava.gpu.llm and the library
# discovery tests), then DecoderBench (ARGS). Needs .dev/jdk-small.tar.xz and the folder staged by runtime-stage.sh.
set -u
R=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
tar -xJf .dev/jdk-small.tar.xz -C /tmp
J=/tmp/djdk-small/bin/java
CP=$R/gpu-classes:$R/ref-classes:$R/gpu-test-classes:$R/jackson-databind-2.18.2.jar:$R/jackson-core-2.18.2.jar:$R/jackson-annotations-2.18.2.jar
FLAGS="--enable-native-access=ALL-UNNAMED -Xss4m -Dseer.cuda.cache=/tmp/seer-cuda-cache"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw,memory.used --format=csv > "$OUT/smi.txt" 2>&1
{ ls -la /usr/local/cuda/lib64/libcublas* /usr/local/cuda/targets/x86_64-linux/lib/libcublas* 2>&1
  ls -d /opt/torch/.venv/lib/python3.12/site-packages/nvidia/*/lib 2>&1
  ls -la /opt/torch/.venv/lib/python3.12/site-packages/nvidia/*/lib/libcublas* 2>&1; } > "$OUT/libs.txt"
echo "== cuBLAS files"; grep -E "libcublas(Lt)?\.so\.13" "$OUT/libs.txt" | head -6
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout ${TEST_TIMEOUT:-240} $J $FLAGS -jar $R/console.jar execute --class-path "$CP" \
    --select-package org.seerjava.gpu.llm --select-class org.seerjava.gpu.CudaLibrariesTest ${TEST_EXTRA:-} \
    --disable-banner --details=tree > "$OUT/tests.log" 2>&1
  echo "== tests rc=$?"
  grep -E "\[seer-gpu\]|✘|tests (successful|failed|aborted|skipped)" "$OUT/tests.log" | tail -${TEST_TAIL:-70}
fi
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  timeout ${BENCH_TIMEOUT:-300} $J $FLAGS -cp "$CP" org.seerjava.gpu.llm.DecoderBench ${ARGS:-} > "$OUT/bench.log" 2>&1
  echo "== bench rc=$?"
  tail -${BENCH_TAIL:-60} "$OUT/bench.log"
fi
