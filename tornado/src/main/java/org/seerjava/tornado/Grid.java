package org.seerjava.tornado;

import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.WorkerGrid3D;

/**
 * The launch geometry of a {@code KernelContext} kernel: the global number of work-items per dimension and the
 * work-group size (TornadoVM's {@link WorkerGrid}; CUDA's grid × block). Work-group {@code (gx, gy, gz)} holds
 * work-items {@code globalId = groupId · local + localId}.
 *
 * @param globalX work-items along x, a multiple of {@code localX}
 * @param globalY work-items along y, a multiple of {@code localY}
 * @param globalZ work-items along z, a multiple of {@code localZ}
 * @param localX  work-group size along x
 * @param localY  work-group size along y
 * @param localZ  work-group size along z
 */
public record Grid(int globalX, int globalY, int globalZ, int localX, int localY, int localZ) {

    public Grid {
        for (int[] p : new int[][] {{globalX, localX}, {globalY, localY}, {globalZ, localZ}}) {
            if (p[0] <= 0 || p[1] <= 0 || p[0] % p[1] != 0) {
                throw new IllegalArgumentException("grid " + globalX + "×" + globalY + "×" + globalZ
                        + " with work-groups of " + localX + "×" + localY + "×" + localZ
                        + ": each global size must be a positive multiple of the work-group size");
            }
        }
    }

    /** {@code groups} work-groups of {@code local} work-items along x. */
    public static Grid groups1D(long groups, int local) {
        return new Grid(Math.toIntExact(checkedProduct(groups, local)), 1, 1, local, 1, 1);
    }

    /** {@code gx × gy × gz} work-groups of {@code local} work-items each, laid out along x. */
    public static Grid groups3D(int gx, int gy, int gz, int local) {
        return new Grid(Math.toIntExact(checkedProduct(gx, local)), gy, gz, local, 1, 1);
    }

    private static long checkedProduct(long groups, int local) {
        long total = groups * local;
        if (groups <= 0 || total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a grid of " + groups + " work-groups of " + local
                    + " work-items exceeds the " + Integer.MAX_VALUE + " work-items TornadoVM can launch along x");
        }
        return total;
    }

    /** Work-groups along x, y, z. */
    public int groupsX() {
        return globalX / localX;
    }

    public int groupsY() {
        return globalY / localY;
    }

    public int groupsZ() {
        return globalZ / localZ;
    }

    /** Work-items per work-group. */
    public int groupSize() {
        return localX * localY * localZ;
    }

    /** TornadoVM's worker grid for this geometry. */
    public WorkerGrid toWorkerGrid() {
        WorkerGrid grid = globalY == 1 && globalZ == 1 ? new WorkerGrid1D(globalX)
                : new WorkerGrid3D(globalX, globalY, globalZ);
        grid.setLocalWork(localX, localY, localZ);
        return grid;
    }
}
