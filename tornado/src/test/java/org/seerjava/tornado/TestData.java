package org.seerjava.tornado;

import java.util.Random;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.engine.Floats;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/** Random inputs and comparisons for the kernel tests. */
final class TestData {
    private TestData() {
    }

    static float[] gaussian(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }

    static FloatArray buffer(float[] x) {
        FloatArray a = new FloatArray(x.length);
        Buffers.copyIn(x, a, "test input");
        return a;
    }

    /** A buffer filled with NaN, so that an element the kernel does not write shows in the comparison. */
    static FloatArray poisoned(int n) {
        FloatArray a = new FloatArray(n);
        a.init(Float.NaN);
        return a;
    }

    static ByteArray bytes(byte[] x) {
        ByteArray a = new ByteArray(x.length);
        Buffers.copyIn(x, a, "test mask");
        return a;
    }

    /** A random causal mask keeping each block j ≤ i with probability p; some rows may end up empty. */
    static BlockMask randomMask(Random random, int batch, int heads, int nb, double p) {
        byte[] bits = new byte[batch * heads * nb * nb];
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int i = 0; i < nb; i++) {
                for (int j = 0; j <= i; j++) {
                    bits[(bh * nb + i) * nb + j] = (byte) (random.nextDouble() < p ? 1 : 0);
                }
            }
        }
        return BlockMask.of(batch, heads, nb, bits);
    }

    /** ‖ours − reference‖ / ‖reference‖ (NaN when ours holds a NaN). */
    static double relativeError(float[] ours, double[] reference) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < ours.length; i++) {
            double d = ours[i] - reference[i];
            diff += d * d;
            norm += reference[i] * reference[i];
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }

    static double relativeError(FloatArray ours, double[] reference) {
        return relativeError(Buffers.toFloats(ours), reference);
    }

    static double[] toDouble(float[] x) {
        return Floats.toDouble(x);
    }
}
