#!/usr/bin/env bash
# Runs the gpu module's tests and GpuBench on the GPU machine (CUDA 13, no Java there).
# Needs the carried .devjdk.tar.xz (device-jdk.sh runtime) and .gpu-run/ (classes + JUnit console jar),
# both prepared by gpu/scripts/stage.sh. Logs go to $OUT (or ./device-out).
set -u
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
tar -xJf .devjdk.tar.xz -C /tmp
J=/tmp/djdk/bin/java
R=$PWD/.gpu-run
CP=$R/gpu-classes:$R/ref-classes:$R/gpu-test-classes:$R/jackson-databind-2.18.2.jar:$R/jackson-core-2.18.2.jar:$R/jackson-annotations-2.18.2.jar
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$OUT/smi.txt" 2>&1
FLAGS="--enable-native-access=ALL-UNNAMED -Xss4m -Dseer.cuda.cache=/tmp/seer-cuda-cache"
cd gpu
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout ${TEST_TIMEOUT:-300} $J $FLAGS -jar $R/console.jar execute --class-path "$CP" --scan-class-path \
    --disable-banner --details=tree ${TEST_SELECT:-} > "$OUT/tests.log" 2>&1
  echo "tests rc=$?"
  grep -E "seer-gpu\]|✘|tests (successful|failed|aborted|skipped)" "$OUT/tests.log" | grep -v "GPU test skipped" | tail -${TEST_TAIL:-60}
fi
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  timeout ${BENCH_TIMEOUT:-240} $J $FLAGS -cp "$CP" org.seerjava.gpu.bench.GpuBench ${BENCH_ARGS:-} > "$OUT/bench.log" 2>&1
  echo "bench rc=$?"
  tail -25 "$OUT/bench.log"
fi
