package org.seerjava.reference.io;

/**
 * Conversions between {@code float} and bfloat16 (the upper 16 bits of an IEEE binary32), held in
 * a {@code short}.
 */
public final class BFloat16 {
    private BFloat16() {
    }

    /**
     * Widens a bfloat16 to float. Exact: every bfloat16 value is a float.
     *
     * @param bits the bfloat16 bit pattern
     * @return the float with those upper 16 bits and zero lower bits
     */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * Narrows a float to bfloat16 rounding to nearest, ties to even (as PyTorch does). Values that
     * round past the largest finite bfloat16 become infinity of the same sign; a NaN stays a NaN
     * (sign and upper payload bits kept, quiet bit set so that the payload cannot vanish).
     *
     * @param value the float
     * @return the bfloat16 bit pattern
     */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /**
     * Rounds a float to the nearest bfloat16 value and returns it as a float; handy to emulate
     * bfloat16 storage in float arithmetic.
     *
     * @param value the float
     * @return {@code bf16ToFloat(floatToBf16(value))}
     */
    public static float round(float value) {
        return bf16ToFloat(floatToBf16(value));
    }
}
