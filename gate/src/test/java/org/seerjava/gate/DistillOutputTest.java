package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.GateType;
import org.seerjava.reference.io.SafeTensors;

/** The files of a distillation run, as both trainers (CPU and GPU) write them through {@link DistillOutput}. */
class DistillOutputTest {
    @TempDir
    Path dir;

    private DistillOptions options(Path out) {
        return DistillOptions.defaults(Path.of("model"), Path.of("corpus/train.bin"), out).withSteps(5)
                .withCheckpointEvery(2).withSeqLen(128).withBatch(3).withLr(1e-2, 1).withSeed(9);
    }

    private static Map<String, String> metadata(Path file) {
        try (SafeTensors st = SafeTensors.open(file)) {
            return st.metadata();
        }
    }

    @Test
    void checkpointsEveryNStepsBeforeTheLastThenGatesAndHistory() throws Exception {
        Path out = dir.resolve("run");
        DistillOutput output = new DistillOutput(options(out), "test trainer");
        GateSet gates = GateSet.init(GateSetTest.TINY.spec(GateType.DEFAULT, 64, 64), 1);
        for (int done = 1; done <= 5; done++) {
            output.afterStep(gates, done);
        }
        try (var files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("checkpoint-step2.safetensors", "checkpoint-step4.safetensors");
        }
        assertThat(metadata(out.resolve("checkpoint-step4.safetensors"))).containsEntry("distill_steps", "4")
                .containsEntry("trainer", "test trainer").containsEntry("seq_len", "128").containsEntry("batch", "3")
                .containsEntry("corpus", "train.bin").containsEntry("seed", "9")
                .doesNotContainKey("distill_seconds");

        var history = List.of(new DistillationTrainer.StepLog(0, 0.0, 3.5, 1.25, 0.5, 100),
                new DistillationTrainer.StepLog(1, 0.01, 2.5, 0.75, 1.0, 120));
        Path gateFile = output.finish(gates, history, 12.34);
        assertThat(gateFile).isEqualTo(out.resolve("gates.safetensors"));
        assertThat(metadata(gateFile)).containsEntry("distill_steps", "5").containsEntry("distill_seconds", "12.3")
                .containsEntry("trainer", "test trainer").containsEntry("lr", "0.01");

        JsonNode json = JsonMapper.builder().build().readTree(out.resolve("history.json").toFile());
        assertThat(json.get("steps").asInt()).isEqualTo(5);
        assertThat(json.get("seconds").asDouble()).isEqualTo(12.34);
        assertThat(json.get("options").get("seq_len").isInt()).as("options keep their JSON types").isTrue();
        assertThat(json.get("options").get("trainer").asText()).isEqualTo("test trainer");
        assertThat(json.get("history")).hasSize(2);
        assertThat(json.get("history").get(1).get("loss").asDouble()).isEqualTo(2.5);
        assertThat(json.get("history").get(1).get("tokensPerSecond").asDouble()).isEqualTo(120);
    }

    @Test
    void noCheckpointAtTheLastStepNorWithoutAnInterval() throws Exception {
        GateSet gates = GateSet.init(GateSetTest.TINY.spec(GateType.DEFAULT, 64, 64), 1);
        Path even = dir.resolve("even");
        DistillOutput output = new DistillOutput(options(even).withSteps(4), "t");
        for (int done = 1; done <= 4; done++) {
            output.afterStep(gates, done);
        }
        try (var files = Files.list(even)) {                                 // step 4 is the last: gates.safetensors
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("checkpoint-step2.safetensors");
        }
        Path never = dir.resolve("never");
        DistillOutput none = new DistillOutput(options(never).withCheckpointEvery(0), "t");
        for (int done = 1; done <= 5; done++) {
            none.afterStep(gates, done);
        }
        assertThat(never).doesNotExist();
    }

    @Test
    void writesNothingWithoutAnOutputDirectory() throws Exception {
        DistillOutput output = new DistillOutput(options(null), "test trainer");
        GateSet gates = GateSet.init(GateSetTest.TINY.spec(GateType.DEFAULT, 64, 64), 1);
        output.afterStep(gates, 2);
        assertThat(output.finish(gates, List.of(), 1.0)).isNull();
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void aTimedLogHasTheTokenRate() {
        var log = new DistillationTrainer.StepLog(3, 0.5, 2.0, 1.0, 0, 0).timed(4.0, 1000);
        assertThat(log.seconds()).isEqualTo(4.0);
        assertThat(log.tokensPerSecond()).isEqualTo(250.0);
        assertThat(log.step()).isEqualTo(3);
        assertThat(new DistillationTrainer.StepLog(0, 0, 1, 1, 0, 0).timed(0, 10).tokensPerSecond()).isZero();
        assertThat(log.progressLine(1.5)).isEqualTo("loss 2.0000 (avg 1.5000) lr 5.00e-01 |g| 1.000 250 tok/s");
    }
}
