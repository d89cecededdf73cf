package org.seerjava.tests.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.gate.GateParameters;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.io.SafeTensorsException;

/**
 * The gate loader under mutated gate files and random metadata. Documented outcomes: gates whose every weight is
 * finite and shaped for the model, or a {@link SafeTensorsException} naming the file. Never an
 * {@link OutOfMemoryError}, another type, a hang, or a file left behind.
 */
class GateFuzzTest {
    static final ModelDims MODEL = new ModelDims(2, 4, 2, 16, RopeConfig.of(10000, 16));

    static final String[] META_VALUES = {"Qavg_Kmaxminavg", "Qavg_Kmaxmin", "Qavg_Kmax", "Qmax_Kavg", "", "x",
            "0", "-1", "1", "16", "32", "64", "65", "2147483647", "99999999999", "1e3", "true", "false", "NaN"};

    @Test
    void mutatedGateFiles(@TempDir Path dir) throws Exception {
        Path seedFile = Files.createDirectory(dir.resolve("seed")).resolve("gates.safetensors");
        GateSet.init(MODEL.spec(GateType.DEFAULT, 64, 16), 1).save(seedFile, Map.of("distill_steps", "3"));
        byte[] seed = Files.readAllBytes(seedFile);
        Path gateSeed = dir.resolve("seed/gates-q.safetensors");
        GateSet.init(MODEL.spec(GateType.parse("Qavg_Kmaxmin"), 64, 8), 2).save(gateSeed);
        byte[] seedQ = Files.readAllBytes(gateSeed);
        java.util.SplittableRandom setup = new java.util.SplittableRandom(Fuzz.SEED);
        java.util.List<byte[]> withMeta = new java.util.ArrayList<>();
        for (int v = 0; v < 40; v++) {                          // well-formed files, random metadata
            Map<String, String> meta = new LinkedHashMap<>();
            for (String key : new String[] {"gate_type", "gate_hidden", "block_size", "force_double"}) {
                if (setup.nextBoolean()) {
                    meta.put(key, META_VALUES[setup.nextInt(META_VALUES.length)]);
                }
            }
            Path f = dir.resolve("seed/meta" + v + ".safetensors");
            GateSet.init(MODEL.spec(GateType.DEFAULT, 64, 16), v).save(f, meta);
            withMeta.add(Files.readAllBytes(f));
        }
        Path file = dir.resolve("case.safetensors");
        int[] loaded = new int[1];
        Fuzz.run("gate-load", 1500, Duration.ofSeconds(60), dir, (random, i) -> {
            byte[] input = switch (random.nextInt(3)) {
                case 0 -> withMeta.get(random.nextInt(withMeta.size()));
                case 1 -> new Mutator(random).bytes(seed);
                default -> new Mutator(random).bytes(seedQ);
            };
            Files.write(file, input);
            try {
                GateSet g = GateSet.load(file, MODEL);
                loaded[0]++;
                assertThat(g.size()).isEqualTo(MODEL.layers());
                for (GateParameters p : g.layers()) {
                    for (double w : p.wk()) {
                        assertThat(Double.isFinite(w)).isTrue();
                    }
                }
            } catch (SafeTensorsException e) {
                Fuzz.documented(e, file.getFileName().toString(), SafeTensorsException.class);
            } catch (AssertionError e) {
                Fuzz.keep("gate-load", i, input);
                throw e;
            } finally {
                Files.delete(file);
            }
        });
        assertThat(loaded[0]).as("gate files loaded").isGreaterThan(150);
    }
}
