package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.gate.DistillOptions;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.model.LlamaConfig;

/** The demo's gate cache: a key that changes with every input of the distillation, and damaged entries redone. */
class GateCacheTest {
    static final Path PROJECT = SubcommandsTest.PROJECT;
    static final Path MODEL = PROJECT.resolve("models/tiny-llama-bytes");
    static final Path TRAIN = PROJECT.resolve("corpus/train-excerpt.bin");

    static Path copyModel(Path to) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(MODEL)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        return to;
    }

    @Test
    void theKeyChangesWithEveryInputOfTheDistillation(@TempDir Path dir) throws Exception {
        Path root = dir.resolve("work/gates");
        Path model = copyModel(dir.resolve("model"));
        Path text = Files.copy(TRAIN, dir.resolve("train.bin"));
        DistillOptions o = DistillOptions.defaults(model, text, null).withSteps(300).withSeqLen(2048)
                .withPoolWindows(12).withEngine("cpu");
        GateCache.Entry base = GateCache.entry(root, model, text, o);
        assertThat(base.dir().getFileName().toString()).matches("steps300-seq2048-win12-seed0-[0-9a-f]{16}");
        assertThat(GateCache.entry(root, model, text, o)).isEqualTo(base);           // same inputs, same entry
        assertThat(GateCache.entry(root, copyModel(dir.resolve("same")), Files.copy(TRAIN, dir.resolve("t2.bin")), o)
                .dir()).isEqualTo(base.dir());                                       // same content elsewhere

        List<UnaryOperator<DistillOptions>> options = List.of(
                x -> x.withSteps(301), x -> x.withSeqLen(1024), x -> x.withPoolWindows(11), x -> x.withSeed(1),
                x -> x.withBatch(2), x -> x.withLr(2e-3, x.warmup()), x -> x.withLr(x.lr(), 7),
                x -> x.withWeightDecay(0.1), x -> x.withEngine("reference"), x -> x.withCheckpointEvery(50),
                x -> new DistillOptions(x.modelDir(), x.corpus(), null, "Qavg_Kmaxmin", 64, 0, x.seqLen(), x.batch(),
                        x.steps(), x.lr(), x.warmup(), 0, 1.0, 0, 0, x.poolWindows(), x.engine(), true),
                x -> new DistillOptions(x.modelDir(), x.corpus(), null, x.gateType(), 64, 32, x.seqLen(), x.batch(),
                        x.steps(), x.lr(), x.warmup(), 0, 1.0, 0, 0, x.poolWindows(), x.engine(), true),
                x -> new DistillOptions(x.modelDir(), x.corpus(), null, x.gateType(), 64, 0, x.seqLen(), x.batch(),
                        x.steps(), x.lr(), x.warmup(), 0, 0.5, 0, 0, x.poolWindows(), x.engine(), true));
        for (UnaryOperator<DistillOptions> change : options) {
            assertThat(GateCache.entry(root, model, text, change.apply(o)).dir()).isNotEqualTo(base.dir());
        }
        // Progress bars and the output folder are not inputs of the gates.
        assertThat(GateCache.entry(root, model, text, o.withProgress(false).withOutputDir(dir)).dir()).isEqualTo(base.dir());

        // The model: a config byte, a weights file's time or size; the training text's content.
        Files.writeString(model.resolve("config.json"), Files.readString(model.resolve("config.json")) + " ");
        Path afterConfig = GateCache.entry(root, model, text, o).dir();
        assertThat(afterConfig).isNotEqualTo(base.dir());
        Path weights = model.resolve("model.safetensors");
        Files.setLastModifiedTime(weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 1000));
        Path afterWeights = GateCache.entry(root, model, text, o).dir();
        assertThat(afterWeights).isNotEqualTo(afterConfig);
        byte[] t = Files.readAllBytes(text);
        t[t.length / 2] ^= 1;
        Files.write(text, t);
        assertThat(GateCache.entry(root, model, text, o).dir()).isNotEqualTo(afterWeights);
        assertThat(base.description()).contains("config.json sha256", "model.safetensors", "training text sha256",
                "engine cpu");
    }

    @Test
    void anEntryWhoseHistoryOrGatesDoNotReadBackIsNotUsed(@TempDir Path dir) throws Exception {
        ModelDims dims = ModelDims.of(LlamaConfig.load(MODEL.resolve("config.json")));
        DistillOptions o = DistillOptions.defaults(MODEL, TRAIN, null);
        GateCache.Entry e = GateCache.entry(dir, MODEL, TRAIN, o);
        StringWriter notes = new StringWriter();
        PrintWriter note = new PrintWriter(notes, true);
        assertThat(GateCache.read(e, dims, note)).isNull();                      // nothing there: no note
        assertThat(notes.toString()).isEmpty();

        Files.createDirectories(e.dir());
        GateSet.init(dims.spec(org.seerjava.reference.GateType.DEFAULT, 64, 64), 3).save(e.gates());
        String history = "{\"history\": [{\"step\": 0, \"loss\": 1.5}, {\"step\": 1, \"loss\": 1.25}]}";
        Files.writeString(e.history(), history);
        GateCache.Cached hit = GateCache.read(e, dims, note);
        assertThat(hit).isNotNull();
        assertThat(hit.lossCurve()).containsExactly(new double[] {1, 1.5}, new double[] {2, 1.25});

        Files.writeString(e.history(), history.substring(0, 30));                  // truncated
        assertThat(GateCache.read(e, dims, note)).isNull();
        assertThat(notes.toString()).contains("the cached gates in " + e.dir() + " cannot be used", "history.json",
                "distilling again");
        Files.writeString(e.history(), "{\"history\": [{\"step\": 0}]}");         // no loss
        assertThat(GateCache.read(e, dims, note)).isNull();
        Files.delete(e.history());                                                 // gates without history
        assertThat(GateCache.read(e, dims, note)).isNull();
        Files.writeString(e.history(), history);
        Files.write(e.gates(), new byte[] {1, 2, 3});                              // damaged gates
        assertThat(GateCache.read(e, dims, note)).isNull();
    }

    /** The case: another model must not reuse gates distilled for the embedded one. */
    @Test
    void anotherModelOrTrainingTextIsDistilledAgainAndADamagedEntryIsRedone(@TempDir Path home) throws Exception {
        Path other = copyModel(home.resolve("other-model"));
        Files.writeString(other.resolve("config.json"), Files.readString(other.resolve("config.json"))
                .replace("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": 2e-05"));
        String[] common = {"--train-text", TRAIN.toString(), "--eval-text", PROJECT.resolve("corpus/eval-moby.bin").toString(),
                "--context", "128", "--steps", "2", "--seq-len", "128", "--windows", "1", "--runs", "1",
                "--densities", "0.5", "--backend", "cpu", "--no-progress", "--out", home.resolve("out").toString()};
        CheckCommandTest.Run first = DemoCommandTest.runIn(home, concat(new String[] {"demo", "--model", MODEL.toString()}, common));
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out()).contains("distilled now");
        CheckCommandTest.Run again = DemoCommandTest.runIn(home, concat(new String[] {"demo", "--model", MODEL.toString()}, common));
        assertThat(again.out()).contains("distilled earlier, cached in");
        CheckCommandTest.Run otherModel = DemoCommandTest.runIn(home, concat(new String[] {"demo", "--model", other.toString()}, common));
        assertThat(otherModel.exit()).as(otherModel.err()).isZero();
        assertThat(otherModel.out()).contains("distilled now").doesNotContain("distilled earlier");

        // Truncate an entry's history: the next run with its inputs distils again instead of failing.
        Path entry;
        try (var dirs = Files.list(home.resolve("work/gates"))) {
            List<Path> entries = dirs.toList();
            assertThat(entries).hasSize(2);
            entry = entries.getFirst();
        }
        Path history = entry.resolve("history.json");
        Files.writeString(history, Files.readString(history).substring(0, 40));
        CheckCommandTest.Run redo = DemoCommandTest.runIn(home, concat(new String[] {"demo", "--model",
                Files.readString(entry.resolve("inputs.txt")).contains(sha(other)) ? other.toString() : MODEL.toString()},
                common));
        assertThat(redo.exit()).as(redo.err()).isZero();
        assertThat(redo.err()).contains("cannot be used", "distilling again");
        assertThat(redo.out()).contains("distilled now");
        assertThat(GateCache.lossCurve(history)).hasSize(2);
    }

    private static String sha(Path model) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(model.resolve("config.json"))));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
