package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import org.junit.jupiter.api.Test;
import org.seerjava.tornado.kernels.AttnGate;
import org.seerjava.tornado.kernels.BlockSelection;
import org.seerjava.tornado.kernels.BlockSparseAttention;
import org.seerjava.tornado.kernels.PooledAttentionTarget;
import org.seerjava.tornado.kernels.Pooling;
import org.seerjava.tornado.kernels.Rope;

/**
 * Rules of the kernel classes that only show on the GPU: TornadoVM needs the kernels' local-variable tables (javac
 * -g), and a helper method must not take an array — TornadoVM's PTX backend then addresses a local-memory array
 * passed to it as a heap array (byte offsets past an array header, seen in its PTX), reading the wrong elements.
 */
class DebugInfoTest {
    static final Class<?>[] KERNELS = {Pooling.class, Rope.class, AttnGate.class, BlockSelection.class,
                                       PooledAttentionTarget.class, BlockSparseAttention.class};

    @Test
    void helpersTakeScalarsOnly() throws IOException {
        for (Class<?> c : KERNELS) {
            for (MethodModel m : parse(c).methods()) {
                String descriptor = m.methodType().stringValue();
                boolean entryPoint = descriptor.contains("Luk/ac/manchester/tornado/api/");
                if (!entryPoint) {
                    assertThat(descriptor.substring(0, descriptor.indexOf(')'))).as("%s.%s%s", c.getSimpleName(),
                            m.methodName().stringValue(), descriptor).doesNotContain("[");
                }
            }
        }
    }

    static ClassModel parse(Class<?> c) throws IOException {
        try (InputStream in = c.getResourceAsStream(c.getSimpleName() + ".class")) {
            return ClassFile.of().parse(in.readAllBytes());
        }
    }

    @Test
    void kernelsCarryLocalVariableTables() throws IOException {
        for (Class<?> c : new Class<?>[] {Pooling.class, Rope.class, AttnGate.class, BlockSelection.class, PooledAttentionTarget.class,
                                          BlockSparseAttention.class}) {
            ClassModel model;
            try (InputStream in = c.getResourceAsStream(c.getSimpleName() + ".class")) {
                model = ClassFile.of().parse(in.readAllBytes());
            }
            for (MethodModel m : model.methods()) {
                if (m.methodName().stringValue().equals("<clinit>")) {
                    continue;                                   // constants only, no local variables
                }
                m.code().ifPresent(code -> assertThat(code.findAttribute(Attributes.localVariableTable()))
                        .as("%s.%s", c.getSimpleName(), m.methodName().stringValue()).isPresent());
            }
        }
    }
}
