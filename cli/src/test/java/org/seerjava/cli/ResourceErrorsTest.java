package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Inputs that used to exhaust memory or overflow sizes, through the seer command: each ends in a one-line error
 * (exit 3) naming the file or tensor, quickly, or in the answer computed without the large allocation.
 */
class ResourceErrorsTest {
    /** Runs the seer command in a child JVM with a small heap; returns exit code and output. */
    static CheckCommandTest.Run child(String maxHeap, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + maxHeap, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dseer.home=..", "-cp", System.getProperty("java.class.path"), Seer.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new CheckCommandTest.Run(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void inspectStatsStreamsThroughATensorFourTimesTheHeap(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("big.safetensors");
        long n = 100_000_000L;                         // 200 MB of BF16 zeros (a hole), 400 MB as float32
        byte[] header = ("{\"big\":{\"dtype\":\"BF16\",\"shape\":[10000,10000],\"data_offsets\":[0," + 2 * n + "]}}")
                .getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            f.write(header);
            f.setLength(8 + header.length + 2 * n);
        }
        CheckCommandTest.Run r = child("100m", "inspect", "--stats", file.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("big\\s+BF16\\s+\\[10000, 10000\\]\\s+200000000\\s+0\\.000\\s+0\\.000\\s+0\\.000\\s+0");
        assertThat(r.err()).doesNotContain("OutOfMemoryError");
    }

    @Command(name = "boom")
    static final class Boom implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new OutOfMemoryError("Java heap space");
        }
    }

    @Test
    void anOutOfMemoryErrorEscapingACommandIsAOneLineError() {
        for (boolean verbose : new boolean[] {false, true}) {
            CommandLine cl = Seer.commandLine();
            cl.addSubcommand("boom", new Boom());
            StringWriter err = new StringWriter();
            cl.setErr(new PrintWriter(err, true));
            int exit = Seer.run(cl, verbose ? new String[] {"boom", "--verbose"} : new String[] {"boom"});
            assertThat(exit).isEqualTo(Seer.ERROR);
            assertThat(err.toString()).startsWith("error: out of memory (Java heap space; the Java heap may grow to ")
                    .contains("SEER_JAVA_OPTS=-Xmx");
            if (verbose) {
                assertThat(err.toString()).contains("\tat ");
            } else {
                assertThat(err.toString()).doesNotContain("\tat ").hasLineCount(1);
            }
        }
    }

    private static Path copyModel(Path dir) throws Exception {
        return GateCacheTest.copyModel(dir.resolve("model"));
    }

    @Test
    void aConfigClaimingTwoBillionLayersIsRefusedByTensorName(@TempDir Path dir) throws Exception {
        Path model = copyModel(dir);
        Path config = model.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"num_hidden_layers\": 4", "\"num_hidden_layers\": 2147483647"));
        CheckCommandTest.Run r = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> CheckCommandTest.run("generate", "--model", model.toString(), "--prompt", "Call me", "--backend", "cpu"));
        assertThat(r.exit()).as(r.err()).isEqualTo(Seer.ERROR);
        assertThat(r.err()).contains("tensor model.layers.2147483646.input_layernorm.weight is missing",
                "num_hidden_layers = 2147483647").doesNotContain("\tat ", "OutOfMemoryError");
        CheckCommandTest.Run demo = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> CheckCommandTest.run("demo",
                "--model", model.toString(), "--gates", "../models/tiny-llama-bytes/reference-gates/attn_gate_weights.safetensors",
                "--context", "128", "--out", dir.resolve("out").toString()));
        assertThat(demo.exit()).as(demo.err()).isEqualTo(Seer.ERROR);
        assertThat(demo.err()).contains("tensor model.layers.2147483646.input_layernorm.weight is missing");
    }

    @Test
    void aConfigThatIsAnEndlessFileIsRefusedAtOnce(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero")), "no /dev/zero");
        Path model = copyModel(dir);
        Files.delete(model.resolve("config.json"));
        Files.createSymbolicLink(model.resolve("config.json"), Path.of("/dev/zero"));
        CheckCommandTest.Run r = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> CheckCommandTest.run("generate", "--model", model.toString(), "--prompt", "Call me"));
        assertThat(r.exit()).isEqualTo(Seer.ERROR);
        assertThat(r.err()).contains(model.resolve("config.json").toString(), "the model config is not a regular file");
    }

    @Test
    void aGateTensorWithAHugeLayerIndexIsNamedWithItsFile(@TempDir Path dir) throws Exception {
        Path gates = dir.resolve("gates.safetensors");
        org.seerjava.reference.io.SafeTensorsWriter w = new org.seerjava.reference.io.SafeTensorsWriter();
        w.add("model.layers.99999999999999.self_attn.attn_gate.mask_linear_k.weight",
                org.seerjava.reference.io.DType.F32, new long[] {1}, new float[1]);
        w.write(gates);
        CheckCommandTest.Run r = CheckCommandTest.run("demo", "--gates", gates.toString(), "--context", "128",
                "--out", dir.resolve("out").toString());
        assertThat(r.exit()).isEqualTo(Seer.ERROR);
        assertThat(r.err()).contains(gates.toString(), "gate for layer 99999999999999, but the model has 4 layers")
                .doesNotContain("NumberFormatException");
    }
}
