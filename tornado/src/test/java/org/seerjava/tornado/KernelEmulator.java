package org.seerjava.tornado;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Phaser;
import uk.ac.manchester.tornado.api.KernelContext;

/**
 * Runs TornadoVM kernels on the CPU, so that the very code the PTX backend compiles is checked here without a GPU.
 * A {@code KernelContext} kernel runs as its grid describes: work-group after work-group, the work-items of a group
 * as virtual threads, each with its own {@link KernelContext} whose index fields (final {@code Integer}s, set by
 * reflection) say which work-item it is. Local arrays are shared by the work-items of a group (the n-th allocation
 * of every work-item returns the group's n-th array) and start filled with NaN (floats) or garbage (ints, bytes), as
 * uninitialised GPU memory would be; {@code localBarrier()} waits for the whole group. A group whose work-items pass
 * different numbers of barriers fails (on a GPU that is undefined behaviour). {@code @Parallel} kernels run as the
 * plain Java loops they are.
 */
public final class KernelEmulator {
    private static final Field[] INDEX_FIELDS;

    static {
        String[] names = {"globalIdx", "globalIdy", "globalIdz", "groupIdx", "groupIdy", "groupIdz", "localIdx",
                          "localIdy", "localIdz", "globalGroupSizeX", "globalGroupSizeY", "globalGroupSizeZ",
                          "localGroupSizeX", "localGroupSizeY", "localGroupSizeZ"};
        INDEX_FIELDS = new Field[names.length];
        try {
            for (int i = 0; i < names.length; i++) {
                INDEX_FIELDS[i] = KernelContext.class.getDeclaredField(names[i]);
                INDEX_FIELDS[i].setAccessible(true);
            }
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private KernelEmulator() {
    }

    /** Runs every task in order. */
    public static void run(List<KernelTask> tasks) {
        for (KernelTask t : tasks) {
            run(t);
        }
    }

    /** Runs one task: its grid of work-items, or the {@code @Parallel} kernel as a loop. */
    public static void run(KernelTask task) {
        Method apply = applyMethod(task.function());
        Object[] args = task.args();
        if (task.grid() == null) {
            invoke(apply, task.function(), args);
            return;
        }
        if (!(args[0] instanceof KernelContext)) {
            throw new IllegalArgumentException("task " + task.name() + " has a grid but its first argument is "
                    + args[0]);
        }
        Grid g = task.grid();
        for (int gz = 0; gz < g.groupsZ(); gz++) {
            for (int gy = 0; gy < g.groupsY(); gy++) {
                for (int gx = 0; gx < g.groupsX(); gx++) {
                    runGroup(task, apply, args, g, gx, gy, gz);
                }
            }
        }
    }

    private static void runGroup(KernelTask task, Method apply, Object[] args, Grid g, int gx, int gy, int gz) {
        Group group = new Group(g.groupSize());
        List<Item> items = new ArrayList<>();
        for (int lz = 0; lz < g.localZ(); lz++) {
            for (int ly = 0; ly < g.localY(); ly++) {
                for (int lx = 0; lx < g.localX(); lx++) {
                    items.add(new Item(group, g, gx, gy, gz, lx, ly, lz));
                }
            }
        }
        Throwable[] failure = new Throwable[1];
        List<Thread> threads = new ArrayList<>(items.size());
        for (Item item : items) {
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    Object[] a = args.clone();
                    a[0] = item;
                    invoke(apply, task.function(), a);
                } catch (Throwable t) {
                    synchronized (failure) {
                        if (failure[0] == null) {
                            failure[0] = t;
                        }
                    }
                } finally {
                    group.phaser.arriveAndDeregister();
                }
            }));
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        String where = task.name() + ", work-group (" + gx + ", " + gy + ", " + gz + ")";
        if (failure[0] != null) {
            throw new AssertionError("kernel failed in " + where + ": " + failure[0], failure[0]);
        }
        int[] counts = items.stream().mapToInt(i -> i.barriers).distinct().toArray();
        if (counts.length > 1) {
            throw new AssertionError("barrier divergence in " + where + ": work-items passed " + Arrays.toString(counts)
                    + " barriers");
        }
    }

    private static Method applyMethod(Object function) {
        for (Class<?> c = function.getClass(); c != null; c = c.getSuperclass()) {
            for (Class<?> i : c.getInterfaces()) {
                for (Method m : i.getMethods()) {
                    if (m.getName().equals("apply") && !m.isDefault() && !Modifier.isStatic(m.getModifiers())) {
                        return m;
                    }
                }
            }
        }
        throw new IllegalArgumentException(function + " is not a TornadoFunctions task");
    }

    private static void invoke(Method apply, Object function, Object[] args) {
        try {
            apply.invoke(function, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What the work-items of one work-group share: local arrays and the barrier. */
    private static final class Group {
        final Phaser phaser;
        final List<Object> locals = new ArrayList<>();

        Group(int size) {
            this.phaser = new Phaser(size);
        }

        synchronized Object local(int index, int length, Class<?> type) {
            if (index < locals.size()) {
                Object a = locals.get(index);
                if (a.getClass().getComponentType() != type || java.lang.reflect.Array.getLength(a) != length) {
                    throw new AssertionError("work-items allocated different local arrays at allocation " + index);
                }
                return a;
            }
            Object a;
            if (type == float.class) {
                float[] f = new float[length];
                Arrays.fill(f, Float.NaN);
                a = f;
            } else if (type == int.class) {
                int[] x = new int[length];
                Arrays.fill(x, 0xDEADBEEF);
                a = x;
            } else if (type == byte.class) {
                byte[] x = new byte[length];
                Arrays.fill(x, (byte) 0x5A);
                a = x;
            } else {
                throw new UnsupportedOperationException("local arrays of " + type);
            }
            locals.add(a);
            return a;
        }
    }

    /** One work-item's context. */
    private static final class Item extends KernelContext {
        final Group group;
        int allocations;
        int barriers;

        Item(Group group, Grid g, int gx, int gy, int gz, int lx, int ly, int lz) {
            this.group = group;
            int[] values = {gx * g.localX() + lx, gy * g.localY() + ly, gz * g.localZ() + lz, gx, gy, gz, lx, ly, lz,
                            g.globalX(), g.globalY(), g.globalZ(), g.localX(), g.localY(), g.localZ()};
            try {
                for (int i = 0; i < values.length; i++) {
                    INDEX_FIELDS[i].set(this, values[i]);
                }
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot set KernelContext's index fields", e);
            }
        }

        @Override
        public float[] allocateFloatLocalArray(int size) {
            return (float[]) group.local(allocations++, size, float.class);
        }

        @Override
        public int[] allocateIntLocalArray(int size) {
            return (int[]) group.local(allocations++, size, int.class);
        }

        @Override
        public byte[] allocateByteLocalArray(int size) {
            return (byte[]) group.local(allocations++, size, byte.class);
        }

        @Override
        public double[] allocateDoubleLocalArray(int size) {
            throw new UnsupportedOperationException("the emulator shares float, int and byte local arrays only");
        }

        @Override
        public long[] allocateLongLocalArray(int size) {
            throw new UnsupportedOperationException("the emulator shares float, int and byte local arrays only");
        }

        @Override
        public void localBarrier() {
            barriers++;
            group.phaser.arriveAndAwaitAdvance();
        }

        @Override
        public void globalBarrier() {
            throw new UnsupportedOperationException("globalBarrier has no portable meaning; the kernels do not use it");
        }
    }
}
