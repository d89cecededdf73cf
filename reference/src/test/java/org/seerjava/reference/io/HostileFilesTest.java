package org.seerjava.reference.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files that are not what they claim: a directory, a FIFO, an endless device given as a safetensors file or as a small
 * text file; atomic writes that fail half-way. Each is refused at once with a message naming the file.
 */
class HostileFilesTest {
    @TempDir
    Path dir;

    /** A FIFO in dir (mkfifo), or the test is skipped where there is none. */
    static Path fifo(Path dir) throws Exception {
        Path p = dir.resolve("pipe");
        try {
            Process mk = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
            Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo failed");
        } catch (IOException e) {
            Assumptions.abort("no mkfifo here: " + e.getMessage());
        }
        return p;
    }

    /** A symbolic link to /dev/zero (an endless file whose size reads as 0), or the test is skipped. */
    static Path endless(Path dir) throws Exception {
        Path zero = Path.of("/dev/zero");
        Assumptions.assumeTrue(Files.exists(zero), "no /dev/zero here");
        return Files.createSymbolicLink(dir.resolve("endless"), zero);
    }

    @Test
    void safetensorsOpenRefusesADirectoryByName() {
        assertThatThrownBy(() -> SafeTensors.open(dir).close())
                .isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(dir.toString())
                .hasMessageContaining("expected a regular file, found a directory");
    }

    @Test
    void safetensorsOpenRefusesAFifoWithoutBlocking() throws Exception {
        Path pipe = fifo(dir);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
                assertThatThrownBy(() -> SafeTensors.open(pipe).close())
                        .isInstanceOf(SafeTensorsException.class)
                        .hasMessageContaining(pipe.toString())
                        .hasMessageContaining("a device, pipe or socket"));
    }

    @Test
    void safetensorsOpenRefusesAMissingFile() {
        Path missing = dir.resolve("missing.safetensors");
        assertThatThrownBy(() -> SafeTensors.open(missing).close())
                .isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("does not exist");
    }

    @Test
    void smallFilesRefuseEndlessFifoAndDirectoryAndOversizedFiles() throws Exception {
        Path endless = endless(dir);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThatThrownBy(
                () -> SmallFiles.readString(endless, 1 << 20, "the model config"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(endless.toString())
                .hasMessageContaining("the model config is not a regular file"));
        Path pipe = fifo(dir);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThatThrownBy(
                () -> SmallFiles.readString(pipe, 1 << 20, "the shard index"))
                .hasMessageContaining("the shard index is not a regular file (a device, pipe or socket)"));
        assertThatThrownBy(() -> SmallFiles.read(dir, 100, "x")).hasMessageContaining("is not a regular file (a directory)");
        Path big = Files.write(dir.resolve("big.json"), new byte[101]);
        assertThatThrownBy(() -> SmallFiles.read(big, 100, "the config"))
                .hasMessageContaining(big.toString())
                .hasMessageContaining("101 bytes or more, larger than the 100 bytes accepted");
        Path ok = Files.write(dir.resolve("ok.json"), new byte[100]);
        assertThat(SmallFiles.read(ok, 100, "the config")).hasSize(100);
        Path latin1 = Files.write(dir.resolve("l1.json"), new byte[] {'{', (byte) 0xE9, '}'});
        assertThatThrownBy(() -> SmallFiles.readString(latin1, 100, "the config")).hasMessageContaining("not valid UTF-8");
        assertThatThrownBy(() -> SmallFiles.read(dir.resolve("none"), 100, "the config"))
                .hasMessageContaining("the config does not exist");
    }

    private long tempFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".tmp")).count();
        }
    }

    @Test
    void atomicWriteReplacesWholeOrNothing() throws Exception {
        Path target = dir.resolve("report.json");
        AtomicFiles.writeString(target, "old");
        assertThatThrownBy(() -> AtomicFiles.write(target, (OutputStream out) -> {
            out.write("half".getBytes(StandardCharsets.UTF_8));
            throw new IOException("disk full (simulated)");
        })).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("cannot write " + target)
                .hasMessageContaining("disk full (simulated)");
        assertThat(Files.readString(target)).isEqualTo("old");          // untouched
        assertThat(tempFiles()).isZero();                              // temp removed
        AtomicFiles.writeString(target, "new");
        assertThat(Files.readString(target)).isEqualTo("new");
        AtomicFiles.write(target, (OutputStream out) -> {         // a writer that closes its stream (as Jackson does)
            try (out) {
                out.write("closed by the writer".getBytes(StandardCharsets.UTF_8));
            }
        });
        assertThat(Files.readString(target)).isEqualTo("closed by the writer");
        assertThat(tempFiles()).isZero();
    }

    @Test
    void atomicWriteNamesADirectoryTargetAndAMissingParent() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        assertThatThrownBy(() -> AtomicFiles.writeString(sub, "x"))
                .hasMessageContaining("cannot write " + sub + ": it is a directory");
        Path orphan = dir.resolve("no/such/dir/file.json");
        assertThatThrownBy(() -> AtomicFiles.writeString(orphan, "x"))
                .hasMessageContaining("cannot write " + orphan)
                .hasMessageContaining("does not exist");
        assertThat(tempFiles()).isZero();
        try (Stream<Path> s = Files.list(sub)) {
            assertThat(s.count()).isZero();
        }
    }

    @Test
    void safetensorsWriterLeavesNoTempFileWhenTheTargetIsADirectory() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("gates.safetensors"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.add("x", DType.F32, new long[] {2}, new float[] {1, 2});
        assertThatThrownBy(() -> w.write(sub)).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("it is a directory");
        assertThat(tempFiles()).isZero();
    }
}
