package org.seerjava.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.seerjava.gate.DecodeGateSet;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.LlamaModel;
import org.seerjava.runtime.DecodeAttention;
import org.seerjava.runtime.GenerationOptions;
import org.seerjava.runtime.GenerationResult;
import org.seerjava.runtime.Generator;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Sampler;
import org.seerjava.runtime.Session;
import org.seerjava.runtime.cpu.MemoryBandwidth;
import org.seerjava.tokenizer.StreamDecoder;
import org.seerjava.tokenizer.Tokenizer;
import org.seerjava.tokenizer.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code seer generate}: text generation with a KV cache, prefill dense or with SeerAttention, decoding dense or with
 * SeerAttention-R.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate text from a prompt: the prompt is prefilled in one pass (dense attention, or "
                + "SeerAttention with --gates), then tokens are decoded one at a time from a KV cache (dense, or "
                + "SeerAttention-R with --decode-gates: each token attends to the blocks its decode gate selects) and "
                + "streamed to standard output. Prefill time, decode speed and memory follow on standard error. Text is tokenized "
                + "with the checkpoint's tokenizer.json (the byte tokenizer for a 256-token vocabulary); generation "
                + "stops at the tokenizer's end-of-sequence ids."},
        footer = {"", "Examples:",
                "  seer generate --prompt \"Call me Ishmael.\" --max-new-tokens 64",
                "  seer generate --prompt-file chapter.txt --max-new-tokens 200 \\",
                "      --gates work/distill/gates.safetensors --density 0.2",
                "  seer generate --prompt \"The whale\" --temperature 0.8 --top-p 0.95 --seed 7",
                "  seer generate --prompt-file chapter.txt --max-new-tokens 500 \\",
                "      --decode-gates work/distill-decode/decode-gates.safetensors \\",
                "      --token-budget 1024",
                "  seer generate --model DIR --prompt \"Hello\" --backend cuda",
                "  seer generate --backend cuda --prompt-file chapter.txt \\",
                "      --decode-gates work/distill-decode/decode-gates.safetensors \\",
                "      --token-budget 2048"})
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model folder (default: models/tiny-llama-bytes).")
    Path model;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt.")
    String prompt;

    @Option(names = "--prompt-file", paramLabel = "FILE", description = "Read the prompt from a UTF-8 file.")
    Path promptFile;

    @Option(names = "--max-new-tokens", defaultValue = "64", paramLabel = "N",
            description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--gates", paramLabel = "FILE", description = "Gates (safetensors, official naming): prefill with SeerAttention.")
    Path gates;

    @Option(names = "--density", paramLabel = "ρ", description = "SeerAttention: keep the top-k key blocks per row for this density, in (0, 1].")
    Double density;

    @Option(names = "--threshold", paramLabel = "τ", description = "SeerAttention: keep the key blocks whose gate probability exceeds τ.")
    Double threshold;

    @Option(names = "--decode-gates", paramLabel = "FILE",
            description = "Decode gates (safetensors, official naming, e.g. from seer distill-decode): decode with "
                    + "SeerAttention-R (cpu and cuda backends).")
    Path decodeGates;

    @Option(names = "--token-budget", paramLabel = "B",
            description = "SeerAttention-R: attend to the B / block-size blocks the decode gate scores highest, plus "
                    + "the first and the current block.")
    Integer tokenBudget;

    @Option(names = "--decode-threshold", paramLabel = "τ",
            description = "SeerAttention-R: attend to the blocks whose decode-gate probability exceeds τ.")
    Double decodeThreshold;

    @Option(names = "--backend", defaultValue = "${sys:seer.backend:-auto}",
            description = "cpu, cuda or auto (default: -Dseer.backend, else auto).")
    String backend;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
            description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1", paramLabel = "P", description = "Nucleus mass (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--allow-long-context",
            description = "Allow prompt + new tokens beyond the model's max_position_embeddings (a warning is printed).")
    boolean allowLong;

    @Option(names = "--bandwidth-bound",
            description = "CPU: also measure memory bandwidth and print the decode speed it bounds.")
    boolean bound;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if ((prompt == null) == (promptFile == null)) {
            throw usage("give exactly one of --prompt and --prompt-file");
        }
        if (maxNewTokens < 1) {
            throw usage("--max-new-tokens must be ≥ 1, got " + maxNewTokens);
        }
        if (density != null && threshold != null) {
            throw usage("--density and --threshold are alternatives: give one");
        }
        if (gates == null && (density != null || threshold != null)) {
            throw usage("--density and --threshold select blocks with gates: give --gates FILE too");
        }
        if (gates != null && density == null && threshold == null) {
            throw usage("--gates needs --density ρ or --threshold τ");
        }
        if (tokenBudget != null && decodeThreshold != null) {
            throw usage("--token-budget and --decode-threshold are alternatives: give one");
        }
        if (decodeGates == null && (tokenBudget != null || decodeThreshold != null)) {
            throw usage("--token-budget and --decode-threshold select blocks with decode gates: give --decode-gates "
                    + "FILE too");
        }
        if (decodeGates != null && tokenBudget == null && decodeThreshold == null) {
            throw usage("--decode-gates needs --token-budget B or --decode-threshold τ");
        }
        if (tokenBudget != null && tokenBudget < 1) {
            throw usage("--token-budget must be ≥ 1, got " + tokenBudget);
        }
        if (decodeThreshold != null && !(decodeThreshold >= 0 && decodeThreshold <= 1)) {
            throw usage("--decode-threshold must be in [0, 1], got " + decodeThreshold);
        }
        Sampler sampler;
        try {
            sampler = Sampler.of(temperature, topP, seed);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        String text = prompt != null ? prompt : Files.readString(promptFile, StandardCharsets.UTF_8);
        if (text.isEmpty()) {
            throw usage("the prompt is empty");
        }
        Path dir = Seer.orDefault(model, "models/tiny-llama-bytes");
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model directory " + dir + " does not exist");
        }
        LlamaConfig config = LlamaConfig.load(dir.resolve(LlamaModel.CONFIG));
        Tokenizer tokenizer = Tokenizers.forCheckpoint(dir, config.vocabSize());
        int[] ids = tokenizer.encode(text, true);
        if (ids.length == 0) {
            throw usage("the prompt encodes to no tokens");
        }
        Set<Integer> stop = new HashSet<>();
        for (int id : tokenizer.eosIds()) {
            stop.add(id);
        }
        PrefillAttention attention = PrefillAttention.dense();
        if (gates != null) {
            GateSet g = GateSet.load(gates, ModelDims.of(config));
            attention = density != null ? PrefillAttention.topK(g, density) : PrefillAttention.threshold(g, threshold);
        }
        DecodeAttention decode = DecodeAttention.dense();
        if (decodeGates != null) {
            DecodeGateSet g = DecodeGateSet.load(decodeGates, ModelDims.of(config));
            decode = tokenBudget != null ? DecodeAttention.tokenBudget(g, tokenBudget)
                    : DecodeAttention.threshold(g, decodeThreshold);
        }
        RuntimeOptions options = RuntimeOptions.defaults().backend(backend).allowBeyondMaxPositions(allowLong);
        try (ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(dir), options);
             Session session = rt.newSession(Generator.capacityFor(ids.length, maxNewTokens), attention, decode)) {
            StreamDecoder stream = tokenizer.streamDecoder(true);
            GenerationResult r = Generator.generate(session, ids, new GenerationOptions(maxNewTokens, sampler, stop),
                    token -> {
                        out.print(stream.step(token));
                        out.flush();
                        return true;
                    });
            out.println(stream.flush());
            out.flush();
            err.printf(Locale.ROOT, "model: %s on %s (%s)%n", config.architecture(), rt.backend(), rt.description());
            err.printf(Locale.ROOT, "tokenizer: %s%n", tokenizer.description());
            err.printf(Locale.ROOT, "prefill: %d tokens in %.3f s (%.0f tokens/s), attention %s, density %.3f%n",
                    ids.length, r.prefillNanos() / 1e9, r.prefillTokensPerSecond(), attention,
                    session.prefillDensity());
            err.printf(Locale.ROOT, "decode: %d tokens in %.3f s = %.2f tokens/s (%s, stopped: %s)%n", r.decodeSteps(),
                    r.decodeNanos() / 1e9, r.decodeTokensPerSecond(), sampler,
                    r.stopReason().name().toLowerCase(Locale.ROOT).replace('_', ' '));
            if (decodeGates != null) {
                err.printf(Locale.ROOT, "decode attention: %s, %.3f of the cached blocks attended%n", decode,
                        session.decodeDensity());
            }
            if (bound && rt.backend().equals("cpu")) {
                double bw = MemoryBandwidth.readBytesPerSecond(1L << 30, 5);
                double b = bw / rt.weightBytesPerToken();
                err.printf(Locale.ROOT, "bound: %d weight bytes per token ÷ %.2f GB/s read bandwidth = %.2f tokens/s; "
                        + "decode reached %.2f of it%n", rt.weightBytesPerToken(), bw / 1e9, b,
                        r.decodeTokensPerSecond() / b);
            }
            err.println("memory: " + r.memory().summary());
            err.flush();
        }
        return 0;
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
