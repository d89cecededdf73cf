package org.seerjava.gpu;

import java.util.function.Supplier;

/**
 * A process-wide value made on first use by a factory that may find CUDA unusable: the value, or the
 * {@link CudaUnavailableException} that explains why there is none, is kept, so later calls return the same value or
 * throw the same exception without trying again (a missing driver does not get loaded once per test).
 */
final class Once<T> {
    private final Supplier<T> factory;
    private volatile T value;
    private volatile CudaUnavailableException failure;

    Once(Supplier<T> factory) {
        this.factory = factory;
    }

    /**
     * The value, made now if this is the first call.
     *
     * @throws CudaUnavailableException what the factory threw (a {@link CudaException} is kept as the cause of one)
     */
    T get() {
        T v = value;
        if (v != null) {
            return v;
        }
        synchronized (this) {
            if (value != null) {
                return value;
            }
            if (failure != null) {
                throw failure;
            }
            try {
                value = factory.get();
                return value;
            } catch (CudaUnavailableException e) {
                failure = e;
                throw e;
            } catch (CudaException e) {
                failure = new CudaUnavailableException(e.getMessage(), e);
                throw failure;
            }
        }
    }
}
