#!/usr/bin/env bash
# The Java mutations issue #17 names, applied one at a time to a scratch copy of the working tree: each must make the
# named test fail (docs/TESTING.md). Prints KILLED or SURVIVED per mutant; exit status 1 when one survives.
#   tests/named-mutants.sh            (JAVA_HOME must point at a JDK 25; about a minute per mutant)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# a copy without build outputs, so the mutants never touch the working tree
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work" 2>/dev/null || true)
cd "$work"

# name | file | perl substitution (must match exactly once) | module | tests
mutants=(
"FACADE_DIAGONAL_DROPPED|api/src/main/java/org/seerjava/SeerAttention.java|s/new SelectionRule\.TopK\(density, false, true\)/new SelectionRule.TopK(density, false, false)/g|api|FacadeMatchesReferencePipelineTest"
"FACADE_SCALE_1_OVER_D|api/src/main/java/org/seerjava/SeerAttention.java|s/this\.scale = 1\.0 \/ Math\.sqrt\(headDim\);/this.scale = 1.0 \/ headDim;/g|api|FacadeMatchesReferencePipelineTest"
"DEMO_SPEEDUP_INVERTED|cli/src/main/java/org/seerjava/cli/DemoCommand.java|s/ratios\[rep\] = seconds\[0\]\[rep\] \/ seconds\[row\]\[rep\];/ratios[rep] = seconds[row][rep] \/ seconds[0][rep];/g|cli|DemoCommandTest"
"TRAINER_NO_CLIPPING|gate/src/main/java/org/seerjava/gate/DistillationTrainer.java|s/settings\.maxGradNorm\(\) > 0 \? AdamW\.clipGradNorm/false ? AdamW.clipGradNorm/g|gate|TrainerStepTest"
"CPU_TOPK_IGNORES_KEEP_DIAGONAL|cpu/src/main/java/org/seerjava/cpu/CpuSelection.java|s/if \(rule\.keepDiagonal\(\)\) \{/if (false) {/g|cpu|CpuEngineTest"
)

survived=0
for m in "${mutants[@]}"; do
    IFS='|' read -r name file subst module tests <<< "$m"
    cp "$file" "$file.orig"
    perl -0pi -e "\$n = ($subst); die \"$name: pattern matched \$n times\\n\" unless \$n == 1" "$file"
    if ./mvnw -B -q -ntp -o -pl "$module" -am test -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false \
            > "$work/$name.log" 2>&1; then
        echo "SURVIVED  $name  ($tests pass)"
        survived=1
    else
        failed=$(grep -hoE '(Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+)' "$work/$name.log" | tail -1)
        first=$(grep -m1 -E '^\[ERROR\]   [A-Za-z]' "$work/$name.log" | cut -c1-220 || true)
        echo "KILLED    $name  ($tests: $failed)"
        [ -n "$first" ] && echo "          $first"
    fi
    mv "$file.orig" "$file"
done
exit $survived
