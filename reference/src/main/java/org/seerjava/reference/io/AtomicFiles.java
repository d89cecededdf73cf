package org.seerjava.reference.io;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files atomically: the content goes to a temporary file in the target's directory
 * ({@code .NAME.RANDOM.tmp}), is forced to the disk, and is then renamed over the target, so a reader sees either
 * the old file or the whole new one, never a half-written one. When anything fails the temporary file is removed and
 * the target is left as it was.
 *
 * <p>Errors are {@link UncheckedIOException}s whose message names the target and the reason in words ("is a
 * directory", "directory … does not exist", "permission denied", …).
 */
public final class AtomicFiles {
    /** Writes the content of a file to a channel positioned at its start. */
    @FunctionalInterface
    public interface ChannelWriter {
        /**
         * Writes the whole content.
         *
         * @param channel the temporary file, open for writing
         * @throws IOException when writing fails
         */
        void write(FileChannel channel) throws IOException;
    }

    /** Writes the content of a file to a stream. */
    @FunctionalInterface
    public interface StreamWriter {
        /**
         * Writes the whole content (closing the stream is allowed; the file is completed by the caller).
         *
         * @param out the temporary file
         * @throws IOException when writing fails
         */
        void write(OutputStream out) throws IOException;
    }

    private AtomicFiles() {
    }

    /**
     * Writes a file atomically through a channel.
     *
     * @param target the file to create or replace; its directory must exist
     * @param writer writes the content
     * @throws UncheckedIOException naming the target and the reason when it cannot be written
     */
    public static void write(Path target, ChannelWriter writer) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (Files.isDirectory(abs)) {
            throw new UncheckedIOException(new IOException("cannot write " + target + ": it is a directory"));
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new UncheckedIOException(new NoSuchFileException("cannot write " + target + ": directory " + dir
                    + " does not exist"));
        }
        Path tmp = null;
        boolean done = false;
        try {
            FileChannel ch = null;
            for (int attempt = 0; ch == null; attempt++) {
                tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong())
                        + ".tmp");
                try {
                    ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                } catch (FileAlreadyExistsException e) {
                    tmp = null;
                    if (attempt >= 10) {
                        throw e;
                    }
                }
            }
            try (FileChannel out = ch) {
                writer.write(out);
                out.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + reason(e), e);
        } finally {
            if (!done && tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; the original failure is what matters
                }
            }
        }
    }

    /**
     * Writes a file atomically through a stream.
     *
     * @param target the file to create or replace; its directory must exist
     * @param writer writes the content
     * @throws UncheckedIOException naming the target and the reason when it cannot be written
     */
    public static void write(Path target, StreamWriter writer) {
        write(target, (FileChannel ch) -> {
            // A writer may close its stream (Jackson does); the channel must stay open to be forced and closed here.
            OutputStream out = new FilterOutputStream(new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16)) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    this.out.write(b, off, len);
                }

                @Override
                public void close() throws IOException {
                    flush();
                }
            };
            writer.write(out);
            out.flush();
        });
    }

    /**
     * Writes bytes atomically.
     *
     * @param target the file to create or replace; its directory must exist
     * @param bytes  the content
     * @throws UncheckedIOException naming the target and the reason when it cannot be written
     */
    public static void writeBytes(Path target, byte[] bytes) {
        write(target, (OutputStream out) -> out.write(bytes));
    }

    /**
     * Writes text as UTF-8 atomically.
     *
     * @param target the file to create or replace; its directory must exist
     * @param text   the content
     * @throws UncheckedIOException naming the target and the reason when it cannot be written
     */
    public static void writeString(Path target, CharSequence text) {
        writeBytes(target, text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The reason of a file-system failure in words, for messages.
     *
     * @param e the exception
     * @return e.g. "permission denied (/x/y)", "no such file or directory (/x/y)", or the exception's message
     */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException a) {
            return "permission denied (" + a.getFile() + ")";
        }
        if (e instanceof NoSuchFileException n) {
            return n.getReason() != null ? n.getMessage() : "no such file or directory (" + n.getFile() + ")";
        }
        if (e instanceof FileAlreadyExistsException f) {
            return "already exists (" + f.getFile() + ")";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason().toLowerCase(java.util.Locale.ROOT) + (f.getFile() != null ? " (" + f.getFile() + ")" : "");
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }
}
