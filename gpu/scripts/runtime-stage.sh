#!/usr/bin/env bash
# Stages the gpu module's classes, its tests and the JUnit console into DEST (default /work/main/.dev/cuda) for a
# run of runtime-run.sh on the GPU machine (which carries .dev/jdk-small.tar.xz and DEST).
set -e
cd "$(dirname "$0")/../.."
DEST=${DEST:-/work/main/.dev/cuda}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
./mvnw -B -q -ntp -o -pl gpu -am test-compile
rm -rf "$DEST" && mkdir -p "$DEST"
M2=~/.m2/repository
cp -r gpu/target/classes "$DEST/gpu-classes"
cp -r gpu/target/test-classes "$DEST/gpu-test-classes"
cp -r reference/target/classes "$DEST/ref-classes"
cp $M2/org/junit/platform/junit-platform-console-standalone/1.11.4/junit-platform-console-standalone-1.11.4.jar "$DEST/console.jar"
for a in databind core annotations; do cp $M2/com/fasterxml/jackson/core/jackson-$a/2.18.2/jackson-$a-2.18.2.jar "$DEST/"; done
cp gpu/scripts/runtime-run.sh "$DEST/run.sh"
du -sh "$DEST"
