package org.seerjava.gpu.graph;

/** Element types of device tensors. */
public enum DType {
    F32(4), BF16(2), U8(1), F64(8), I32(4), U64(8);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
