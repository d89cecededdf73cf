#!/usr/bin/env bash
# Tests of the JDK discovery in .ci/java-home.sh (used by ./mvnw, ./seer and .ci/run): fake JDK layouts in a
# temporary folder, then the real wrapper with JAVA_HOME unset and a Java 17 first on PATH when this machine has one.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

check() { # name, expected, actual
  if [ "$2" = "$3" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1: expected '$2', got '$3'" >&2
  fi
}

# A fake JDK: bin/java prints the version (after the "Picked up" lines a real JVM prints for JAVA_TOOL_OPTIONS,
# _JAVA_OPTIONS and JDK_JAVA_OPTIONS), bin/javac exists unless $3 = jre; a release file unless $4 = norelease.
fake_jdk() { # dir, version, [jre], [norelease]
  mkdir -p "$1/bin"
  {
    printf '#!/bin/sh\n'
    printf '[ -z "${JDK_JAVA_OPTIONS:-}" ] || echo "NOTE: Picked up JDK_JAVA_OPTIONS: $JDK_JAVA_OPTIONS" >&2\n'
    printf '[ -z "${JAVA_TOOL_OPTIONS:-}" ] || echo "Picked up JAVA_TOOL_OPTIONS: $JAVA_TOOL_OPTIONS" >&2\n'
    printf '[ -z "${_JAVA_OPTIONS:-}" ] || echo "Picked up _JAVA_OPTIONS: $_JAVA_OPTIONS" >&2\n'
    printf 'echo "openjdk version \\"%s\\" 2026-01-20" >&2\n' "$2"
  } > "$1/bin/java"
  chmod +x "$1/bin/java"
  if [ "${3:-}" != jre ]; then
    cp "$1/bin/java" "$1/bin/javac"
  fi
  if [ "${4:-}" != norelease ]; then
    printf 'IMPLEMENTOR="test"\nJAVA_VERSION="%s"\n' "$2" > "$1/release"
  fi
}

# Runs java-home.sh with the given environment in a clean shell whose PATH has no java; prints JAVA_HOME or the exit.
# JVM option variables (JAVA_TOOL_OPTIONS, _JAVA_OPTIONS, JDK_JAVA_OPTIONS) are passed through when set.
discover() { # roots, [JAVA_HOME]
  env -i HOME="$TMP/home" PATH="/usr/bin:/bin" SEER_JDK_ROOTS="$1" ${2:+JAVA_HOME="$2"} \
    ${JAVA_TOOL_OPTIONS:+JAVA_TOOL_OPTIONS="$JAVA_TOOL_OPTIONS"} ${_JAVA_OPTIONS:+_JAVA_OPTIONS="$_JAVA_OPTIONS"} \
    ${JDK_JAVA_OPTIONS:+JDK_JAVA_OPTIONS="$JDK_JAVA_OPTIONS"} \
    sh -c '. "$0/.ci/java-home.sh" 2>"$1" && printf %s "$JAVA_HOME"' "$ROOT" "$TMP/stderr" || printf 'exit %s' "$?"
}

R="$TMP/jvm"
fake_jdk "$R/jdk-17" 17.0.15
fake_jdk "$R/jre-25" 25.0.1 jre
fake_jdk "$R/temurin-25" 25.0.3
fake_jdk "$TMP/other/jdk-25-custom" 25 "" norelease
fake_jdk "$TMP/only17/jdk-17" 17.0.15

check "JAVA_HOME unset: the JDK 25 under the roots (a JRE 25 without javac is skipped)" \
  "$R/temurin-25" "$(discover "$R")"
check "JAVA_HOME = a JDK 17: replaced by the JDK 25" "$R/temurin-25" "$(discover "$R" "$R/jdk-17")"
grep -q "JAVA_HOME=$R/jdk-17 is not a JDK 25; using $R/temurin-25" "$TMP/stderr"
check "a note names the replaced JAVA_HOME" 0 "$?"
check "JAVA_HOME = a JDK 25: kept, even when the roots hold another" "$TMP/other/jdk-25-custom" \
  "$(discover "$R" "$TMP/other/jdk-25-custom")"
check "several roots; a JDK without a release file is recognised by java -version" "$TMP/other/jdk-25-custom" \
  "$(discover "$TMP/only17:$TMP/other")"
for var in JAVA_TOOL_OPTIONS _JAVA_OPTIONS JDK_JAVA_OPTIONS; do
  check "$var set: the \"Picked up\" line is not read as the version" "$TMP/other/jdk-25-custom" \
    "$(env "$var=-Dseer.test=1" bash -c "$(declare -f discover); TMP='$TMP' ROOT='$ROOT'; discover '$TMP/only17:$TMP/other'")"
done
check "all three set at once" "$TMP/other/jdk-25-custom" "$(JAVA_TOOL_OPTIONS=-Da=1 _JAVA_OPTIONS=-Db=2 \
  JDK_JAVA_OPTIONS=-Dc=3 bash -c "$(declare -f discover); TMP='$TMP' ROOT='$ROOT'; discover '$TMP/only17:$TMP/other'")"
check "no JDK 25 anywhere: exit 1" "exit 1" "$(discover "$TMP/only17" "$TMP/only17/jdk-17")"
grep -q "seer-java needs a JDK 25" "$TMP/stderr"
check "no JDK 25: the message says what is needed" 0 "$?"

# The java on PATH counts when it is a JDK 25 (JAVA_HOME unset, nothing under the roots).
mkdir -p "$TMP/pathjdk/bin"
fake_jdk "$TMP/pathjdk/jdk" 25.0.2
printf '#!/bin/sh\necho "    java.home = %s" >&2\necho "openjdk version \\"25.0.2\\"" >&2\n' "$TMP/pathjdk/jdk" \
  > "$TMP/pathjdk/bin/java"
chmod +x "$TMP/pathjdk/bin/java"
got="$(env -i HOME="$TMP/home" PATH="$TMP/pathjdk/bin:/usr/bin:/bin" SEER_JDK_ROOTS="$TMP/only17" \
  sh -c '. "$0/.ci/java-home.sh" 2>/dev/null && printf %s "$JAVA_HOME"' "$ROOT" || printf 'exit %s' "$?")"
check "the JDK of the java on PATH" "$TMP/pathjdk/jdk" "$got"

# The real wrapper on this machine: JAVA_HOME unset and a Java 17 first on PATH (when there is one).
JAVA17=""
for d in /usr/lib/jvm/*17*; do
  if [ -x "$d/bin/java" ]; then JAVA17="$d"; break; fi
done
if [ -n "$JAVA17" ]; then
  out="$(cd "$ROOT" && env -u JAVA_HOME PATH="$JAVA17/bin:$PATH" ./mvnw -B -ntp -v 2>&1)"
  java_line="$(printf '%s\n' "$out" | grep '^Java version:' | grep -o 'version: 25' || true)"
  check "./mvnw with JAVA_HOME unset and Java 17 on PATH runs Maven on Java 25" "version: 25" "$java_line"
else
  echo "skipped: ./mvnw with Java 17 on PATH (no Java 17 under /usr/lib/jvm here)"
fi

echo "java-home: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
