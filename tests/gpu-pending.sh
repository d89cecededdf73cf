#!/usr/bin/env bash
# The GPU checks of issue #20 (SeerAttention-R sparse decoding on CUDA) that have not run on a GPU yet, in one device
# call. Two steps:
#
#   tests/gpu-pending.sh stage      here (JDK 25, Maven): builds, jlinks a small Java runtime and stages it with the
#                                   classes, test classes and jars into .gpu-pending/ (git-ignored, ~22 MB)
#   tests/gpu-pending.sh run        on the GPU machine, from the repository root, with .gpu-pending carried:
#                                   run(command="bash tests/gpu-pending.sh run", carry=[".gpu-pending"])
#   tests/gpu-pending.sh dry        here, after stage: the same run with -Dseer.requireCuda=false (GPU tests skip,
#                                   the commands run on the cpu backend, no benchmark), to check the staged runtime
#                                   and class paths before spending device time
#
# The run, each section in a slice of a total budget (BUDGET seconds, default 560): (1) the decode GPU tests of
# module gpu (GpuDecodeOpsTest, SparseDecodeStepTest) and the dense-decode regressions (AttentionKernelsTest,
# DecoderTest, ModelKernelsTest: the decode kernel was split into helpers; classes are named, since the console does
# not find a package inside a jar), (2) the cross-engine decode goldens (module tests), (3) the runtime's
# CUDA tests (CudaSparseDecodingTest, CudaDecodeDistillTest, CudaRuntimeTest), (4) the speed benchmark
# CudaDecodeBench (Llama 3.1 8B shape; BENCH_ARGS passes its arguments), (5) the commands: seer distill-decode
# --backend cuda (a few steps), then seer generate with the gates it wrote, on cuda and on cpu. All with
# -Dseer.requireCuda=true: a GPU test that would skip fails. Logs go to $OUT (the device's return folder) or
# ./device-out; a summary is printed last. SECTIONS picks sections (default "gputests goldens runtimetests bench
# commands"; also gpuall, api, testsall, runtimeall: every test class of those modules; gpuclasses: the
# classes named in GPU_CLASSES; gpubench: GpuBench's table; peers: issue #19's peer harness;
# varlentests: the CUDA varlen kernels' tests (GpuVarlenTest, GpuOpsTest, GpuKernelRowsTest of module gpu; the
# cross-engine varlen, golden, bad-input and extreme-input tests of module tests); varlen: issue #19 line 4's
# benchmark, VarlenRatios on the cuda engine, a batch of 4 sequences of 4k-32k tokens against the sum of their
# single-sequence times; VARLEN_ENGINE and VARLEN_ARGS change its engine and arguments).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
P=$ROOT/.gpu-pending
MODE=${1:-}

stage() {
  set -e
  cd "$ROOT"
  export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
  ./mvnw -B -q -ntp -DskipTests install -pl cli,api -am
  ./mvnw -B -q -ntp -pl gpu,runtime,tests,api test-compile
  ./mvnw -B -q -ntp dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4
  rm -rf "$P" && mkdir -p "$P/lib"
  M2=~/.m2/repository
  cp $M2/org/junit/platform/junit-platform-console-standalone/1.11.4/junit-platform-console-standalone-1.11.4.jar \
    "$P/console.jar"
  cp cli/target/lib/seer-*.jar cli/target/lib/jackson-*.jar cli/target/lib/picocli-*.jar "$P/lib/"
  rm -f "$P"/lib/seer-bench-*.jar "$P"/lib/seer-tornado-*.jar
  cp api/target/seer-api-*-SNAPSHOT.jar "$P/lib/" && rm -f "$P"/lib/seer-api-*-sources.jar "$P"/lib/seer-api-*-javadoc.jar
  (cd bench/target/classes && "$JAVA_HOME/bin/jar" cf "$P/bench-classes.jar" org/seerjava/bench/GpuBench*.class \
    org/seerjava/bench/kernels org/seerjava/bench/VarlenRatios*.class org/seerjava/bench/Inputs*.class)
  cp $M2/org/assertj/assertj-core/3.27.3/assertj-core-3.27.3.jar "$P/lib/"
  cp $M2/org/seerjava/seer-model/0.1.0-SNAPSHOT/seer-model-0.1.0-SNAPSHOT-tests.jar "$P/lib/"
  for m in cli; do (cd $m/target/classes && "$JAVA_HOME/bin/jar" cf "$P/lib/$m-classes.jar" .); done
  for m in gpu runtime tests api; do
    (cd $m/target/test-classes && "$JAVA_HOME/bin/jar" cf "$P/$m-tests.jar" . \
      && find . -name '*Test.class' ! -name '*$*' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort > "$P/$m-tests.classes")
  done
  rm -rf /tmp/gpu-pending-jdk && "$JAVA_HOME/bin/jlink" --add-modules \
    java.base,java.logging,java.management,jdk.management,jdk.incubator.vector,jdk.unsupported \
    --strip-debug --no-header-files --no-man-pages --compress=zip-0 --output /tmp/gpu-pending-jdk/djdk 2>/dev/null
  rm -f /tmp/gpu-pending-jdk/djdk/lib/server/classes*.jsa
  strip --strip-unneeded /tmp/gpu-pending-jdk/djdk/lib/server/libjvm.so 2>/dev/null || true
  tar -C /tmp/gpu-pending-jdk -cf - djdk | xz -9 -T2 > "$P/jdk.tar.xz"
  rm -rf /tmp/gpu-pending-jdk
  git -C "$ROOT" rev-parse HEAD > "$P/commit"
  du -sh "$P"
  echo "tracked files: $(git -C "$ROOT" ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) bytes (the device takes 64 MiB in all)"
}

run() {
  OUT=${OUT:-$PWD/device-out}
  mkdir -p "$OUT"
  START=$(date +%s)
  BUDGET=${BUDGET:-560}
  left() { echo $(( BUDGET - ($(date +%s) - START) )); }
  slice() { local want=$1 l; l=$(left); [ "$want" -lt "$l" ] && echo "$want" || echo $(( l > 5 ? l - 5 : 1 )); }
  if [ ! -x /tmp/djdk/bin/java ]; then
    tar -xJf "$P/jdk.tar.xz" -C /tmp || { echo "no staged JDK: run 'tests/gpu-pending.sh stage' first"; exit 2; }
  fi
  J=/tmp/djdk/bin/java
  LIB=$(ls "$P"/lib/*.jar | tr '\n' ':')
  FLAGS="--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xss4m -Dseer.cuda.cache=/tmp/seer-cuda-cache -Dseer.requireCuda=${REQUIRE:-true}"
  SUMMARY=$OUT/summary.txt
  : > "$SUMMARY"
  note() { echo "$*" | tee -a "$SUMMARY"; }
  note "gpu-pending (issue #20, CUDA SeerAttention-R) at commit $(cat "$P/commit" 2>/dev/null), $(date -u)"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.used --format=csv,noheader 2>&1 | head -2 \
    | tee -a "$SUMMARY"
  junit() {   # junit NAME SECONDS DIR CLASSPATH-EXTRA SELECTORS...
    local name=$1 t=$2 dir=$3 extra=$4
    shift 4
    (cd "$ROOT/$dir" && timeout -k 10 "$(slice "$t")" $J $FLAGS -jar "$P/console.jar" execute \
      --class-path "$extra:$LIB" "$@" --disable-banner --details=testfeed > "$OUT/$name.log" 2>&1)
    local rc=$?
    local counts
    counts=$(sed 's/\x1b\[[0-9;]*m//g' "$OUT/$name.log" | grep -E "tests (successful|failed|aborted|skipped)" \
      | tr -s ' ' | tr '\n' ' ')
    note "== $name rc=$rc: $counts($(left) s left)"
    sed 's/\x1b\[[0-9;]*m//g' "$OUT/$name.log" | grep -A2 ":: FAILED" | grep -v "^--" | cut -c1-300 \
      | head -24 | tee -a "$SUMMARY"
    grep -E "^\[seer-(gpu|runtime)\]" "$OUT/$name.log" | grep -v "GPU test skipped" | cut -c1-220 \
      | head -${LINES_PER_SECTION:-40} >> "$SUMMARY"
  }
  classes() {   # --select-class for every *Test class of a test jar, listed at stage time (the console does not scan
    # packages inside a jar); CpuOneBillionTest starts a child JVM with the Maven class path, so it runs in CI only
    grep -vE "${EXCLUDE_CLASSES:-CpuOneBillionTest}" "${1%.jar}.classes" | sed 's/^/--select-class /' | tr '\n' ' ' 
  }
  for s in ${SECTIONS:-gputests goldens runtimetests bench commands}; do
    case $s in
    gputests)
      junit gpu-tests 170 gpu "$P/gpu-tests.jar" --select-class org.seerjava.gpu.GpuDecodeOpsTest \
        --select-class org.seerjava.gpu.llm.SparseDecodeStepTest --select-class org.seerjava.gpu.llm.AttentionKernelsTest \
        --select-class org.seerjava.gpu.llm.DecoderTest --select-class org.seerjava.gpu.llm.ModelKernelsTest ;;
    gpuclasses)   # named test classes of module gpu: GPU_CLASSES="org.seerjava.gpu.GpuBf16Test ..."
      junit gpu-classes ${T_GPUCLASSES:-200} gpu "$P/gpu-tests.jar" $(for c in ${GPU_CLASSES:-}; do echo "--select-class $c"; done) ;;
    gpubench)     # issue #19: GpuBench's whole table (sparse wgmma / mma.sync, density 0.5 vs dense, fused, prefill)
      (cd "$ROOT/gpu" && timeout -k 5 "$(slice ${T_GPUBENCH:-200})" $J $FLAGS -cp "$P/bench-classes.jar:$LIB" \
        org.seerjava.bench.GpuBench ${GPUBENCH_ARGS:-} > "$OUT/gpubench.log" 2>&1)
      note "== GpuBench ${GPUBENCH_ARGS:-} rc=$? ($(left) s left)"
      grep -E '^\||prefill tasks' "$OUT/gpubench.log" | tee -a "$SUMMARY" ;;
    gpuall)       # every test class of module gpu (GpuBf16Test's per-row checks among them)
      junit gpu-all ${T_GPUALL:-300} gpu "$P/gpu-tests.jar" $(classes "$P/gpu-tests.jar") ;;
    api)          # the facade against the reference pipeline on every engine, cuda included
      junit api ${T_API:-90} api "$P/api-tests.jar" --select-class org.seerjava.FacadeMatchesReferencePipelineTest ;;
    testsall)     # module tests: cross-engine goldens (prefill and decode), bad input, varlen, for every engine
      junit tests-all ${T_TESTSALL:-150} tests "$P/tests-tests.jar" $(classes "$P/tests-tests.jar") ;;
    runtimeall)   # module runtime: every test class (the CUDA ones fail rather than skip)
      junit runtime-all ${T_RUNTIMEALL:-200} runtime "$P/runtime-tests.jar" $(classes "$P/runtime-tests.jar") ;;
    peers)        # issue #19 line 5: GpuBench and the PyTorch peers on identical masks (gpu/scripts/device-run.sh)
      PS=${PEER_SPARSE:-8192,32768,131072}; PD=${PEER_DENSE:-8192,32768,131072}
      (cd "$ROOT/gpu" && timeout -k 5 "$(slice 150)" $J $FLAGS -cp "$P/bench-classes.jar:$LIB" org.seerjava.bench.GpuBench \
        --sparse $PS --dense $PD > "$OUT/peers-java.log" 2>&1)
      note "== GpuBench --sparse $PS --dense $PD rc=$? ($(left) s left)"
      grep '^|' "$OUT/peers-java.log" | tee -a "$SUMMARY"
      (cd "$ROOT/gpu" && PYTHONUNBUFFERED=1 timeout -k 5 "$(slice 150)" python3 scripts/attention_peers.py --sparse $PS \
        --dense $PD --json "$OUT/peers.json" > "$OUT/peers-python.log" 2>&1)
      note "== attention_peers.py rc=$? ($(left) s left)"
      grep -E '^\||self-check|torch' "$OUT/peers-python.log" | tee -a "$SUMMARY"
      python3 "$ROOT/gpu/scripts/peer_ratios.py" "$OUT/peers-java.log" "$OUT/peers.json" | tee -a "$SUMMARY" ;;
    varlentests)  # issue #19 line 4: the native varlen launches (ops_fp32.cu) and the refactored fp32 kernels
      junit varlen-gpu-tests ${T_VARLENGPU:-120} gpu "$P/gpu-tests.jar" --select-class org.seerjava.gpu.GpuVarlenTest \
        --select-class org.seerjava.gpu.GpuOpsTest --select-class org.seerjava.gpu.GpuKernelRowsTest
      junit varlen-tests ${T_VARLENTESTS:-150} tests "$P/tests-tests.jar" \
        --select-class org.seerjava.tests.CrossEngineVarlenTest --select-class org.seerjava.tests.CrossEngineGoldenTest \
        --select-class org.seerjava.tests.EngineBadInputTest --select-class org.seerjava.tests.ExtremeInputsTest ;;
    varlen)       # issue #19 line 4: batch time / sum of the sequences' times, within 1.1x (docs/PERFORMANCE.md)
      (cd "$ROOT" && timeout -k 5 "$(slice ${T_VARLEN:-100})" $J $FLAGS -cp "$P/bench-classes.jar:$LIB" \
        org.seerjava.bench.VarlenRatios --engine ${VARLEN_ENGINE:-cuda} ${VARLEN_ARGS:---warmup 1 5 4100 8200 16400 32700} \
        > "$OUT/varlen.log" 2>&1)
      note "== VarlenRatios --engine ${VARLEN_ENGINE:-cuda} rc=$? ($(left) s left)"
      grep -E '^(engine|date|\|)' "$OUT/varlen.log" | tee -a "$SUMMARY"
      grep -E 'Exception|Error' "$OUT/varlen.log" | head -5 | tee -a "$SUMMARY" ;;
    goldens)
      junit goldens 40 tests "$P/tests-tests.jar" --select-class org.seerjava.tests.CrossEngineDecodeGoldenTest ;;
    runtimetests)
      junit runtime-tests 180 runtime "$P/runtime-tests.jar" \
        --select-class org.seerjava.runtime.cuda.CudaSparseDecodingTest \
        --select-class org.seerjava.runtime.cuda.CudaDecodeDistillTest \
        --select-class org.seerjava.runtime.cuda.CudaRuntimeTest ;;
    commands)
      SEER="$J $FLAGS -Dseer.home=$ROOT -cp $LIB org.seerjava.cli.Seer"
      W=/tmp/gpu-pending-work && rm -rf $W && mkdir -p $W
      (cd "$ROOT" && timeout -k 5 "$(slice 90)" $SEER distill-decode --backend ${DISTILL_BACKEND:-cuda} --steps 20 --warmup 4 --seq-len 2048 \
        --rows 128 --windows 2 --batch 2 --no-progress --out $W/distill > "$OUT/distill-decode.log" 2>&1)
      note "== seer distill-decode --backend ${DISTILL_BACKEND:-cuda} rc=$? ($(left) s left): $(grep -E "distilled|decode gates" "$OUT/distill-decode.log" | tr '\n' ' ')"
      for b in ${GENERATE_BACKENDS:-cuda cpu}; do
        (cd "$ROOT" && head -c 3000 corpus/eval-moby.bin > $W/prompt.txt && timeout -k 5 "$(slice 60)" $SEER generate \
          --backend $b --prompt-file $W/prompt.txt --max-new-tokens 200 --decode-gates $W/distill/decode-gates.safetensors \
          --token-budget 1024 > "$OUT/generate-$b.log" 2> "$OUT/generate-$b.err")
        note "== seer generate --backend $b --decode-gates … --token-budget 1024 rc=$? ($(left) s left)"
        grep -E "decode:|decode attention|prefill" "$OUT/generate-$b.err" | head -4 | tee -a "$SUMMARY"
        echo "   text: $(tr '\n' ' ' < "$OUT/generate-$b.log" | cut -c1-160)" | tee -a "$SUMMARY"
      done ;;
    bench)
      (cd "$ROOT" && timeout -k 10 "$(slice 200)" $J $FLAGS -cp "$LIB" org.seerjava.runtime.cuda.CudaDecodeBench \
        ${BENCH_ARGS:-} > "$OUT/decode-bench.log" 2>&1)
      note "== CudaDecodeBench rc=$? ($(left) s left)"
      cat "$OUT/decode-bench.log" >> "$SUMMARY" ;;
    esac
  done
  note "== done in $(( $(date +%s) - START )) s"
  echo
  echo "===== summary ($SUMMARY) ====="
  cat "$SUMMARY"
}

case "$MODE" in
  stage) stage ;;
  run) run ;;
  dry) REQUIRE=false DISTILL_BACKEND=cpu GENERATE_BACKENDS=cpu VARLEN_ENGINE=cpu \
    VARLEN_ARGS=${VARLEN_ARGS:---warmup 0 1 300 700 1100 1500} SECTIONS=${SECTIONS:-gputests goldens runtimetests commands} run ;;
  *) echo "usage: tests/gpu-pending.sh stage|run|dry"; exit 2 ;;
esac
