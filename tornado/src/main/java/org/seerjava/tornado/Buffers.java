package org.seerjava.tornado;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/** Copies between Java arrays and TornadoVM's off-heap arrays. */
public final class Buffers {
    private Buffers() {
    }

    /** {@code dst[0, src.length) = src}; the sizes must match. */
    public static void copyIn(float[] src, FloatArray dst, String what) {
        requireSize(what, src.length, dst.getSize());
        MemorySegment.copy(src, 0, dst.getSegment(), ValueLayout.JAVA_FLOAT, 0, src.length);
    }

    /** {@code dst = src}; the sizes must match. */
    public static void copyIn(byte[] src, ByteArray dst, String what) {
        requireSize(what, src.length, dst.getSize());
        MemorySegment.copy(src, 0, dst.getSegment(), ValueLayout.JAVA_BYTE, 0, src.length);
    }

    /** {@code dst = src}; the sizes must match. */
    public static void copyOut(FloatArray src, float[] dst, String what) {
        requireSize(what, dst.length, src.getSize());
        MemorySegment.copy(src.getSegment(), ValueLayout.JAVA_FLOAT, 0, dst, 0, dst.length);
    }

    /** A heap copy of a byte buffer. */
    public static byte[] toBytes(ByteArray src) {
        return src.getSegment().toArray(ValueLayout.JAVA_BYTE);
    }

    /** A heap copy of a float buffer. */
    public static float[] toFloats(FloatArray src) {
        return src.getSegment().toArray(ValueLayout.JAVA_FLOAT);
    }

    private static void requireSize(String what, int array, int buffer) {
        if (array != buffer) {
            throw new IllegalArgumentException(what + " has " + array + " elements, the task graph's buffer "
                    + buffer);
        }
    }
}
