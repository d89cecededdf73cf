package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.SafeTensors;

/**
 * {@link Distill#run} on a small random byte-level model ({@link TinyByteModel}, windows of 64 bytes, gates of block
 * 16), both ways of drawing windows, against the same run written out step by step here: the documented window
 * draws ({@link DistillOptions#windowRandom()}, {@link DistillOptions#poolPickRandom()}), the capture of each window,
 * one trainer step per batch. The trained gates must be the same bits; the history's losses, learning rates and
 * gradient norms likewise; the files written are the checkpoints due, the final gates and the history. The long run
 * on the embedded model is {@code DistillationRunTest} (left out of mutation runs).
 */
class DistillRunSmallTest {
    @TempDir
    static Path dir;

    static TinyByteModel tiny;

    @BeforeAll
    static void model() {
        tiny = TinyByteModel.write(dir, 21, 3000);
    }

    static DistillOptions options(Path out, int steps, int checkpointEvery, int poolWindows, long seed) {
        return new DistillOptions(tiny.dir, tiny.corpus, out, "Qavg_Kmaxminavg", 16, 0, 64, 2, steps, 1e-2, 1, 0.01,
                1.0, seed, checkpointEvery, poolWindows, "cpu", true);
    }

    /** The run written out: draws the batches as documented, captures, one trainer step each. */
    static GateSet byHand(DistillOptions o, List<DistillationTrainer.StepLog> logs) {
        Engine cpu = Engines.byName("cpu");
        try (LlamaModel model = LlamaModel.load(o.modelDir())) {
            GateSpec spec = o.gateSpec(ModelDims.of(model.config()));
            GateSet gates = GateSet.init(spec, o.seed());
            DistillationTrainer trainer = new DistillationTrainer(gates, o);
            SplittableRandom windows = o.windowRandom();
            Supplier<List<GateSample[]>> draw;
            if (o.poolWindows() > 0) {
                List<GateSample[]> pool = new ArrayList<>();
                for (long off : DistillationTrainer.randomOffsets(tiny.text.length, o.seqLen(), o.poolWindows(),
                        windows)) {
                    pool.add(DistillationTrainer.capture(model, cpu, spec, tiny.tokens(off, o.seqLen())));
                }
                SplittableRandom pick = o.poolPickRandom();
                draw = () -> Stream.generate(() -> pool.get(pick.nextInt(pool.size()))).limit(o.batch()).toList();
            } else {
                draw = () -> {
                    List<GateSample[]> b = new ArrayList<>();
                    for (long off : DistillationTrainer.randomOffsets(tiny.text.length, o.seqLen(), o.batch(),
                            windows)) {
                        b.add(DistillationTrainer.capture(model, cpu, spec, tiny.tokens(off, o.seqLen())));
                    }
                    return b;
                };
            }
            for (int s = 0; s < o.steps(); s++) {
                logs.add(trainer.step(s, draw.get()));
            }
            return gates;
        }
    }

    static void assertSameRun(Distill.Result r, GateSet gates, List<DistillationTrainer.StepLog> logs) {
        DistillationRunTest.assertSameWeights(r.gates(), gates);
        assertThat(r.history()).hasSameSizeAs(logs);
        for (int s = 0; s < logs.size(); s++) {
            DistillationTrainer.StepLog got = r.history().get(s);
            assertThat(got.step()).isEqualTo(s);
            assertThat(got.loss()).isEqualTo(logs.get(s).loss());
            assertThat(got.lr()).isEqualTo(logs.get(s).lr());
            assertThat(got.gradNorm()).isEqualTo(logs.get(s).gradNorm());
        }
    }

    @Test
    void freshWindowsEveryStepWithCheckpointsAndHistory() throws Exception {
        Path out = dir.resolve("fresh");
        DistillOptions o = options(out, 3, 2, 0, 5);
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        Distill.Result r;
        long t0 = System.nanoTime();
        try {
            r = Distill.run(o);
        } finally {
            System.setErr(err);
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        List<DistillationTrainer.StepLog> logs = new ArrayList<>();
        assertSameRun(r, byHand(o, logs), logs);
        // the run's time covers the training's; the file's time is the run's
        assertThat(r.seconds()).isLessThanOrEqualTo(wall);
        try (SafeTensors st = SafeTensors.open(r.gateFile())) {
            assertThat(Double.parseDouble(st.metadata().get("distill_seconds"))).isBetween(
                    r.history().getLast().seconds() - 0.05, wall + 0.05);
        }
        // the step's tokens/s is tokens trained on by then (batch × seqLen a step) over the time since training began
        for (DistillationTrainer.StepLog log : r.history()) {
            assertThat(log.seconds()).isPositive();
            assertThat(log.tokensPerSecond() * log.seconds()).isCloseTo((log.step() + 1) * 2 * 64.0, within(1e-6));
        }
        assertThat(r.history().get(2).seconds()).isGreaterThanOrEqualTo(r.history().get(0).seconds());
        assertThat(r.seconds()).isGreaterThanOrEqualTo(r.history().getLast().seconds());
        assertThat(r.gateFile()).isEqualTo(out.resolve("gates.safetensors"));
        try (Stream<Path> files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("checkpoint-step2.safetensors", "gates.safetensors", "history.json");
        }
        try (SafeTensors st = SafeTensors.open(out.resolve("checkpoint-step2.safetensors"))) {
            assertThat(st.metadata()).containsEntry("distill_steps", "2").containsEntry("seq_len", "64")
                    .containsEntry("pool_windows", "0").containsEntry("trainer", "seer-java DistillationTrainer");
        }
        GateSet back = GateSet.load(r.gateFile(), tiny.dims());
        assertThat(back.layer(1).wk()[7]).isEqualTo((float) r.gates().layer(1).wk()[7]);
        JsonNode h = JsonMapper.builder().build().readTree(out.resolve("history.json").toFile());
        assertThat(h.get("steps").asInt()).isEqualTo(3);
        assertThat(h.get("history")).hasSize(3);
        assertThat(h.get("history").get(1).get("loss").asDouble()).isEqualTo(r.history().get(1).loss());
        // fresh windows: no capture bar; the training bar ends at 3/3
        String progress = captured.toString(StandardCharsets.UTF_8);
        assertThat(progress).doesNotContain("capture").contains("distil 100% [########################] 3/3 ");
    }

    @Test
    void aPoolOfWindowsCapturedOnceAndDrawnFrom() {
        DistillOptions o = options(null, 4, 1, 3, 8);
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        Distill.Result r;
        long t0 = System.nanoTime();
        try {
            r = Distill.run(o);
        } finally {
            System.setErr(err);
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        List<DistillationTrainer.StepLog> logs = new ArrayList<>();
        assertSameRun(r, byHand(o, logs), logs);
        assertThat(r.gateFile()).isNull();
        String progress = captured.toString(StandardCharsets.UTF_8);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("capture 100% \\[#{24}\\] 3/3 \\S+ (\\d+) tok/s\\n")
                .matcher(progress);
        assertThat(m.find()).as(progress).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isGreaterThanOrEqualTo(3 * 64 / wall - 1);   // 3 windows of 64
        assertThat(progress).contains("distil 100% [########################] 4/4 ");
        assertThat(r.seconds()).isLessThanOrEqualTo(wall);
    }

    @Test
    void aModelThatDoesNotReadBytesIsRefusedBeforeLoading() throws Exception {
        Path other = dir.resolve("vocab300");
        Files.createDirectories(other);
        Files.writeString(other.resolve("config.json"), tiny.checkpoint.config.deepCopy().put("vocab_size", 300)
                .toString());
        DistillOptions o = new DistillOptions(other, tiny.corpus, null, null, 16, 0, 64, 1, 1, 1e-2, 0, 0, 1, 0, 0,
                0, "cpu", false);
        assertThatThrownBy(() -> Distill.run(o)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("distill: model " + other + " has a 300-token vocabulary");
    }
}
