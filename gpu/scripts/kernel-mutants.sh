#!/usr/bin/env bash
# On the GPU machine, from the repository root: the GPU tests of issue #17 once unmutated with -Dseer.requireCuda=true
# (GpuKernelRowsTest, GpuOpsTest#randomShapes, GpuRuntimeTest, CudaRequirementTest; GpuBf16Test in a JVM of its
# own), and once per hand-made kernel mutant (org.seerjava.gpu.KernelMutant: causal mask off by one, a one-key
# leak in the partial last block, the diagonal block dropped, scale 1/D instead of 1/sqrt(D), GQA head h % Hkv
# instead of h / (Hq / Hkv), in the bf16 mma.sync, the wgmma and the fp32 kernels), all JVMs at once. Prints one
# line per mutant: KILLED (with the first failure), SURVIVED, or COMPILE-ERROR / TIMEOUT. Staged by
# kernel-mutants-stage.sh into DIR (the folder of this script): classes, test classes, the JUnit console, Jackson.
# Needs .dev/jdk-small.tar.xz (or JAVA=path). Logs: $OUT/mutants-logs.tar.gz, summary: $OUT/mutants.txt.
set -u
R=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
T=${MUTANT_TIMEOUT:-95}
TB=${BF16_TIMEOUT:-110}   # GpuBf16Test: the float64 reference at N = 7680 alone takes most of a minute
if [ -z "${JAVA:-}" ]; then
  tar -xJf .dev/jdk-small.tar.xz -C /tmp && JAVA=/tmp/djdk-small/bin/java
fi
CP=$R/gpu-classes:$R/reference-classes:$R/gpu-test-classes:$(ls $R/*.jar | grep -v console | tr '\n' ':')
FLAGS="--enable-native-access=ALL-UNNAMED -Xss4m -Xmx3g -Dseer.cuda.cache=/tmp/seer-cuda-cache -Dseer.requireCuda=true"
W=/tmp/seer-mutants
rm -rf $W && mkdir -p $W
junit() {   # junit SECONDS LOG CLASSPATH-PREFIX SELECTORS...
  local t=$1 log=$2 pre=$3
  shift 3
  timeout -k 15 $t "$JAVA" $FLAGS -jar $R/console.jar execute --class-path "$pre$CP" "$@" --disable-banner \
    --details=testfeed > "$log" 2>&1
  echo $? > "$log.rc"
}
failures() {   # failures LOG N: the first N failed tests, each with the first line of its exception
  sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -A1 ":: FAILED" | grep -v "^--" | head -$(( 2 * $2 )) \
    | sed -E 's/^JUnit Jupiter > //; s/ :: FAILED//; s/^\s+/      /' | cut -c1-250 | sed 's/^/    /'
}
START=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,memory.used --format=csv,noheader > $W/smi.txt 2>&1
junit $T $W/baseline.log "" --select-class org.seerjava.gpu.GpuKernelRowsTest \
  --select-method 'org.seerjava.gpu.GpuOpsTest#randomShapes(int,int,int,int,int)' \
  --select-class org.seerjava.gpu.GpuRuntimeTest --select-class org.seerjava.gpu.CudaRequirementTest &
junit $TB $W/baseline-bf16.log "" --select-class org.seerjava.gpu.GpuBf16Test &
"$JAVA" -cp "$CP" org.seerjava.gpu.KernelMutant list < /dev/null > $W/mutants.tsv
while IFS=$'\t' read -r name selectors; do
  "$JAVA" -cp "$CP" org.seerjava.gpu.KernelMutant write "$name" "$W/$name" < /dev/null > "$W/$name.what" 2>&1
  # shellcheck disable=SC2086
  junit $T "$W/$name.log" "$W/$name:" $selectors &
done < $W/mutants.tsv
wait
{
  echo "device: $(cat $W/smi.txt); wall $(( $(date +%s) - START )) s, per-JVM limit $T s"
  for b in baseline baseline-bf16; do
    echo "== $b (unmutated, -Dseer.requireCuda=true): rc=$(cat $W/$b.log.rc) $(grep -E 'tests (successful|failed|skipped|aborted)' $W/$b.log | tr -s ' ' | tr '\n' ' ')"
    failures $W/$b.log 6
  done
  echo "== per-row bf16 check, unmutated: worst ratio of a row's error to its bound (must be <= 1)"
  cat $W/baseline.log $W/baseline-bf16.log | grep "per row:" | sed -E 's/.*= ([0-9.]+)× bound; partial last block (none|worst .* = ([0-9.]+)× bound)/\1 \3/' \
    | awk '{ if ($1 > m) m = $1; if ($2 != "" && $2 > p) p = $2; n++ } END { printf "  %d outputs checked; worst full-block row %.2f, worst partial-block row %.2f\n", n, m, p }'
  grep -E "bitwise equal" $W/baseline.log | sed 's/^/  /' | head -8
  echo "== mutants"
  while IFS=$'\t' read -r name selectors; do
    log=$W/$name.log
    rc=$(cat $log.rc 2>/dev/null || echo "?")
    if grep -q "nvrtcCompileProgram" $log; then
      verdict="COMPILE-ERROR"
    elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      verdict="TIMEOUT"
    elif [ "$rc" = 1 ] && grep -qE "[1-9][0-9]* tests failed" $log; then
      verdict="KILLED"
    elif [ "$rc" = 0 ]; then
      verdict="SURVIVED"
    else
      verdict="ERROR(rc=$rc)"
    fi
    printf "%-13s %-26s %s\n" "$verdict" "$name" "$(grep -E 'tests (successful|failed)' $log | tr -s ' ' | tr '\n' ' ')"
    [ "$verdict" = KILLED ] && failures $log 1
  done < $W/mutants.tsv
} | tee "$OUT/mutants.txt"
tar -czf "$OUT/mutants-logs.tar.gz" -C $W . 2>/dev/null
