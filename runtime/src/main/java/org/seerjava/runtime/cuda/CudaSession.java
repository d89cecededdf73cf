package org.seerjava.runtime.cuda;

import org.seerjava.gpu.llm.Decoder;
import org.seerjava.gpu.llm.DecoderAttention;
import org.seerjava.runtime.DecodeAttention;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.Sampler;
import org.seerjava.runtime.Session;

/**
 * A sequence on the GPU: a {@link Decoder} with its KV cache. The first prefill uses the session's attention (dense
 * or SeerAttention over the whole prompt); a continuation attends densely to the cache; decode steps attend densely,
 * or with SeerAttention-R when the session's decode attention is sparse (the decoder's K-compression caches). Greedy
 * sampling runs on the device (the argmax of the logits, which stay there until {@link #logits()} asks).
 */
final class CudaSession implements Session {
    private final CudaModelRuntime runtime;
    private final Decoder decoder;
    private final PrefillAttention attention;
    private final DecoderAttention prefill;
    private final DecodeAttention decode;
    private boolean closed;

    CudaSession(CudaModelRuntime runtime, Decoder decoder, PrefillAttention attention, DecoderAttention prefill,
                DecodeAttention decode) {
        this.runtime = runtime;
        this.decoder = decoder;
        this.attention = attention;
        this.prefill = prefill;
        this.decode = decode;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
    }

    @Override
    public ModelRuntime runtime() {
        return runtime;
    }

    @Override
    public int capacity() {
        return decoder.capacity();
    }

    @Override
    public int length() {
        return decoder.position();
    }

    @Override
    public PrefillAttention attention() {
        return attention;
    }

    @Override
    public DecodeAttention decodeAttention() {
        return decode;
    }

    @Override
    public double decodeDensity() {
        ensureOpen();
        return decoder.decodeDensity();
    }

    @Override
    public float[] prefill(int[] tokens) {
        ensureOpen();
        return decoder.prefill(tokens, decoder.position() == 0 ? prefill : DecoderAttention.dense());
    }

    @Override
    public float[] decode(int token) {
        ensureOpen();
        return decoder.decode(token);
    }

    @Override
    public int decode(int token, Sampler sampler) {
        ensureOpen();
        return sampler.isGreedy() ? decoder.decodeGreedy(token) : sampler.sample(decoder.decode(token));
    }

    @Override
    public float[] logits() {
        ensureOpen();
        if (decoder.position() == 0) {
            throw new IllegalStateException("no token was appended yet");
        }
        return decoder.lastLogits();
    }

    @Override
    public double prefillDensity() {
        return decoder.prefillDensity();
    }

    @Override
    public void reset() {
        ensureOpen();
        decoder.reset();
    }

    long residentBytes() {
        return Decoder.residentBytes(decoder.shape(), decoder.capacity(),
                org.seerjava.gpu.llm.ModelKernels.decodeSplits(1, decoder.shape().kvHeads(), decoder.capacity()))
                + decoder.sparseDecodeBytes();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            decoder.close();
            runtime.closed(this);
        }
    }
}
