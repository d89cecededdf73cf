#!/usr/bin/env bash
# Builds the tornado engine with the seer command and stages what the GPU machine needs into DEST (default
# /work/main/.dev/tornado): the cli classes, every runtime jar (tornado, bench and gpu included), the tornado test
# classes, the JUnit console launcher and AssertJ, and device-run.sh. The device machine brings the JDK and the
# TornadoVM SDK as .dev/jdk-tornado.tar.xz and .dev/tornadovm.tar.xz. Needs TORNADOVM_HOME (a TornadoVM SDK) here.
set -euo pipefail
cd "$(dirname "$0")/../.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
: "${TORNADOVM_HOME:?set TORNADOVM_HOME to a TornadoVM SDK (e.g. /work/tvm/tornadovm-sdk)}"
DEST=${DEST:-/work/main/.dev/tornado}
./mvnw -B -q -ntp -DskipTests package -pl cli -am
./mvnw -B -q -ntp -o -pl tornado test-compile
rm -rf "$DEST" && mkdir -p "$DEST/lib"
cp -r cli/target/classes "$DEST/cli-classes"
cp -r tornado/target/test-classes "$DEST/tornado-test-classes"
cp cli/target/lib/*.jar "$DEST/lib/"
rm -f "$DEST"/lib/jmh-core-*.jar "$DEST"/lib/jopt-simple-*.jar "$DEST"/lib/commons-math3-*.jar "$DEST"/lib/jfreechart-*.jar
M2=~/.m2/repository
cp $M2/org/junit/platform/junit-platform-console-standalone/1.11.4/junit-platform-console-standalone-1.11.4.jar "$DEST/console.jar"
cp $M2/org/assertj/assertj-core/3.27.3/assertj-core-3.27.3.jar "$DEST/"
cp tornado/scripts/device-run.sh "$DEST/"
du -sh "$DEST"
