#!/usr/bin/env bash
# Builds the gpu module and stages what the GPU machine needs into the ignored .gpu-run/ folder.
set -e
cd "$(dirname "$0")/../.."
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64} ./mvnw -B -q -pl gpu -am test-compile
rm -rf .gpu-run && mkdir -p .gpu-run
cp -r gpu/target/classes .gpu-run/gpu-classes
cp -r gpu/target/test-classes .gpu-run/gpu-test-classes
cp -r reference/target/classes .gpu-run/ref-classes
cp ~/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.11.4/junit-platform-console-standalone-1.11.4.jar .gpu-run/console.jar
for a in databind core annotations; do cp ~/.m2/repository/com/fasterxml/jackson/core/jackson-$a/2.18.2/jackson-$a-2.18.2.jar .gpu-run/; done
du -sh .gpu-run
