package org.seerjava.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.io.TensorInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code seer inspect FILE}: the tensors, shapes, dtypes and metadata of a safetensors file. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List the tensors (name, dtype, shape, size) and metadata of a .safetensors file; "
                + "with --stats also min, max, mean and NaN count of floating-point tensors.",
        footer = {"", "Examples:",
                "  seer inspect models/tiny-llama-bytes/model.safetensors",
                "  seer inspect --stats golden-data/golden-small-gqa.safetensors"})
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "The .safetensors file.")
    Path file;

    @Option(names = "--stats", description = "Also print min, max, mean and NaN count of floating-point tensors.")
    boolean stats;

    /** Elements read at a time by --stats: the statistics stream through a tensor of any size. */
    static final int CHUNK = 1 << 16;

    /** Min, max, mean (in double) and NaN count of a floating-point tensor, read in chunks. */
    private static String stats(SafeTensors st, String name, long count, float[] chunk) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        long nan = 0;
        for (long from = 0; from < count; from += chunk.length) {
            int n = (int) Math.min(chunk.length, count - from);
            st.floats(name, from, chunk, 0, n);
            for (int i = 0; i < n; i++) {
                float v = chunk[i];
                if (Float.isNaN(v)) {
                    nan++;
                    continue;
                }
                min = Math.min(min, v);
                max = Math.max(max, v);
                sum += v;
            }
        }
        return String.format(" %12.4g %12.4g %12.4g %6d", min, max, sum / Math.max(1, count - nan), nan);
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (SafeTensors st = SafeTensors.open(file)) {
            out.printf("%s: %d tensors%n", file, st.names().size());
            if (!st.metadata().isEmpty()) {
                out.println("metadata:");
                for (Map.Entry<String, String> e : st.metadata().entrySet()) {
                    out.printf("  %s = %s%n", e.getKey(), e.getValue());
                }
            }
            long total = 0;
            float[] chunk = new float[CHUNK];
            out.printf("%-60s %-5s %-22s %12s%s%n", "tensor", "dtype", "shape", "bytes",
                    stats ? String.format(" %12s %12s %12s %6s", "min", "max", "mean", "NaN") : "");
            for (String name : st.names()) {
                TensorInfo info = st.info(name);
                total += info.byteLength();
                String extra = "";
                if (stats && info.dtype().isFloatingPoint() && info.elementCount() > 0) {
                    extra = stats(st, name, info.elementCount(), chunk);
                }
                out.printf("%-60s %-5s %-22s %12d%s%n", name, info.dtype(), Arrays.toString(info.shape()),
                        info.byteLength(), extra);
            }
            out.printf("total %d bytes of tensor data%n", total);
        }
        return 0;
    }

}
