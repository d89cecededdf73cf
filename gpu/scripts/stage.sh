#!/usr/bin/env bash
# Builds the gpu and bench modules and stages what the GPU machine needs into the ignored .gpu-run/ folder.
# With --all it also stages the seer command (cli classes and every runtime jar) and the cross-engine golden
# tests of module `tests`, for device-run.sh's ALL=1 mode.
set -e
cd "$(dirname "$0")/../.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
ALL=0
[ "${1:-}" = "--all" ] && ALL=1
./mvnw -B -q -pl gpu,bench -am test-compile
rm -rf .gpu-run && mkdir -p .gpu-run
cp -r gpu/target/test-classes .gpu-run/gpu-test-classes
M2=~/.m2/repository
cp $M2/org/junit/platform/junit-platform-console-standalone/1.11.4/junit-platform-console-standalone-1.11.4.jar .gpu-run/console.jar
if [ $ALL = 0 ]; then
  cp -r gpu/target/classes .gpu-run/gpu-classes
  cp -r reference/target/classes .gpu-run/ref-classes
  cp -r bench/target/classes .gpu-run/bench-classes
  for a in databind core annotations; do cp $M2/com/fasterxml/jackson/core/jackson-$a/2.18.2/jackson-$a-2.18.2.jar .gpu-run/; done
else   # the module jars in lib/ replace the class folders (the device's 64 MiB transfer limit)
  ./mvnw -B -q -ntp -DskipTests package -pl cli -am
  ./mvnw -B -q -ntp -pl tests -am test-compile
  cp -r cli/target/classes .gpu-run/cli-classes
  mkdir -p .gpu-run/lib
  cp cli/target/lib/*.jar .gpu-run/lib/
  rm -f .gpu-run/lib/jmh-core-*.jar .gpu-run/lib/jopt-simple-*.jar .gpu-run/lib/commons-math3-*.jar \
    .gpu-run/lib/jfreechart-*.jar   # not used by check, bench --backend cuda or the tests
  cp -r tests/target/test-classes .gpu-run/tests-test-classes
  cp $M2/org/assertj/assertj-core/3.27.3/assertj-core-3.27.3.jar .gpu-run/lib/
fi
du -sh .gpu-run
