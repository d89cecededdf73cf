package org.seerjava.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Hand-made mutations of the CUDA kernels, to show that the GPU tests catch the defects a kernel is most likely to
 * have (docs/TESTING.md). Each one edits one kernel source (a literal text replaced, the number of matches checked so
 * that a change of the kernel cannot silently turn a mutant into the original) and names the GPU tests that must
 * fail with it. {@code gpu/scripts/kernel-mutants.sh} writes each mutated source into a folder put first on the
 * test class path (the kernels are read as class-path resources and the compile cache is keyed by the source text),
 * runs the named tests once per mutant and prints KILLED or SURVIVED.
 *
 * <p>Usage: {@code java -cp <gpu test classes> org.seerjava.gpu.KernelMutant list} prints
 * {@code name<TAB>junit selectors}; {@code ... write NAME DIR} writes the mutated resource under DIR.
 */
public enum KernelMutant {
    BF16_CAUSAL_OFF_BY_ONE("attention_bf16.cu", "if (col > row || n * BN + col >= N) s[nt][e] = -INFINITY;",
            "if (col > row + 1 || n * BN + col >= N) s[nt][e] = -INFINITY;", 0, 1, Tests.BF16),
    BF16_PARTIAL_BLOCK_LEAK("attention_bf16.cu", "if (col > row || n * BN + col >= N) s[nt][e] = -INFINITY;",
            "if (col > row + (m == nb - 1 && (N & 63) != 0 ? 1 : 0) || n * BN + col >= N) s[nt][e] = -INFINITY;",
            0, 1, Tests.BF16),
    BF16_DIAGONAL_DROPPED("attention_bf16.cu", "bool keep = j <= m && row[j] != 0;",
            "bool keep = j < m && row[j] != 0;", 0, 1, Tests.BF16),
    BF16_SCALE_1_OVER_D("attention_bf16.cu", "const int kh = h / (Hq / Hkv);",
            "const int kh = h / (Hq / Hkv); scaleLog2 *= rsqrtf((float)HEAD_DIM);", 1, 2, Tests.BF16),
    BF16_GQA_HEAD_MAP("attention_bf16.cu", "const int kh = h / (Hq / Hkv);", "const int kh = h % Hkv;", 1, 2,
            Tests.BF16),
    WGMMA_CAUSAL_OFF_BY_ONE("attention_wgmma.cu", "if (col > row || col >= N) s[nt * 4 + e] = -INFINITY;",
            "if (col > row + 1 || col >= N) s[nt * 4 + e] = -INFINITY;", 0, 1, Tests.BF16),
    WGMMA_PARTIAL_BLOCK_LEAK("attention_wgmma.cu", "if (col > row || col >= N) s[nt * 4 + e] = -INFINITY;",
            "if (col > row + (row >= (N & ~63) && (N & 63) != 0 ? 1 : 0) || col >= N) s[nt * 4 + e] = -INFINITY;",
            0, 1, Tests.BF16),
    WGMMA_SCALE_1_OVER_D("attention_wgmma.cu", "const int kh = h / (Hq / Hkv);",
            "const int kh = h / (Hq / Hkv); scaleLog2 *= rsqrtf((float)HEAD_DIM);", 0, 1, Tests.BF16),
    WGMMA_GQA_HEAD_MAP("attention_wgmma.cu", "const int kh = h / (Hq / Hkv);", "const int kh = h % Hkv;", 0, 1,
            Tests.BF16),
    SPARSE_WG_CAUSAL_OFF_BY_ONE("attention_sparse_wgmma.cu",
            "if (col > row || col >= N) s[nt * 4 + e] = -INFINITY;",
            "if (col > row + 1 || col >= N) s[nt * 4 + e] = -INFINITY;", 0, 1, Tests.BF16),
    SPARSE_WG_DIAGONAL_DROPPED("attention_sparse_wgmma.cu", "if (j <= m && row[j] != 0) bits |= 1u << i;",
            "if (j < m && row[j] != 0) bits |= 1u << i;", 0, 1, Tests.BF16),
    SPARSE_WG_GQA_HEAD_MAP("attention_sparse_wgmma.cu", "const int kh = h / (Hq / Hkv);", "const int kh = h % Hkv;",
            0, 1, Tests.BF16),
    FP32_CAUSAL_OFF_BY_ONE("ops_fp32.cu", "if (c > r || c >= N) continue;", "if (c > r + 1 || c >= N) continue;", 0,
            2, Tests.FP32),
    FP32_PARTIAL_BLOCK_LEAK("ops_fp32.cu", "if (c > r || c >= N) continue;",
            "if (c > r + (r >= (N & ~63) && (N & 63) != 0 ? 1 : 0) || c >= N) continue;", 0, 2, Tests.FP32),
    FP32_DIAGONAL_DROPPED("ops_fp32.cu", "if (keepDiagonal && j == i) keep = true;", ";", 0, 3, Tests.FP32),
    FP32_SCALE_1_OVER_D("ops_fp32.cu", "int kh = h / (Hq / Hkv);",
            "int kh = h / (Hq / Hkv); scale *= rsqrtf((float)HEAD_DIM);", 0, 1, Tests.FP32),
    FP32_GQA_HEAD_MAP("ops_fp32.cu", "int kh = h / (Hq / Hkv);", "int kh = h % Hkv;", 0, 1, Tests.FP32),
    /** Both fused target kernels take their first slot of the global scratch without its lock. */
    SLOT_LOCK_DROPPED("common.cuh", "atomicCAS(&locks[s], 0, 1) != 0", "false", 0, 1, Tests.SLOTS),
    VARLEN_SEQUENCE_OF_FIRST_BLOCK("ops_fp32.cu", "if (cuBlocks[mid] <= blk) lo = mid;",
            "if (cuBlocks[mid] < blk) lo = mid;", 0, 1, Tests.VARLEN),
    VARLEN_MAPS_OFF_BY_ONE("ops_fp32.cu", "map = cuMaps[b];", "map = cuMaps[b] - (b > 0);", 0, 1, Tests.VARLEN),
    VARLEN_SEQUENCE_START_OF_NEXT("ops_fp32.cu", "long first = cu[b] + (long)(blk - cuBlocks[b]) * blockSize;",
            "long first = cu[b] + 1 + (long)(blk - cuBlocks[b]) * blockSize;", 0, 1, Tests.VARLEN);

    /** The JUnit console selectors of the GPU tests a mutant of each kernel family must fail. */
    static final class Tests {
        static final String BF16 = "--select-method org.seerjava.gpu.GpuKernelRowsTest#"
                + "tensorCoreKernelsRowByRowAndBitwiseRepeatable(int,int,int,int,int)";
        static final String FP32 = "--select-method org.seerjava.gpu.GpuOpsTest#randomShapes(int,int,int,int,int)"
                + " --select-method org.seerjava.gpu.GpuKernelRowsTest#selectionKeepsTheDiagonal()";
        static final String SLOTS = "--select-method org.seerjava.gpu.GpuBf16Test#"
                + "fusedTargetWithFewerSlotsThanCtas(int,int,int,int,int,int)";
        static final String VARLEN = "--select-method org.seerjava.gpu.GpuVarlenTest#"
                + "theNativeVarlenLaunchGivesEachSequenceItsOwnBits(int,int,int,int)";

        private Tests() {
        }
    }

    final String file;
    final String find;
    final String replace;
    final int occurrence;
    final int expectedMatches;
    final String tests;

    /**
     * @param occurrence      which match to replace (1-based), 0 for all
     * @param expectedMatches how many times {@code find} must occur in the current source
     */
    KernelMutant(String file, String find, String replace, int occurrence, int expectedMatches, String tests) {
        this.file = file;
        this.find = find;
        this.replace = replace;
        this.occurrence = occurrence;
        this.expectedMatches = expectedMatches;
        this.tests = tests;
    }

    static String original(String file) {
        try (InputStream in = KernelCompiler.class.getResourceAsStream("/org/seerjava/gpu/kernels/" + file)) {
            if (in == null) {
                throw new IllegalStateException("no kernel resource " + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The mutated source; throws when {@code find} does not occur the expected number of times. */
    String mutate(String source) {
        int matches = 0;
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (int at = source.indexOf(find); at >= 0; at = source.indexOf(find, at + find.length())) {
            matches++;
            if (occurrence == 0 || occurrence == matches) {
                sb.append(source, from, at).append(replace);
                from = at + find.length();
            }
        }
        if (matches != expectedMatches) {
            throw new IllegalStateException(name() + ": '" + find + "' occurs " + matches + " times in " + file
                    + ", expected " + expectedMatches + " (the kernel changed: update the mutant)");
        }
        return sb.append(source, from, source.length()).toString();
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 1 && args[0].equals("list")) {
            for (KernelMutant m : values()) {
                System.out.println(m.name() + "\t" + m.tests);
            }
        } else if (args.length == 3 && args[0].equals("write")) {
            KernelMutant m = valueOf(args[1]);
            Path out = Path.of(args[2], "org", "seerjava", "gpu", "kernels", m.file);
            Files.createDirectories(out.getParent());
            Files.writeString(out, m.mutate(original(m.file)));
            System.out.println(m.name() + ": " + m.file + " '" + m.find + "' -> '" + m.replace + "'"
                    + (m.occurrence == 0 ? " (every match)" : " (match " + m.occurrence + ")"));
        } else {
            System.err.println("usage: KernelMutant list | write NAME DIR");
            System.exit(2);
        }
    }
}
