#!/usr/bin/env bash
# After `./mvnw verify`: every module's jar names its Automatic-Module-Name (org.seerjava.<folder>), and every
# module with main sources also has its -sources and -javadoc jars (what `./mvnw install` publishes).
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $1" >&2; }
for pom in */pom.xml; do
  dir="${pom%/pom.xml}"
  if [ "$dir" = tornado ] && [ -z "${TORNADOVM_HOME:-}" ]; then
    echo "packaging: tornado skipped (built only with TORNADOVM_HOME)"
    continue
  fi
  artifact="$(sed -n 's:^  <artifactId>\(.*\)</artifactId>:\1:p' "$pom" | head -n 1)"
  jar="$(ls "$dir"/target/"$artifact"-*.jar 2>/dev/null | grep -v -e '-sources\.jar$' -e '-javadoc\.jar$' -e '-tests\.jar$' | head -n 1)"
  if [ -z "$jar" ]; then
    fail "$dir: no jar in $dir/target (run ./mvnw verify first)"
    continue
  fi
  name="$(unzip -p "$jar" META-INF/MANIFEST.MF | tr -d '\r' | sed -n 's/^Automatic-Module-Name: //p')"
  expected="org.seerjava.${artifact#seer-}"
  expected="${expected//-/.}"
  if [ "$name" = "$expected" ]; then passed=$((passed + 1)); else fail "$jar: Automatic-Module-Name '$name', expected '$expected'"; fi
  if [ -d "$dir/src/main/java" ]; then
    for kind in sources javadoc; do
      if [ -f "${jar%.jar}-$kind.jar" ]; then passed=$((passed + 1)); else fail "$dir: no ${jar%.jar}-$kind.jar"; fi
    done
  fi
done
echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
