package org.seerjava.reference.io;

import java.io.Serial;
import java.nio.file.Path;

/**
 * A safetensors file could not be read, or a tensor in it could not be converted as requested.
 * The message always names the file and, where one is involved, the tensor, and says what was
 * expected and what was found.
 */
public final class SafeTensorsException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String tensor;

    /**
     * Creates an exception for a problem in {@code file}, optionally about one tensor.
     *
     * @param file the safetensors file
     * @param tensor the tensor concerned, or {@code null} when the problem is file-wide
     * @param problem what was expected and what was found
     */
    public SafeTensorsException(Path file, String tensor, String problem) {
        this(file, tensor, problem, null);
    }

    /**
     * Creates an exception for a problem in {@code file}, optionally about one tensor, with a cause.
     *
     * @param file the safetensors file
     * @param tensor the tensor concerned, or {@code null} when the problem is file-wide
     * @param problem what was expected and what was found
     * @param cause the underlying exception, or {@code null}
     */
    public SafeTensorsException(Path file, String tensor, String problem, Throwable cause) {
        super(format(file, tensor, problem), cause);
        this.file = file;
        this.tensor = tensor;
    }

    private static String format(Path file, String tensor, String problem) {
        StringBuilder sb = new StringBuilder("safetensors file ").append(file);
        if (tensor != null) {
            sb.append(", tensor '").append(tensor).append('\'');
        }
        return sb.append(": ").append(problem).toString();
    }

    /**
     * The file the problem is in.
     *
     * @return the path as given to {@link SafeTensors#open(Path)}
     */
    public Path file() {
        return file;
    }

    /**
     * The tensor the problem is about.
     *
     * @return the tensor name, or {@code null} when the problem is file-wide
     */
    public String tensor() {
        return tensor;
    }
}
