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
 * Argument: the head dim (default 128).
 */
public final class KernelPtxDump {
    private KernelPtxDump() {
    }

    public static void main(String[] args) {
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
}
