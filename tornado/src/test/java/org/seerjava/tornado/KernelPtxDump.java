package org.seerjava.tornado;

import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pool;
import org.seerjava.reference.SelectionRule;

/**
 * Compiles every kernel of the engine once (a main for {@code tornado/scripts/ptx-inspect/ptx-inspect.sh}, which
 * runs it against a stand-in CUDA driver to look at TornadoVM's PTX without a GPU; the results are meaningless there).
 * Arguments: the head dim (default 128); or {@code conformance}: the operations of
 * {@link EngineConformance#everyOperationMatchesTheReference} at {@link TornadoDeviceTest}'s shapes, with the same gate
 * configuration and selection rules (TornadoVM specialises a kernel to its scalar arguments, so each shape has its own
 * PTX).
 */
public final class KernelPtxDump {
    private KernelPtxDump() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("conformance")) {
            conformance();
            return;
        }
        int d = args.length > 0 ? Integer.parseInt(args[0]) : 128;
        TornadoEngine e = new TornadoEngine();
        System.out.println(e.description());
        AttentionShape s = new AttentionShape(1, 1000, 4, 2, d);
        int nb = s.blocks(64);
        float[] q = new float[s.qElements()];
        float[] k = new float[s.kvElements()];
        float[] out = new float[s.qElements()];
        e.blockSparse(q, k, k, BlockMask.causal(1, 4, nb), out, s, 64, 0.1);
        e.denseCausal(q, k, k, out, s, 0.1);
        e.attentionWithPooledTarget(q, k, k, out, new float[4 * nb * nb], s, 64, 0.1);
        e.pool(q, new float[nb * 4 * d * 3], 1, 1000, 4, d, 64, List.of(Pool.MAX, Pool.MIN, Pool.AVG));
        GateConfig g = GateConfig.of(GateType.DEFAULT, 64, 128, 10000);
        float[] scores = new float[4 * nb * nb];
        e.gateScores(q, k, g.hasQLinear(d) ? new float[g.qWeightElements(s)] : null,
                new float[g.kWeightElements(s)], scores, s, g, true);
        try (TornadoPrefill prefill = new TornadoPrefill(s, g, g.hasQLinear(d) ? new float[g.qWeightElements(s)] : null,
                new float[g.kWeightElements(s)], new SelectionRule.TopK(0.3, false, true), 0.1, true, false)) {
            prefill.run(q, k, q, k, k, out);
        }
        for (SelectionRule rule : new SelectionRule[] {new SelectionRule.TopK(0.3, true, true),
                                                       new SelectionRule.Threshold(0.3, true, true)}) {
            try {
                e.select(scores, 1, 4, nb, rule);
            } catch (IllegalArgumentException ignored) {
                // without a GPU the mask bytes are whatever the buffer held
            }
        }
    }

    private static void conformance() {
        TornadoEngine e = new TornadoEngine();
        for (int[] x : TornadoDeviceTest.SHAPES) {
            AttentionShape s = new AttentionShape(x[0], x[1], x[2], x[3], x[4]);
            int b = x[0];
            int hq = x[2];
            int nb = s.blocks(64);
            float[] q = new float[s.qElements()];
            float[] k = new float[s.kvElements()];
            float[] out = new float[s.qElements()];
            e.blockSparse(q, k, k, BlockMask.causal(b, hq, nb), out, s, 64, 0.1);
            e.denseCausal(q, k, k, out, s, 0.1);
            e.attentionWithPooledTarget(q, k, k, out, new float[b * hq * nb * nb], s, 64, 0.1);
            e.pool(k, new float[b * nb * x[3] * x[4] * 3], b, x[1], x[3], x[4], 64,
                    List.of(Pool.MAX, Pool.MIN, Pool.AVG));
            GateConfig g = EngineConformance.RANDOM_SHAPES_GATE;
            float[] scores = new float[b * hq * nb * nb];
            e.gateScores(q, k, new float[g.qWeightElements(s)], new float[g.kWeightElements(s)], scores, s, g, true);
            for (SelectionRule rule : EngineConformance.RANDOM_SHAPES_RULES) {
                try {
                    e.select(scores, b, hq, nb, rule);
                } catch (IllegalArgumentException ignored) {
                    // without a GPU the mask bytes are whatever the buffer held
                }
            }
        }
        for (int n : new int[] {8192, 32768}) {            // TornadoBench's prefill graphs (GQA 32/8, top-k 0.1)
            AttentionShape s = new AttentionShape(1, n, 32, 8, 128);
            GateConfig g = GateConfig.of(GateType.parse("Qavg_Kmaxminavg"), 64, 128, 500000.0);
            float[] q = new float[s.qElements()];
            float[] k = new float[s.kvElements()];
            try (TornadoPrefill prefill = new TornadoPrefill(s, g, null, new float[g.kWeightElements(s)],
                    new SelectionRule.TopK(0.1, false, true), 0.1, false, true)) {
                prefill.load(q, k, q, k, k);
                prefill.execute();
            }
        }
    }
}
