package org.seerjava.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.seerjava.gate.DistillOptions;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.reference.io.AtomicFiles;
import org.seerjava.reference.io.SafeTensorsException;

/**
 * The demo's cache of distilled gates: one folder per set of inputs under {@code work/gates/}, holding
 * {@code gates.safetensors}, {@code history.json} (the loss curve) and {@code inputs.txt} (what the key covers, for
 * people). The folder's name is a readable prefix and a SHA-256 of everything that changes the gates:
 * <ul>
 *   <li>the model: the bytes of {@code config.json} and of the shard index when there is one, and the name, size and
 *       modification time of every {@code *.safetensors} file (hashing gigabytes of weights on every run would cost
 *       more than the demo; a weights file rewritten in place gets a new time);</li>
 *   <li>the training text: a SHA-256 of its bytes;</li>
 *   <li>every distillation option (gate type, block, hidden size, window, batch, steps, learning rate, warm-up, weight
 *       decay, clipping, seed, replayed windows) and the engine that computes it.</li>
 * </ul>
 * An entry is used only when both its gates and its history read back; otherwise it is distilled again and replaced.
 */
final class GateCache {
    /** Bumped when what the key covers changes. */
    static final String VERSION = "seer demo gate cache 2";

    /** One cache folder. */
    record Entry(Path dir, String description) {
        Path gates() {
            return dir.resolve("gates.safetensors");
        }

        Path history() {
            return dir.resolve("history.json");
        }

        Path inputs() {
            return dir.resolve("inputs.txt");
        }
    }

    /** Gates read from the cache, with their loss curve ({step, loss} pairs). */
    record Cached(GateSet gates, List<double[]> lossCurve) {
    }

    private GateCache() {
    }

    /**
     * The entry of these inputs under {@code root}.
     *
     * @param root      the cache root ({@code work/gates})
     * @param modelDir  the checkpoint directory
     * @param trainText the training text
     * @param o         the distillation options (engine included); paths and progress are not part of the key
     * @return the entry (the folder may not exist)
     * @throws IllegalArgumentException naming the file when the model or the text cannot be read
     */
    static Entry entry(Path root, Path modelDir, Path trainText, DistillOptions o) {
        StringBuilder d = new StringBuilder(VERSION).append('\n');
        d.append("model config.json sha256 ").append(sha256(modelDir.resolve("config.json"))).append('\n');
        Path index = modelDir.resolve("model.safetensors.index.json");
        if (Files.exists(index)) {
            d.append("model index sha256 ").append(sha256(index)).append('\n');
        }
        for (String w : weightFiles(modelDir)) {
            d.append("model weights ").append(w).append('\n');
        }
        d.append("training text sha256 ").append(sha256(trainText)).append('\n');
        d.append(String.format(Locale.ROOT, "gate %s block %d hidden %d%n", o.gateType(), o.blockSize(), o.gateHidden()));
        d.append(String.format(Locale.ROOT, "window %d batch %d steps %d lr %s warmup %d weight decay %s clip %s%n",
                o.seqLen(), o.batch(), o.steps(), Double.toString(o.lr()), o.warmup(), Double.toString(o.weightDecay()),
                Double.toString(o.maxGradNorm())));
        d.append(String.format(Locale.ROOT, "seed %d replayed windows %d checkpoint every %d engine %s%n", o.seed(),
                o.poolWindows(), o.checkpointEvery(), o.engine()));
        String hash = HexFormat.of().formatHex(digest().digest(d.toString().getBytes(StandardCharsets.UTF_8)));
        String name = String.format(Locale.ROOT, "steps%d-seq%d-win%d-seed%d-%s", o.steps(), o.seqLen(),
                o.poolWindows(), o.seed(), hash.substring(0, 16));
        return new Entry(root.resolve(name), d.toString());
    }

    /**
     * The entry's gates and loss curve when both read back, else null with a note on {@code note} saying why the
     * entry is distilled again (a missing entry says nothing).
     */
    static Cached read(Entry e, ModelDims dims, java.io.PrintWriter note) {
        if (!Files.exists(e.gates()) && !Files.exists(e.history())) {
            return null;
        }
        try {
            GateSet gates = GateSet.load(e.gates(), dims);
            return new Cached(gates, lossCurve(e.history()));
        } catch (SafeTensorsException | IllegalArgumentException | UncheckedIOException ex) {
            note.println("note: the cached gates in " + e.dir() + " cannot be used (" + ex.getMessage()
                    + "); distilling again");
            note.flush();
            return null;
        }
    }

    /** Writes the description of the inputs beside the gates (for people; not read back). */
    static void describe(Entry e) {
        AtomicFiles.writeString(e.inputs(), e.description());
    }

    /**
     * The loss curve of a {@code history.json}: {step + 1, loss} per logged step.
     *
     * @throws IllegalArgumentException naming the file when it is missing, not JSON or not a loss history
     */
    static List<double[]> lossCurve(Path history) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(org.seerjava.reference.io.SmallFiles.read(history, 64L << 20,
                    "the loss history"));
        } catch (IOException ex) {
            throw new IllegalArgumentException(history + ": the loss history is not valid JSON: " + ex.getMessage(), ex);
        }
        JsonNode steps = root == null ? null : root.get("history");
        if (steps == null || !steps.isArray() || steps.isEmpty()) {
            throw new IllegalArgumentException(history + ": expected a non-empty 'history' list of steps");
        }
        List<double[]> curve = new ArrayList<>();
        for (JsonNode node : steps) {
            JsonNode step = node.get("step");
            JsonNode loss = node.get("loss");
            if (step == null || loss == null || !step.isNumber() || !loss.isNumber()) {
                throw new IllegalArgumentException(history + ": a history entry lacks a numeric 'step' or 'loss': "
                        + node);
            }
            curve.add(new double[] {step.asDouble() + 1, loss.asDouble()});
        }
        return curve;
    }

    private static List<String> weightFiles(Path modelDir) {
        try (Stream<Path> files = Files.list(modelDir)) {
            List<String> list = new ArrayList<>();
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList()) {
                list.add(f.getFileName() + " " + Files.size(f) + " bytes, modified "
                        + Files.getLastModifiedTime(f).toMillis());
            }
            return list;
        } catch (IOException ex) {
            throw new IllegalArgumentException(modelDir + ": cannot list the model's weights: "
                    + AtomicFiles.reason(ex), ex);
        }
    }

    private static String sha256(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": " + (Files.exists(file) ? "not a regular file" : "does not exist"));
        }
        MessageDigest md = digest();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException ex) {
            throw new IllegalArgumentException(file + ": cannot read: " + AtomicFiles.reason(ex), ex);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-256 is part of every JDK", ex);
        }
    }
}
