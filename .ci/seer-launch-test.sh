#!/usr/bin/env bash
# Two first runs of ./seer at once in a fresh copy of the project (no build yet): both must succeed, one builds
# while the other waits for the build lock and then finds the build done. The copy holds the tracked files as they
# are in the working tree (git stash create), nothing under target/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
REV="$(git -C "$ROOT" stash create)"
REV="${REV:-$(git -C "$ROOT" rev-parse HEAD)}"
mkdir "$TMP/clone"
git -C "$ROOT" archive "$REV" | tar -x -C "$TMP/clone"
cd "$TMP/clone"
./seer --version >"$TMP/out1" 2>"$TMP/err1" & first=$!
./seer --version >"$TMP/out2" 2>"$TMP/err2" & second=$!
status=0
wait "$first" || status=1
wait "$second" || status=1
failed=0
if [ "$status" -ne 0 ]; then
  echo "FAIL: a concurrent first run failed:" >&2
  cat "$TMP/err1" "$TMP/err2" >&2
  failed=1
fi
for i in 1 2; do
  if ! grep -q '^seer-java ' "$TMP/out$i"; then
    echo "FAIL: run $i printed no version: $(cat "$TMP/out$i")" >&2
    failed=1
  fi
done
builds="$(cat "$TMP/err1" "$TMP/err2" | grep -c 'seer: building' || true)"
if [ "$builds" -ne 1 ]; then
  echo "FAIL: expected exactly one build, found $builds" >&2
  failed=1
fi
[ "$failed" -eq 0 ] && echo "seer launch: two concurrent first runs succeeded, one build"
exit "$failed"
