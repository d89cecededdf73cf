#!/usr/bin/env bash
# On the GPU machine, from the repository root (models/ and corpus/ present): the GPU tests of modules gpu
# (package org.seerjava.gpu.llm) and runtime (package org.seerjava.runtime.cuda), the Llama-3.1-8B-shape model
# benchmark (CudaModelBench), the GEMM comparison (DecoderBench gemm) and the Hugging Face anchor (hf_anchor.py),
# each in a time slice of a total budget (BUDGET seconds, default 560). Needs .dev/jdk-small.tar.xz and the folder
# staged by runtime-stage.sh. SECTIONS picks sections (default "gputests bench runtimetests gemm anchor").
set -u
R=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
START=$(date +%s)
BUDGET=${BUDGET:-560}
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
slice() { local want=$1 l; l=$(left); [ "$want" -lt "$l" ] && echo "$want" || echo $(( l > 5 ? l - 5 : 1 )); }
tar -xJf .dev/jdk-small.tar.xz -C /tmp
J=/tmp/djdk-small/bin/java
JARS=$R/jackson-databind-2.18.2.jar:$R/jackson-core-2.18.2.jar:$R/jackson-annotations-2.18.2.jar
MAIN=$R/reference-classes:$R/cpu-classes:$R/gpu-classes:$R/model-classes:$R/gate-classes:$R/runtime-classes:$JARS
# -Dseer.requireCuda=true: on the GPU machine a GPU test that would skip (no driver, NVRTC, cuBLAS) fails instead
FLAGS="--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xss4m -Dseer.cuda.cache=/tmp/seer-cuda-cache -Dseer.requireCuda=true"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw,memory.used --format=csv > "$OUT/smi.txt" 2>&1
{ ls -la /usr/local/cuda/lib64/libcublas* /usr/local/cuda/targets/x86_64-linux/lib/libcublas* 2>&1
  ls -la /opt/torch/.venv/lib/python3.12/site-packages/nvidia/*/lib/libcublas* 2>&1; } > "$OUT/libs.txt"
echo "== cuBLAS files"; grep -E "libcublas(Lt)?\.so\.13" "$OUT/libs.txt" | head -4
SECTIONS=${SECTIONS:-gputests bench runtimetests gemm anchor}
for s in $SECTIONS; do
  case $s in
  gputests)
    timeout -k 10 $(slice 170) $J $FLAGS -jar $R/console.jar execute --class-path "$MAIN:$R/gpu-test-classes" \
      ${GPU_TESTS:---select-package org.seerjava.gpu.llm --select-class org.seerjava.gpu.CudaLibrariesTest} \
      --disable-banner --details=testfeed > "$OUT/gpu-tests.log" 2>&1
    echo "== gpu tests rc=$? ($(left) s left)"
    grep -E "\[seer-gpu\]|FAILED|ABORTED|tests (successful|failed|aborted)|AssertionFailed|Exception:" "$OUT/gpu-tests.log" \
      | grep -v "no-.*message" | cut -c1-300 | tail -60 ;;
  bench)
    timeout -k 10 $(slice 200) $J $FLAGS -cp "$MAIN" org.seerjava.runtime.cuda.CudaModelBench ${SIZES:-8192,32768,131072} \
      ${DISTILL:-32768} > "$OUT/model-bench.log" 2>&1
    echo "== model bench rc=$? ($(left) s left)"; tail -40 "$OUT/model-bench.log" ;;
  runtimetests)
    timeout -k 10 $(slice 200) $J $FLAGS -jar $R/console.jar execute --class-path "$MAIN:$R/runtime-test-classes" \
      ${RUNTIME_TESTS:---select-package org.seerjava.runtime.cuda} --disable-banner --details=testfeed \
      > "$OUT/runtime-tests.log" 2>&1
    echo "== runtime tests rc=$? ($(left) s left)"
    grep -E "\[seer-runtime\]|FAILED|ABORTED|tests (successful|failed|aborted)|AssertionFailed|Exception:" \
      "$OUT/runtime-tests.log" | cut -c1-400 | tail -40 ;;
  gemm)
    timeout -k 10 $(slice 60) $J $FLAGS -cp "$MAIN:$R/gpu-test-classes" org.seerjava.gpu.llm.DecoderBench env gemm \
      > "$OUT/gemm.log" 2>&1
    echo "== gemm rc=$? ($(left) s left)"; tail -32 "$OUT/gemm.log" ;;
  anchor)
    PY=/opt/torch/.venv/bin/python3; [ -x $PY ] || PY=python3
    timeout -k 10 $(slice 150) $PY $R/hf_anchor.py ${ANCHOR_SIZES:-8192,32768} > "$OUT/hf-anchor.log" 2>&1
    echo "== HF anchor rc=$? ($(left) s left)"; grep -vi "warn" "$OUT/hf-anchor.log" | tail -8 ;;
  esac
done
