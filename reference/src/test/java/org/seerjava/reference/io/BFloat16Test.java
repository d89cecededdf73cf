package org.seerjava.reference.io;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BFloat16Test {

    private static short bf(float f) {
        return BFloat16.floatToBf16(f);
    }

    private static float fromBits(int bits) {
        return Float.intBitsToFloat(bits);
    }

    @Test
    void exactValuesConvertBothWays() {
        assertThat(bf(1.0f)).isEqualTo((short) 0x3F80);
        assertThat(bf(-2.0f)).isEqualTo((short) 0xC000);
        assertThat(bf(0.0f)).isEqualTo((short) 0x0000);
        assertThat(bf(-0.0f)).isEqualTo((short) 0x8000);
        assertThat(bf(3.140625f)).isEqualTo((short) 0x4049);
        assertThat(BFloat16.bf16ToFloat((short) 0x3F80)).isEqualTo(1.0f);
        assertThat(BFloat16.bf16ToFloat((short) 0xC049)).isEqualTo(-3.140625f);
        assertThat(BFloat16.bf16ToFloat((short) 0x0001)).isEqualTo((float) Math.scalb(1.0, -133));
        assertThat(BFloat16.bf16ToFloat((short) 0x7F7F)).isEqualTo(fromBits(0x7F7F0000));
    }

    @Test
    void roundsToNearestEven() {
        assertThat(bf((float) Math.PI)).isEqualTo((short) 0x4049); // 0x40490FDB, low half < 0x8000
        assertThat(bf(fromBits(0x3F808000))).isEqualTo((short) 0x3F80); // tie, even stays
        assertThat(bf(fromBits(0x3F818000))).isEqualTo((short) 0x3F82); // tie, odd rounds up
        assertThat(bf(fromBits(0x3F808001))).isEqualTo((short) 0x3F81); // just above tie
        assertThat(bf(fromBits(0x3F807FFF))).isEqualTo((short) 0x3F80); // just below tie
        assertThat(bf(fromBits(0xBF818000))).isEqualTo((short) 0xBF82); // negative tie, odd
        assertThat(BFloat16.round(1.00390625f)).isEqualTo(1.0f);
    }

    @Test
    void overflowInfinityAndNaN() {
        assertThat(bf(Float.MAX_VALUE)).isEqualTo((short) 0x7F80); // rounds to +inf
        assertThat(bf(Float.POSITIVE_INFINITY)).isEqualTo((short) 0x7F80);
        assertThat(bf(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xFF80);
        assertThat(bf(Float.NaN)).isEqualTo((short) 0x7FC0);
        // a NaN whose payload sits only in the low 16 bits must not turn into infinity
        assertThat(BFloat16.bf16ToFloat(bf(fromBits(0x7F800001)))).isNaN();
        assertThat(BFloat16.bf16ToFloat(bf(fromBits(0xFF800001)))).isNaN();
        assertThat(bf(fromBits(0xFF800001)) & 0x8000).isEqualTo(0x8000); // sign kept
    }

    @Test
    void everyBf16RoundTripsThroughFloat() {
        for (int b = 0; b < 0x10000; b++) {
            float f = BFloat16.bf16ToFloat((short) b);
            if (Float.isNaN(f)) {
                assertThat(BFloat16.bf16ToFloat(bf(f))).isNaN();
            } else {
                assertThat(bf(f)).isEqualTo((short) b);
            }
        }
    }

    @Test
    void float16KnownValues() {
        assertThat(Float.float16ToFloat((short) 0x3C00)).isEqualTo(1.0f);
        assertThat(Float.float16ToFloat((short) 0x7BFF)).isEqualTo(65504f);
        assertThat(Float.float16ToFloat((short) 0x0001)).isEqualTo((float) Math.scalb(1.0, -24));
        assertThat(Float.floatToFloat16(-2.0f)).isEqualTo((short) 0xC000);
        assertThat(Float.floatToFloat16(65520f)).isEqualTo((short) 0x7C00); // rounds to +inf
    }
}
