#!/usr/bin/env bash
# Runs on the GPU machine from the repository root, after tornado/scripts/stage.sh staged .dev/tornado: the TornadoVM
# device listing, the tornado module's device tests (TornadoDeviceTest), `seer check --backend tornado` and
# `seer bench --backend tornado`, all with TornadoVM's JVM arguments and -Dtornado.recover.bailout=False.
# Logs go to $OUT (or ./device-out). STEPS selects: devices,tests,check,bench (default all); TEST_SELECT the JUnit
# console selectors (default: the device tests but the golden one, which `seer check` repeats; --scan-class-path
# runs every test class, the emulator tests too).
set -u
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
R=$PWD/.dev/tornado
STEPS=${STEPS:-devices,tests,check,bench}
tar -xJf .dev/jdk-tornado.tar.xz -C /tmp
tar -xJf .dev/tornadovm.tar.xz -C /tmp
export JAVA_HOME=/tmp/djdk TORNADOVM_HOME=/tmp/tornadovm-sdk
sed "s|\${TORNADOVM_HOME}|$TORNADOVM_HOME|g" "$TORNADOVM_HOME/tornado-argfile.template" > /tmp/tornado-argfile
J="$JAVA_HOME/bin/java @/tmp/tornado-argfile -Dtornado.recover.bailout=False -Dseer.home=$PWD ${EXTRA_JVM:-}"
LIBS=$(ls $R/lib/*.jar | tr '\n' ':')
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$OUT/smi.txt" 2>&1
case ",$STEPS," in *,devices,*)
  timeout 60 $J uk.ac.manchester.tornado.drivers.TornadoDeviceQuery verbose > "$OUT/devices.txt" 2>&1
  echo "devices rc=$?"; grep -iE "ptx|nvidia|memory" "$OUT/devices.txt" | head -6 ;;
esac
case ",$STEPS," in *,tests,*)
  start=$(date +%s)
  timeout ${TEST_TIMEOUT:-200} $J -cp "$R/console.jar:$R/tornado-test-classes:$R/assertj-core-3.27.3.jar:$LIBS" \
    org.junit.platform.console.ConsoleLauncher execute --disable-banner --details=tree \
    ${TEST_SELECT:---select-class org.seerjava.tornado.TornadoDeviceTest --exclude-tag golden} > "$OUT/tests.log" 2>&1
  echo "tests rc=$? ($(( $(date +%s) - start )) s)"
  grep -E "✘|tests (successful|failed|aborted|skipped)|engine vs|proof|memory \(|golden comparisons|TornadoVM device" \
    "$OUT/tests.log" | head -${TEST_TAIL:-40} ;;
esac
SEER="$J -cp $R/cli-classes:$LIBS org.seerjava.cli.Seer"
case ",$STEPS," in *,check,*)
  start=$(date +%s)
  timeout ${CHECK_TIMEOUT:-150} $SEER check --backend tornado > "$OUT/seer-check.log" 2>&1
  echo "seer check --backend tornado rc=$? ($(( $(date +%s) - start )) s)"
  grep -E "FAIL|comparisons" "$OUT/seer-check.log" | tail -6 ;;
esac
case ",$STEPS," in *,bench,*)
  start=$(date +%s)
  if [ -n "${BENCH_ARGS:-}" ]; then     # the benchmark class itself, with its options (e.g. --memory-runs 0)
    timeout ${BENCH_TIMEOUT:-230} $J -cp $R/cli-classes:$LIBS org.seerjava.bench.tornado.TornadoBench $BENCH_ARGS \
      > "$OUT/seer-bench.log" 2>&1
  else
    timeout ${BENCH_TIMEOUT:-230} $SEER bench --backend tornado > "$OUT/seer-bench.log" 2>&1
  fi
  echo "bench rc=$? ($(( $(date +%s) - start )) s)"
  grep -vE "^\s+at |WARNING|profile:" "$OUT/seer-bench.log" | tail -${BENCH_TAIL:-40} ;;
esac
