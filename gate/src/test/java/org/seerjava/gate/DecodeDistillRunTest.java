package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.SafeTensors;

/**
 * {@link DecodeDistill#run} on a small random byte-level model ({@link TinyByteModel}: windows of 64 bytes, gates of
 * block 16) against the run written out here: the windows and rows drawn from the seed, one capture per window,
 * then per step a batch drawn from the captures, the batch loss and gradients, the global-norm clip, the learning
 * rate of the schedule and an AdamW step. Same bits for the gates, the same losses, rates and norms in the history;
 * the files, their metadata and the progress lines. Also the options' checks at their boundaries.
 */
class DecodeDistillRunTest {
    @TempDir
    static Path dir;

    static TinyByteModel tiny;

    @BeforeAll
    static void model() {
        tiny = TinyByteModel.write(dir, 41, 3000);
    }

    static DecodeDistill.Options options(Path out, int rows, int steps, double maxGradNorm, long seed) {
        return new DecodeDistill.Options(tiny.dir, tiny.corpus, out, 16, true, 64, rows, 2, steps, 1e-2, 1, 0.01,
                maxGradNorm, seed, 2, 3, "cpu", true);
    }

    /** The run written out. */
    static DecodeGateSet byHand(DecodeDistill.Options o, List<double[]> logs) {
        Engine cpu = Engines.byName("cpu");
        try (LlamaModel model = LlamaModel.load(o.modelDir())) {
            DecodeGateSpec spec = DecodeGateSpec.of(ModelDims.of(model.config()), o.blockSize(), o.qkNorm());
            DecodeGateSet gates = DecodeGateSet.init(spec, o.seed());
            SplittableRandom random = new SplittableRandom(o.seed() * 0x9E3779B97F4A7C15L + 3);
            long[] offsets = DistillationTrainer.randomOffsets(tiny.text.length, o.seqLen(), o.windows(), random);
            List<DecodeGateSample[]> pool = new ArrayList<>();
            for (long off : offsets) {
                pool.add(DecodeDistill.capture(model, cpu, spec, tiny.tokens(off, o.seqLen()),
                        DecodeDistill.rows(o.seqLen(), o.rows(), random)));
            }
            List<double[]> params = DecodeDistill.parameters(gates);
            AdamW adam = new AdamW(params, AdamW.Settings.defaults(o.weightDecay()));
            LrSchedule schedule = new LrSchedule(o.lr(), o.warmup(), o.steps());
            SplittableRandom pick = new SplittableRandom(o.seed() * 31 + 11);
            for (int s = 0; s < o.steps(); s++) {
                List<DecodeGateSample[]> batch = new ArrayList<>();
                for (int b = 0; b < o.batch(); b++) {
                    batch.add(pool.get(pick.nextInt(pool.size())));
                }
                DecodeDistill.BatchResult r = DecodeDistill.lossAndGradients(gates, batch);
                double norm = AdamW.clipGradNorm(r.gradients(), o.maxGradNorm() > 0 ? o.maxGradNorm()
                        : Double.MAX_VALUE);
                adam.step(r.gradients(), schedule.at(s));
                logs.add(new double[] {schedule.at(s), r.loss(), norm});
            }
            return gates;
        }
    }

    static void assertSameRun(DecodeDistill.Result r, DecodeGateSet gates, List<double[]> logs) {
        List<double[]> a = DecodeDistill.parameters(r.gates());
        List<double[]> b = DecodeDistill.parameters(gates);
        assertThat(a).hasSameSizeAs(b);
        for (int i = 0; i < a.size(); i++) {
            assertThat(a.get(i)).as("parameter array %d", i).containsExactly(b.get(i));
        }
        assertThat(r.history()).hasSameSizeAs(logs);
        for (int s = 0; s < logs.size(); s++) {
            DecodeDistill.StepLog log = r.history().get(s);
            assertThat(log.step()).isEqualTo(s);
            assertThat(new double[] {log.lr(), log.loss(), log.gradNorm()}).as("step %d", s)
                    .containsExactly(logs.get(s));
        }
    }

    @Test
    void aRunWithRowsDrawnFromTheSecondHalfCheckpointsAndHistory() throws Exception {
        Path out = dir.resolve("run");
        DecodeDistill.Options o = options(out, 10, 6, 0.5, 6);
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        DecodeDistill.Result r;
        long t0 = System.nanoTime();
        try {
            r = DecodeDistill.run(o);
        } finally {
            System.setErr(err);
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        List<double[]> logs = new ArrayList<>();
        assertSameRun(r, byHand(o, logs), logs);
        assertThat(logs.get(0)[2]).as("the first gradient is clipped").isGreaterThan(0.5);
        double previous = 0;
        for (DecodeDistill.StepLog log : r.history()) {
            assertThat(log.seconds()).isGreaterThanOrEqualTo(previous);
            previous = log.seconds();
        }
        assertThat(r.seconds()).isGreaterThanOrEqualTo(previous).isLessThanOrEqualTo(wall);
        assertThat(r.gateFile()).isEqualTo(out.resolve("decode-gates.safetensors"));
        try (Stream<Path> files = Files.list(out)) {                     // every 3 steps, not at the last (6)
            assertThat(files.map(p -> p.getFileName().toString()).sorted()).containsExactly(
                    "decode-checkpoint-step3.safetensors", "decode-gates.safetensors", "decode-history.json");
        }
        try (SafeTensors st = SafeTensors.open(out.resolve("decode-checkpoint-step3.safetensors"))) {
            assertThat(st.metadata()).containsEntry("distill_steps", "3").containsEntry("rows_per_window", "10")
                    .containsEntry("seq_len", "64").containsEntry("trainer", "seer-java DecodeDistill")
                    .containsEntry("gate_kind", "decode").doesNotContainKey("distill_seconds");
        }
        try (SafeTensors st = SafeTensors.open(r.gateFile())) {
            assertThat(st.metadata()).containsEntry("distill_steps", "6").containsKey("distill_seconds")
                    .containsEntry("windows", "2").containsEntry("corpus", "corpus.bin");
        }
        DecodeGateSet back = DecodeGateSet.load(r.gateFile(), tiny.dims());
        assertThat(back.layer(1).wq()[3]).isEqualTo((float) r.gates().layer(1).wq()[3]);
        JsonNode h = JsonMapper.builder().build().readTree(out.resolve("decode-history.json").toFile());
        assertThat(h.get("steps").asInt()).isEqualTo(6);
        assertThat(h.get("seconds").asDouble()).isEqualTo(r.seconds());
        assertThat(h.get("options").get("rows_per_window").asInt()).isEqualTo(10);
        assertThat(h.get("history")).hasSize(6);
        assertThat(h.get("history").get(2).get("loss").asDouble()).isEqualTo(r.history().get(2).loss());
        // the bars end at 2/2 windows captured and 6/6 steps; the last line has the running average of the loss
        String progress = captured.toString(StandardCharsets.UTF_8);
        double ema = r.history().getFirst().loss();
        for (int s = 1; s < 6; s++) {
            ema = 0.9 * ema + 0.1 * r.history().get(s).loss();
        }
        DecodeDistill.StepLog last = r.history().getLast();
        assertThat(progress).contains("capture 100% [########################] 2/2 ").contains(" window 2\n")
                .contains("distil 100% [########################] 6/6 ").contains(String.format(Locale.ROOT,
                        " loss %.4f (avg %.4f) lr %.2e |g| %.3f\n", last.loss(), ema, last.lr(), last.gradNorm()));
    }

    @Test
    void allRowsOfTheSecondHalfAndNoClippingInMemory() {
        DecodeDistill.Options o = options(null, 0, 4, 0, 9);
        DecodeDistill.Result r = DecodeDistill.run(o);
        List<double[]> logs = new ArrayList<>();
        assertSameRun(r, byHand(o, logs), logs);
        assertThat(r.gateFile()).isNull();
        assertThat(DecodeDistill.metadata(o)).containsEntry("rows_per_window", "all of the second half");
    }

    @Test
    void rowsAreTheSecondHalfOrASortedSampleOfIt() {
        assertThat(DecodeDistill.rows(9, 0, new SplittableRandom(1))).containsExactly(4, 5, 6, 7, 8);
        assertThat(DecodeDistill.rows(10, 5, new SplittableRandom(1))).containsExactly(5, 6, 7, 8, 9);
        assertThat(DecodeDistill.rows(10, 7, new SplittableRandom(1))).containsExactly(5, 6, 7, 8, 9);
        // a sample: sorted, distinct, from the second half, and every row of it drawn some time
        boolean[] seen = new boolean[100];
        SplittableRandom r = new SplittableRandom(2);
        for (int trial = 0; trial < 40; trial++) {
            int[] rows = DecodeDistill.rows(100, 4, r);
            assertThat(rows).hasSize(4).isSorted().doesNotHaveDuplicates();
            for (int x : rows) {
                assertThat(x).isBetween(50, 99);
                seen[x] = true;
            }
        }
        int count = 0;
        for (int i = 50; i < 100; i++) {
            count += seen[i] ? 1 : 0;
        }
        assertThat(count).isGreaterThan(40);
    }

    /** The documented sample: a partial Fisher–Yates shuffle of the second half, its first {@code count} sorted. */
    static int[] partialFisherYates(int seqLen, int count, SplittableRandom random) {
        int from = seqLen / 2;
        int[] pool = java.util.stream.IntStream.range(from, seqLen).toArray();
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(pool.length - i);
            int t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
        }
        int[] r = java.util.Arrays.copyOf(pool, count);
        java.util.Arrays.sort(r);
        return r;
    }

    @Test
    void successiveSamplesAreThoseOfAPartialFisherYatesShuffle() {
        SplittableRandom a = new SplittableRandom(5);
        SplittableRandom b = new SplittableRandom(5);
        for (int call = 0; call < 5; call++) {                                // the random source is shared
            assertThat(DecodeDistill.rows(64, 6, a)).as("call %d", call).containsExactly(partialFisherYates(64, 6, b));
        }
    }

    @Test
    void optionsAreCheckedAtTheirBoundaries() {
        Path m = Path.of("m");
        Path c = Path.of("c");
        assertThat(new DecodeDistill.Options(m, c, null, 1, false, 2, 0, 1, 1, 1e-9, 0, 0, 0, 0, 1, 0, null, false)
                .engine()).isEqualTo("auto");
        DecodeDistill.Options ok = new DecodeDistill.Options(m, c, null, 16, false, 32, 0, 1, 2, 1, 1, 0, 0, 0, 1, 0,
                "cpu", false);
        assertThat(ok.engine()).isEqualTo("cpu");
        assertThatThrownBy(() -> new DecodeDistill.Options(m, c, null, 16, false, 31, 0, 1, 1, 0.01, 0, 0, 0, 0, 1, 0,
                null, false)).hasMessage("bad decode distillation options: block 16, seq 31 (≥ 2 blocks), rows 0, "
                + "batch 1, steps 1, lr 0.01, warmup 0 (< steps), wd 0.0, windows 1, checkpointEvery 0");
        // block, seq, rows, batch, steps, lr, warmup, wd, windows, checkpointEvery one step beyond each limit
        Object[][] bad = {
            {0, 32, 0, 1, 1, 1.0, 0, 0.0, 1, 0}, {16, 32, -1, 1, 1, 1.0, 0, 0.0, 1, 0},
            {16, 32, 0, 0, 1, 1.0, 0, 0.0, 1, 0}, {16, 32, 0, 1, 0, 1.0, 0, 0.0, 1, 0},
            {16, 32, 0, 1, 1, 0.0, 0, 0.0, 1, 0}, {16, 32, 0, 1, 1, Double.NaN, 0, 0.0, 1, 0},
            {16, 32, 0, 1, 2, 1.0, -1, 0.0, 1, 0}, {16, 32, 0, 1, 2, 1.0, 2, 0.0, 1, 0},
            {16, 32, 0, 1, 1, 1.0, 0, -0.1, 1, 0}, {16, 32, 0, 1, 1, 1.0, 0, Double.NaN, 1, 0},
            {16, 32, 0, 1, 1, 1.0, 0, 0.0, 0, 0}, {16, 32, 0, 1, 1, 1.0, 0, 0.0, 1, -1},
        };
        for (Object[] b : bad) {
            assertThatThrownBy(() -> new DecodeDistill.Options(m, c, null, (int) b[0], false, (int) b[1], (int) b[2],
                    (int) b[3], (int) b[4], (double) b[5], (int) b[6], (double) b[7], 0, 0, (int) b[8], (int) b[9],
                    null, false)).as(java.util.Arrays.toString(b))
                    .hasMessageStartingWith("bad decode distillation options: ");
        }
        assertThatThrownBy(() -> new DecodeDistill.Options(null, c, null, 16, false, 32, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0,
                null, false)).hasMessage("model directory and corpus must be given");
        assertThatThrownBy(() -> new DecodeDistill.Options(m, null, null, 16, false, 32, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0,
                null, false)).hasMessage("model directory and corpus must be given");
    }

    @Test
    void aModelThatDoesNotReadBytesIsRefused() throws Exception {
        Path other = dir.resolve("vocab300");
        Files.createDirectories(other);
        Files.writeString(other.resolve("config.json"), tiny.checkpoint.config.deepCopy().put("vocab_size", 300)
                .toString());
        assertThatThrownBy(() -> DecodeDistill.run(new DecodeDistill.Options(other, tiny.corpus, null, 16, true, 64,
                0, 1, 1, 1e-2, 0, 0, 1, 0, 1, 0, "cpu", false)))
                .hasMessageStartingWith("distill-decode: model " + other + " has a 300-token vocabulary");
    }
}
