package org.seerjava.tornado;

import java.util.Arrays;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.common.TornadoFunctions;

/**
 * One task of a task graph: a kernel (a method reference to a static Java method of {@code kernels}), its
 * arguments, and for {@code KernelContext} kernels the launch grid ({@code null} for {@code @Parallel}-loop
 * kernels, which TornadoVM schedules itself). The engine turns tasks into a TornadoVM {@link TaskGraph}; the tests
 * run the same tasks through a CPU emulator of {@code KernelContext}, so both see the same kernels, arguments and
 * geometry.
 *
 * @param name     task name, unique within its graph
 * @param function the kernel, a {@code TornadoFunctions.TaskN} method reference whose arity matches {@code args}
 * @param args     the arguments; for a {@code KernelContext} kernel the first one is the context
 * @param grid     work-items and work-group size, or null for a {@code @Parallel} kernel
 */
public record KernelTask(String name, Object function, Object[] args, Grid grid) {

    public KernelTask {
        if (name == null || name.isEmpty() || function == null || args == null) {
            throw new IllegalArgumentException("a task needs a name, a kernel and its arguments");
        }
        args = args.clone();
        for (int i = 0; i < args.length; i++) {
            for (int j = i + 1; j < args.length; j++) {
                if (args[i] == args[j] && !(args[i] instanceof Number) && !(args[i] instanceof Boolean)) {
                    // TornadoVM's graph scheduler never finishes on such a task (a dependency cycle).
                    throw new IllegalArgumentException("task " + name + " passes the same buffer as arguments "
                            + (i + 1) + " and " + (j + 1) + "; give each argument its own buffer");
                }
            }
        }
    }

    /** A {@code @Parallel}-loop kernel of 3 arguments (TornadoVM chooses the grid). */
    public static <T1, T2, T3> KernelTask parallel(String name, TornadoFunctions.Task3<T1, T2, T3> kernel, T1 a1, T2 a2, T3 a3) {
        return new KernelTask(name, kernel, new Object[] {a1, a2, a3}, null);
    }

    /** A {@code @Parallel}-loop kernel of 7 arguments (TornadoVM chooses the grid). */
    public static <T1, T2, T3, T4, T5, T6, T7> KernelTask parallel(String name, TornadoFunctions.Task7<T1, T2, T3, T4, T5, T6, T7> kernel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7) {
        return new KernelTask(name, kernel, new Object[] {a1, a2, a3, a4, a5, a6, a7}, null);
    }

    /** A {@code @Parallel}-loop kernel of 9 arguments (TornadoVM chooses the grid). */
    public static <T1, T2, T3, T4, T5, T6, T7, T8, T9> KernelTask parallel(String name, TornadoFunctions.Task9<T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9) {
        return new KernelTask(name, kernel, new Object[] {a1, a2, a3, a4, a5, a6, a7, a8, a9}, null);
    }

    /** A {@code KernelContext} kernel of 3 arguments (the context first) launched on {@code grid}. */
    public static <T2, T3> KernelTask kernel(String name, Grid grid, TornadoFunctions.Task3<KernelContext, T2, T3> kernel,
                                             KernelContext context, T2 a2, T3 a3) {
        if (grid == null) {
            throw new IllegalArgumentException("KernelContext task " + name + " needs a grid");
        }
        return new KernelTask(name, kernel, new Object[] {context, a2, a3}, grid);
    }

    /** A {@code KernelContext} kernel of 7 arguments (the context first) launched on {@code grid}. */
    public static <T2, T3, T4, T5, T6, T7> KernelTask kernel(String name, Grid grid,
            TornadoFunctions.Task7<KernelContext, T2, T3, T4, T5, T6, T7> kernel, KernelContext context, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7) {
        if (grid == null) {
            throw new IllegalArgumentException("KernelContext task " + name + " needs a grid");
        }
        return new KernelTask(name, kernel, new Object[] {context, a2, a3, a4, a5, a6, a7}, grid);
    }

    /** A {@code KernelContext} kernel of 8 arguments (the context first) launched on {@code grid}. */
    public static <T2, T3, T4, T5, T6, T7, T8> KernelTask kernel(
            String name, Grid grid, TornadoFunctions.Task8<KernelContext, T2, T3, T4, T5, T6, T7, T8> kernel,
            KernelContext context, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8) {
        if (grid == null) {
            throw new IllegalArgumentException("KernelContext task " + name + " needs a grid");
        }
        return new KernelTask(name, kernel, new Object[] {context, a2, a3, a4, a5, a6, a7, a8}, grid);
    }

    /** A {@code KernelContext} kernel of 9 arguments (the context first) launched on {@code grid}. */
    public static <T2, T3, T4, T5, T6, T7, T8, T9> KernelTask kernel(
            String name, Grid grid, TornadoFunctions.Task9<KernelContext, T2, T3, T4, T5, T6, T7, T8, T9> kernel,
            KernelContext context, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9) {
        if (grid == null) {
            throw new IllegalArgumentException("KernelContext task " + name + " needs a grid");
        }
        return new KernelTask(name, kernel, new Object[] {context, a2, a3, a4, a5, a6, a7, a8, a9}, grid);
    }

    /** A {@code KernelContext} kernel of 15 arguments (the context first) launched on {@code grid}. */
    public static <T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15> KernelTask kernel(
            String name, Grid grid, TornadoFunctions.Task15<KernelContext, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15> kernel,
            KernelContext context, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10, T11 a11, T12 a12, T13 a13, T14 a14, T15 a15) {
        if (grid == null) {
            throw new IllegalArgumentException("KernelContext task " + name + " needs a grid");
        }
        return new KernelTask(name, kernel, new Object[] {context, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15}, grid);
    }

    @Override
    public Object[] args() {
        return args.clone();
    }

    /** Adds this task to {@code graph}, and its grid (if any) to {@code scheduler} under "graph.task". */
    @SuppressWarnings({"rawtypes", "unchecked"})
    void addTo(TaskGraph graph, GridScheduler scheduler) {
        Object[] a = args;
        switch (a.length) {
            case 1 -> graph.task(name, (TornadoFunctions.Task1) function, a[0]);
            case 2 -> graph.task(name, (TornadoFunctions.Task2) function, a[0], a[1]);
            case 3 -> graph.task(name, (TornadoFunctions.Task3) function, a[0], a[1], a[2]);
            case 4 -> graph.task(name, (TornadoFunctions.Task4) function, a[0], a[1], a[2], a[3]);
            case 5 -> graph.task(name, (TornadoFunctions.Task5) function, a[0], a[1], a[2], a[3], a[4]);
            case 6 -> graph.task(name, (TornadoFunctions.Task6) function, a[0], a[1], a[2], a[3], a[4], a[5]);
            case 7 -> graph.task(name, (TornadoFunctions.Task7) function, a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
            case 8 -> graph.task(name, (TornadoFunctions.Task8) function, a[0], a[1], a[2], a[3], a[4], a[5], a[6],
                    a[7]);
            case 9 -> graph.task(name, (TornadoFunctions.Task9) function, a[0], a[1], a[2], a[3], a[4], a[5], a[6],
                    a[7], a[8]);
            case 10 -> graph.task(name, (TornadoFunctions.Task10) function, a[0], a[1], a[2], a[3], a[4], a[5],
                    a[6], a[7], a[8], a[9]);
            case 11 -> graph.task(name, (TornadoFunctions.Task11) function, a[0], a[1], a[2], a[3], a[4], a[5],
                    a[6], a[7], a[8], a[9], a[10]);
            case 12 -> graph.task(name, (TornadoFunctions.Task12) function, a[0], a[1], a[2], a[3], a[4], a[5],
                    a[6], a[7], a[8], a[9], a[10], a[11]);
            case 13 -> graph.task(name, (TornadoFunctions.Task13) function, a[0], a[1], a[2], a[3], a[4], a[5],
                    a[6], a[7], a[8], a[9], a[10], a[11], a[12]);
            case 14 -> graph.task(name, (TornadoFunctions.Task14) function, a[0], a[1], a[2], a[3], a[4], a[5],
                    a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]);
            case 15 -> graph.task(name, (TornadoFunctions.Task15) function, a[0], a[1], a[2], a[3], a[4], a[5],
                    a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14]);
            case 16 -> graph.task(name, (TornadoFunctions.Task16) function, a[0], a[1], a[2], a[3], a[4], a[5],
                    a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]);
            default -> throw new IllegalArgumentException("task " + name + " has " + a.length
                    + " arguments; 1 to 16 are supported");
        }
        if (grid != null) {
            scheduler.addWorkerGrid(graph.getTaskGraphName() + "." + name, grid.toWorkerGrid());
        }
    }

    @Override
    public String toString() {
        return "KernelTask[" + name + ", " + args.length + " args, grid " + grid + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KernelTask t && t.name.equals(name) && t.function == function
                && Arrays.equals(t.args, args) && java.util.Objects.equals(t.grid, grid);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(args);
    }
}
