package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The heap check made before large allocations: refusal with both byte counts, exact size arithmetic. */
class HeapBudgetTest {
    @Test
    void refusesMoreThanTheHeapWithBytesNeededAndAvailable() {
        long max = Runtime.getRuntime().maxMemory();
        long needed = max + 1;
        assertThatThrownBy(() -> HeapBudget.require(needed, "the test's array"))
                .isInstanceOfSatisfying(InsufficientMemoryException.class, e -> {
                    assertThat(e.needed()).isEqualTo(needed);
                    assertThat(e.available()).isPositive().isLessThanOrEqualTo(max);
                    assertThat(e.getMessage()).contains("the test's array")
                            .contains(String.format(java.util.Locale.ROOT, "%,d", needed))
                            .contains(String.format(java.util.Locale.ROOT, "%,d", e.available()))
                            .contains("-Xmx");
                });
    }

    @Test
    void acceptsWhatFits() {
        HeapBudget.require(1 << 20, "a megabyte");
        assertThat(HeapBudget.floatArray("x", 1000)).isEqualTo(1000);
        assertThat(HeapBudget.available()).isPositive();
    }

    @Test
    void floatArrayChecksTheArrayLimitAndOverflow() {
        assertThatThrownBy(() -> HeapBudget.floatArray("scores", 3L << 31))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("scores would need 6442450944 elements");
        assertThatThrownBy(() -> HeapBudget.bytesOf(Long.MAX_VALUE / 2, 4)).isInstanceOf(ArithmeticException.class);
        assertThatThrownBy(() -> HeapBudget.require(-1, "x")).isInstanceOf(IllegalArgumentException.class);
    }
}
