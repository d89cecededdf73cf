#!/usr/bin/env bash
# Stages the classes of the modules the GPU model runtime needs (reference, cpu, gpu, model, gate, runtime), the
# tests of gpu and runtime, the JUnit console and the run script into DEST (default /work/main/.dev/cuda), for a
# run of runtime-run.sh on the GPU machine (which also carries .dev/jdk-small.tar.xz, models/ and corpus/).
set -e
cd "$(dirname "$0")/../.."
DEST=${DEST:-/work/main/.dev/cuda}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
./mvnw -B -q -ntp -o -pl runtime -am test-compile
rm -rf "$DEST" && mkdir -p "$DEST"
M2=~/.m2/repository
for m in reference cpu gpu model gate runtime; do cp -r $m/target/classes "$DEST/$m-classes"; done
cp -r gpu/target/test-classes "$DEST/gpu-test-classes"
cp -r runtime/target/test-classes "$DEST/runtime-test-classes"
cp $M2/org/junit/platform/junit-platform-console-standalone/1.11.4/junit-platform-console-standalone-1.11.4.jar "$DEST/console.jar"
for a in databind core annotations; do cp $M2/com/fasterxml/jackson/core/jackson-$a/2.18.2/jackson-$a-2.18.2.jar "$DEST/"; done
cp gpu/scripts/runtime-run.sh "$DEST/run.sh"
cp gpu/scripts/hf_anchor.py "$DEST/hf_anchor.py"
du -sh "$DEST"
