# Sourced by .ci/run and ./seer: sets JAVA_HOME to a JDK 25 or fails with a clear message.
seer_is_jdk25() { [ -x "$1/bin/javac" ] && "$1/bin/java" -version 2>&1 | head -1 | grep -Eq '"25(\.|")'; }
if [ -n "${JAVA_HOME:-}" ] && seer_is_jdk25 "$JAVA_HOME"; then
  :
else
  found=""
  for candidate in /usr/lib/jvm/*25* /usr/lib/jvm/* /opt/java/* "$HOME"/.sdkman/candidates/java/*; do
    if [ -d "$candidate" ] && seer_is_jdk25 "$candidate"; then found="$candidate"; break; fi
  done
  if [ -z "$found" ]; then
    echo "error: seer-java needs a JDK 25 (with javac). JAVA_HOME=${JAVA_HOME:-<unset>} is not one and none was found under /usr/lib/jvm." >&2
    echo "       Install a JDK 25 (e.g. Temurin 25) and set JAVA_HOME to it." >&2
    exit 1
  fi
  export JAVA_HOME="$found"
fi
export PATH="$JAVA_HOME/bin:$PATH"
