package org.seerjava.gpu.llm;

/** RoPE inverse frequencies as transformers computes them in float32 (default type), for tests and benchmarks. */
final class LlamaRope {
    private LlamaRope() {
    }

    static float[] defaultInverseFrequencies(double theta, int dim) {
        float[] inv = new float[dim / 2];
        for (int k = 0; k < inv.length; k++) {
            float exponent = (float) (2 * k) / (float) dim;
            inv[k] = 1.0f / (float) Math.pow((float) theta, exponent);
        }
        return inv;
    }
}
