#!/usr/bin/env bash
# Runs the gpu module's tests and the GPU benchmark (module bench's GpuBench) on the GPU machine (CUDA 13, no Java there).
# Needs the carried .devjdk.tar.xz (device-jdk.sh runtime) and .gpu-run/ (classes + JUnit console jar),
# both prepared by gpu/scripts/stage.sh. Logs go to $OUT (or ./device-out).
# ALL=1 (after stage.sh --all): the gpu tests, the cross-engine golden tests of module `tests` (reference, cpu,
# cuda), `seer check --backend cuda` and `seer bench --backend cuda` (instead of GpuBench alone).
# PEERS=1: GpuBench's sparse and dense rows (PEER_SPARSE, PEER_DENSE) and scripts/attention_peers.py (cuDNN SDPA and
# FlexAttention through the machine's PyTorch) on identical masks, with the same-run ratios (issue #19, line 5).
set -u
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
tar -xJf .devjdk.tar.xz -C /tmp
J=/tmp/djdk/bin/java
R=$PWD/.gpu-run
if [ -d $R/lib ]; then   # staged with --all: module and library jars in lib/
  LIBS=$(ls $R/lib/*.jar | tr '\n' ':')
  CP=$R/gpu-test-classes:$LIBS
else
  CP=$R/gpu-classes:$R/ref-classes:$R/bench-classes:$R/gpu-test-classes:$R/jackson-databind-2.18.2.jar:$R/jackson-core-2.18.2.jar:$R/jackson-annotations-2.18.2.jar
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$OUT/smi.txt" 2>&1
# -Dseer.requireCuda=true: on the GPU machine a GPU test that would skip (no driver, NVRTC, cuBLAS) fails instead
FLAGS="--enable-native-access=ALL-UNNAMED -Xss4m -Dseer.cuda.cache=/tmp/seer-cuda-cache -Dseer.requireCuda=true"
cd gpu
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout ${TEST_TIMEOUT:-300} $J $FLAGS -jar $R/console.jar execute --class-path "$CP" --scan-class-path \
    --disable-banner --details=tree ${TEST_SELECT:-} > "$OUT/tests.log" 2>&1
  echo "tests rc=$?"
  grep -E "seer-gpu\]|✘|tests (successful|failed|aborted|skipped)" "$OUT/tests.log" | grep -v "GPU test skipped" | tail -${TEST_TAIL:-60}
fi
if [ "${ALL:-0}" = 1 ]; then
  L="$R/lib/*"
  (cd ../tests && timeout 300 $J $FLAGS --add-modules jdk.incubator.vector -jar $R/console.jar execute \
    --class-path "$R/tests-test-classes:$LIBS" --scan-class-path --disable-banner --details=tree > "$OUT/cross-engine.log" 2>&1)
  echo "cross-engine tests rc=$?"
  grep -E "✘|tests (successful|failed|aborted|skipped)" "$OUT/cross-engine.log" | tail -8
  SEER="$J $FLAGS --add-modules jdk.incubator.vector -Dseer.home=$(cd .. && pwd) -cp $R/cli-classes:$L org.seerjava.cli.Seer"
  (cd .. && timeout 120 $SEER check --backend cuda > "$OUT/seer-check.log" 2>&1)
  echo "seer check --backend cuda rc=$?"
  tail -4 "$OUT/seer-check.log"
  (cd .. && timeout ${BENCH_TIMEOUT:-240} $SEER bench --backend cuda > "$OUT/seer-bench.log" 2>&1)
  echo "seer bench --backend cuda rc=$?"
  tail -16 "$OUT/seer-bench.log"
elif [ "${SKIP_BENCH:-0}" != 1 ]; then
  timeout ${BENCH_TIMEOUT:-240} $J $FLAGS ${BENCH_JFLAGS:-} -cp "$CP" org.seerjava.bench.GpuBench ${BENCH_ARGS:-} > "$OUT/bench.log" 2>&1
  echo "bench rc=$?"
  tail -25 "$OUT/bench.log"
fi
if [ "${PEERS:-0}" = 1 ]; then   # issue #19 line 5: our kernels and the PyTorch peers on identical masks, same call
  PS=${PEER_SPARSE:-8192,32768,131072}; PD=${PEER_DENSE:-8192,32768,131072}
  timeout ${PEER_TIMEOUT:-240} $J $FLAGS -cp "$CP" org.seerjava.bench.GpuBench --sparse $PS --dense $PD \
    > "$OUT/peers-java.log" 2>&1
  echo "GpuBench --sparse $PS --dense $PD rc=$?"
  grep '^|' "$OUT/peers-java.log"
  PYTHONUNBUFFERED=1 timeout ${PEER_TIMEOUT:-240} python3 scripts/attention_peers.py --sparse $PS --dense $PD \
    --json "$OUT/peers.json" > "$OUT/peers-python.log" 2>&1
  echo "attention_peers.py rc=$?"
  grep -E '^\||self-check|torch' "$OUT/peers-python.log"
  # the masks are the same when the kept-tile counts are: GpuBench's column 4, the harness's "tiles" field
  python3 scripts/peer_ratios.py "$OUT/peers-java.log" "$OUT/peers.json"
fi
if [ "${NCU:-0}" = 1 ]; then
  NCU_BIN=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
  timeout 150 $NCU_BIN --clock-control none -k regex:${NCU_KERNEL:-attn_sparse_bf16} -s 2 -c 1 --set full \
    $J $FLAGS -cp "$CP" org.seerjava.bench.GpuBench --sparse ${NCU_N:-32768} --reps 3 > "$OUT/ncu.txt" 2>&1
  echo "ncu rc=$?"
  grep -E "Duration|Throughput|Registers|Achieved Occupancy|Theoretical Occupancy|Block Limit|Warp Cycles Per Issued|Issue Slots Busy|Stall|Bank|L1/TEX Hit|Shared Memory|Executed Ipc|One or More Eligible|No Eligible" "$OUT/ncu.txt" | head -60
fi
