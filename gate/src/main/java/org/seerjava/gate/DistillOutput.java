package org.seerjava.gate;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.seerjava.reference.io.AtomicFiles;

/**
 * What a distillation run writes into {@link DistillOptions#outputDir()} (nothing when it is null):
 * {@code checkpoint-step{N}.safetensors} every {@link DistillOptions#checkpointEvery()} steps before the last, then
 * {@code gates.safetensors} and {@code history.json}. Every gate file carries the run's metadata (the options that
 * shape the result and the trainer's name) and how many steps the gates had, the final one also the run's seconds.
 * The CPU trainer ({@link Distill}) and the GPU one (the runtime's {@code CudaDistill}) write through this class, so
 * their files are the same but for the trainer's name.
 */
public final class DistillOutput {
    private final DistillOptions options;
    private final Map<String, Object> runMetadata;
    private final Map<String, String> gateMetadata;

    /**
     * @param options the run's options (output directory, checkpoint interval, the metadata's values)
     * @param trainer the trainer's name, stored as metadata {@code trainer}
     */
    public DistillOutput(DistillOptions options, String trainer) {
        this.options = options;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq_len", options.seqLen());
        m.put("batch", options.batch());
        m.put("lr", options.lr());
        m.put("warmup", options.warmup());
        m.put("weight_decay", options.weightDecay());
        m.put("seed", options.seed());
        m.put("pool_windows", options.poolWindows());
        m.put("corpus", options.corpus().getFileName().toString());
        m.put("trainer", trainer);
        this.runMetadata = m;
        this.gateMetadata = DistillationTrainer.metadata(m);
    }

    /** Writes {@code checkpoint-step{stepsDone}.safetensors} when a checkpoint is due after that many steps. */
    public void afterStep(GateSet gates, int stepsDone) {
        if (options.outputDir() != null && options.checkpointEvery() > 0 && stepsDone % options.checkpointEvery() == 0
                && stepsDone < options.steps()) {
            Map<String, String> m = new LinkedHashMap<>(gateMetadata);
            m.put("distill_steps", Integer.toString(stepsDone));
            gates.save(directory().resolve("checkpoint-step" + stepsDone + ".safetensors"), m);
        }
    }

    /**
     * Writes the final {@code gates.safetensors} and {@code history.json} (the options, steps, seconds and the
     * history).
     *
     * @return the gate file, or null without an output directory
     */
    public Path finish(GateSet gates, List<DistillationTrainer.StepLog> history, double seconds) {
        if (options.outputDir() == null) {
            return null;
        }
        Map<String, String> m = new LinkedHashMap<>(gateMetadata);
        m.put("distill_steps", Integer.toString(options.steps()));
        m.put("distill_seconds", String.format(Locale.ROOT, "%.1f", seconds));
        Path gateFile = directory().resolve("gates.safetensors");
        gates.save(gateFile, m);
        Path historyFile = directory().resolve("history.json");
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("options", runMetadata);
        root.put("steps", options.steps());
        root.put("seconds", seconds);
        root.put("history", history);
        JsonMapper mapper = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
        AtomicFiles.write(historyFile, (java.io.OutputStream out) -> mapper.writeValue(out, root));
        return gateFile;
    }

    private Path directory() {
        try {
            return Files.createDirectories(options.outputDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create output directory " + options.outputDir(), e);
        }
    }
}
