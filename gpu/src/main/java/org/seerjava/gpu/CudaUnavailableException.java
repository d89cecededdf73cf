package org.seerjava.gpu;

/** No usable CUDA here: the driver library is missing, {@code cuInit} fails, there is no GPU, or NVRTC is missing. */
public final class CudaUnavailableException extends CudaException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
