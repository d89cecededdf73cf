package org.seerjava.reference.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads small files (configs, indexes, reports) with a size cap. The cap holds whatever the file is: only regular
 * files are opened (a directory, a pipe or a device such as {@code /dev/zero} is refused before it is opened, so a
 * FIFO cannot block the reader), and at most {@code maxBytes + 1} bytes are read, so a file that grows while it is
 * read, or reports a wrong size, is still refused.
 */
public final class SmallFiles {
    private SmallFiles() {
    }

    /**
     * The bytes of a small regular file.
     *
     * @param file     the file
     * @param maxBytes the largest size accepted
     * @param what     what the file is, for messages (e.g. "the model config")
     * @return its bytes
     * @throws IllegalArgumentException naming the file when it does not exist, is not a regular file, cannot be read
     *                                  or holds more than maxBytes bytes
     */
    public static byte[] read(Path file, long maxBytes, String what) {
        if (!Files.exists(file)) {
            throw new IllegalArgumentException(file + ": " + what + " does not exist");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": " + what + " is not a regular file ("
                    + (Files.isDirectory(file) ? "a directory" : "a device, pipe or socket") + ")");
        }
        try (InputStream in = Files.newInputStream(file)) {
            int cap = (int) Math.min(maxBytes, Integer.MAX_VALUE - 9);
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(cap, 1 << 16));
            byte[] buf = new byte[1 << 16];
            long total = 0;
            int n;
            while ((n = in.read(buf, 0, (int) Math.min(buf.length, cap + 1L - total))) > 0) {
                total += n;
                if (total > cap) {
                    throw new IllegalArgumentException(file + ": " + what + " is " + Math.max(total, Files.size(file))
                            + " bytes or more, larger than the " + cap + " bytes accepted");
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read " + what + ": " + AtomicFiles.reason(e), e);
        }
    }

    /**
     * The text of a small regular UTF-8 file.
     *
     * @param file     the file
     * @param maxBytes the largest size accepted
     * @param what     what the file is, for messages
     * @return its text
     * @throws IllegalArgumentException as {@link #read}, or when the bytes are not valid UTF-8
     */
    public static String readString(Path file, long maxBytes, String what) {
        byte[] bytes = read(file, maxBytes, what);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": " + what + " is not valid UTF-8 text", e);
        }
    }
}
