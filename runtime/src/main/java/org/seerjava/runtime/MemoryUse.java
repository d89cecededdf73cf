package org.seerjava.runtime;

/**
 * Memory a {@link ModelRuntime} holds.
 *
 * @param where          where the weights and caches live: {@code device} (GPU memory) or {@code native}
 *                       (off-heap host memory and memory-mapped files)
 * @param weightBytes    the weights as held
 * @param kvCacheBytes   the KV caches of the open sessions
 * @param workspaceBytes activations, scratch and other buffers held between calls
 * @param peakBytes      the most memory in use at once so far (GPU: measured on the device; CPU: weights + caches
 *                       + the largest workspace), or −1 when not measured
 * @param heapUsedBytes  the Java heap in use when this was taken
 */
public record MemoryUse(String where, long weightBytes, long kvCacheBytes, long workspaceBytes, long peakBytes,
                        long heapUsedBytes) {

    /**
     * The Java heap in use now.
     *
     * @return total minus free heap bytes
     */
    public static long heapUsedNow() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }

    /**
     * One line for reports, in GiB.
     *
     * @return e.g. {@code weights 2.30 GiB, KV cache 0.03 GiB, …}
     */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(java.util.Locale.ROOT, "weights %.2f GiB, KV cache %.3f GiB, workspace %.3f GiB (%s)",
                gib(weightBytes), gib(kvCacheBytes), gib(workspaceBytes), where));
        if (peakBytes >= 0) {
            sb.append(String.format(java.util.Locale.ROOT, ", peak %.2f GiB", gib(peakBytes)));
        }
        sb.append(String.format(java.util.Locale.ROOT, ", Java heap %.0f MiB", heapUsedBytes / (double) (1 << 20)));
        return sb.toString();
    }

    private static double gib(long bytes) {
        return bytes / (double) (1L << 30);
    }
}
