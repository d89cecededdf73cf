package org.seerjava.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.seerjava.runtime.ModelShape;
import org.seerjava.runtime.RandomWeights;

/**
 * A model of the llama-3.2-1b shape (1.24 B parameters, 2.47 GB of random bf16 weights, written once to a
 * safetensors file under {@code target/}) opens and generates in a child JVM with {@code -Xmx1g}: the weights are
 * never copied to the heap. The child prints decode tokens/s beside the bound from a bandwidth probe of the same run.
 * Set {@code -Dseer.skip1b=true} to skip it on a machine without 3 GB of disk or memory to spare.
 */
class CpuOneBillionTest {

    @Test
    void oneBillionShapeGeneratesWithAOneGigabyteHeap() throws Exception {
        if (Boolean.getBoolean("seer.skip1b")) {
            System.out.println("skipped: -Dseer.skip1b=true");
            return;
        }
        Path dir = Path.of("target/random-llama-3.2-1b");
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            long t0 = System.nanoTime();
            RandomWeights.writeCheckpoint(ModelShape.named("llama-3.2-1b"), 1, dir);
            System.out.printf("wrote %s in %.1f s%n", dir, (System.nanoTime() - t0) / 1e9);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-Xmx1g", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                OneBillionMain.class.getName(), dir.toString(), "6"))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "child finished");
        System.out.println(out);
        assertEquals(0, p.exitValue(), "child JVM with -Xmx1g failed:\n" + out);
        assertTrue(out.contains("6 tokens generated"), out);
        assertTrue(out.contains("max heap 1073741824"), "ran with a 1 GiB heap:\n" + out);
    }
}
