# Sourced (POSIX sh) by ./mvnw, ./seer and .ci/run: sets JAVA_HOME to a JDK 25 and puts its bin/ first on PATH,
# or fails with a clear message. Where it looks, in order:
#   1. JAVA_HOME, when it is a JDK 25;
#   2. the JDK of the `java` on PATH, when it is a JDK 25;
#   3. every directory under SEER_JDK_ROOTS (colon-separated; default
#      /usr/lib/jvm:/opt/java:$HOME/.sdkman/candidates/java:$HOME/.jdks), names containing "25" first.
# A JDK 25 is a directory with bin/java and bin/javac whose `release` file says JAVA_VERSION="25..." (or, without a
# release file, whose `java -version` says "25" on its version line, whatever "Picked up ..." lines come first).

seer_is_jdk25() {
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  if [ -f "$1/release" ]; then
    grep -Eq '^JAVA_VERSION="25(\.|")' "$1/release"
  else
    # the version line itself: JAVA_TOOL_OPTIONS, _JAVA_OPTIONS and JDK_JAVA_OPTIONS add "Picked up ..." lines first
    "$1/bin/java" -version 2>&1 | grep -E '^[A-Za-z() -]*version "' | head -n 1 | grep -Eq '"25(\.|")'
  fi
}

# The java.home of the `java` on PATH (empty when there is none).
seer_path_java_home() {
  command -v java >/dev/null 2>&1 || return 0
  java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.home = //p' | head -n 1
}

# Prints the first JDK 25 found, or nothing.
seer_find_jdk25() {
  if [ -n "${JAVA_HOME:-}" ] && seer_is_jdk25 "$JAVA_HOME"; then
    printf '%s\n' "$JAVA_HOME"
    return 0
  fi
  seer_path_home="$(seer_path_java_home)"
  if [ -n "$seer_path_home" ] && seer_is_jdk25 "$seer_path_home"; then
    printf '%s\n' "$seer_path_home"
    return 0
  fi
  seer_old_ifs="$IFS"
  IFS=:
  for seer_root in ${SEER_JDK_ROOTS:-/usr/lib/jvm:/opt/java:${HOME:-/nonexistent}/.sdkman/candidates/java:${HOME:-/nonexistent}/.jdks}; do
    IFS="$seer_old_ifs"
    for seer_candidate in "$seer_root"/*25* "$seer_root"/*; do
      if [ -d "$seer_candidate" ] && seer_is_jdk25 "$seer_candidate"; then
        printf '%s\n' "$seer_candidate"
        return 0
      fi
    done
  done
  IFS="$seer_old_ifs"
  return 0
}

seer_jdk="$(seer_find_jdk25)"
if [ -z "$seer_jdk" ]; then
  echo "error: seer-java needs a JDK 25 (with javac). JAVA_HOME=${JAVA_HOME:-<unset>} is not one, the java on PATH" >&2
  echo "       is not one, and none was found under ${SEER_JDK_ROOTS:-/usr/lib/jvm:/opt/java:~/.sdkman/candidates/java:~/.jdks}." >&2
  echo "       Install a JDK 25 (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  exit 1
fi
if [ -n "${JAVA_HOME:-}" ] && [ "$JAVA_HOME" != "$seer_jdk" ]; then
  echo "note: JAVA_HOME=$JAVA_HOME is not a JDK 25; using $seer_jdk" >&2
fi
export JAVA_HOME="$seer_jdk"
export PATH="$JAVA_HOME/bin:$PATH"
unset seer_jdk seer_path_home seer_old_ifs seer_root seer_candidate
