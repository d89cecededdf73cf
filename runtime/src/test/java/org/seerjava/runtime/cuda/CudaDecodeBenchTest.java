package org.seerjava.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The decode benchmark's goal arithmetic and argument lists (no GPU needed). */
class CudaDecodeBenchTest {
    static List<CudaDecodeBench.Row> rows(double dense128k, double sparse128k, double tps1k, double tps128k) {
        return List.of(new CudaDecodeBench.Row("attention", 32768, "dense", 2.0, "ms"),
                new CudaDecodeBench.Row("attention", 131072, "dense", dense128k, "ms"),
                new CudaDecodeBench.Row("attention", 131072, "budget 4096", sparse128k, "ms"),
                new CudaDecodeBench.Row("model", 1024, "dense", tps1k, "tokens/s"),
                new CudaDecodeBench.Row("model", 131072, "dense", 40, "tokens/s"),
                new CudaDecodeBench.Row("model", 131072, "budget 4096", tps128k, "tokens/s"));
    }

    static String goals(List<CudaDecodeBench.Row> rows, boolean[] pass) {
        StringWriter s = new StringWriter();
        pass[0] = CudaDecodeBench.goals(rows, new int[] {32768, 131072}, new int[] {2048, 4096},
                new int[] {1024, 131072}, new PrintWriter(s, true));
        return s.toString();
    }

    @Test
    void bothGoalsAreReadFromTheRightRows() {
        boolean[] pass = new boolean[1];
        String met = goals(rows(5.0, 0.4, 150, 120), pass);
        assertTrue(pass[0], met);
        assertTrue(met.contains("12.50x (goal ≥ 10x): met"), met);
        assertTrue(met.contains("1.25 (goal ≤ 1.3): met"), met);
        String slowAttention = goals(rows(5.0, 0.6, 150, 120), pass);
        assertFalse(pass[0], slowAttention);
        assertTrue(slowAttention.contains("8.33x (goal ≥ 10x): MISSED"), slowAttention);
        String slowModel = goals(rows(5.0, 0.4, 150, 100), pass);
        assertFalse(pass[0], slowModel);
        assertTrue(slowModel.contains("1.50 (goal ≤ 1.3): MISSED"), slowModel);
    }

    @Test
    void argumentListsHaveDefaults() {
        assertArrayEquals(new int[] {32768, 131072}, CudaDecodeBench.ints(new String[0], 0, "32768,131072"));
        assertArrayEquals(new int[] {1024, 8192}, CudaDecodeBench.ints(new String[] {"a", "b", "1024, 8192"}, 2, "1"));
    }
}
