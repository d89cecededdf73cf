#!/usr/bin/env bash
# Stages what kernel-mutants.sh needs on the GPU machine into DEST (default /work/main/.dev/mut): the classes of
# modules reference and gpu, the gpu tests, the JUnit console, Jackson, and the script itself (as run.sh).
set -e
cd "$(dirname "$0")/../.."
DEST=${DEST:-/work/main/.dev/mut}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
./mvnw -B -q -ntp -o -pl gpu -am test-compile
rm -rf "$DEST" && mkdir -p "$DEST"
M2=~/.m2/repository
cp -r reference/target/classes "$DEST/reference-classes"
cp -r gpu/target/classes "$DEST/gpu-classes"
cp -r gpu/target/test-classes "$DEST/gpu-test-classes"
cp $M2/org/junit/platform/junit-platform-console-standalone/1.11.4/junit-platform-console-standalone-1.11.4.jar "$DEST/console.jar"
for a in databind core annotations; do cp $M2/com/fasterxml/jackson/core/jackson-$a/2.18.2/jackson-$a-2.18.2.jar "$DEST/"; done
cp gpu/scripts/kernel-mutants.sh "$DEST/run.sh"
du -sh "$DEST"
