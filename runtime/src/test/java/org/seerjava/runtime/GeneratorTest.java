package org.seerjava.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The generation loop on a scripted session: what is fed back, when it stops, the capacity check. */
class GeneratorTest {

    /** A session whose logits make token (last · 3 + 1) mod 10 the argmax; records every call. */
    static final class ScriptedSession implements Session {
        final List<String> calls = new ArrayList<>();
        final int capacity;
        int length;
        float[] last;

        ScriptedSession(int capacity) {
            this.capacity = capacity;
        }

        float[] logitsAfter(int token) {
            float[] l = new float[10];
            l[(token * 3 + 1) % 10] = 5;
            last = l;
            return l.clone();
        }

        @Override
        public ModelRuntime runtime() {
            return null;
        }

        @Override
        public int capacity() {
            return capacity;
        }

        @Override
        public int length() {
            return length;
        }

        @Override
        public PrefillAttention attention() {
            return PrefillAttention.dense();
        }

        @Override
        public float[] prefill(int[] tokens) {
            calls.add("prefill" + java.util.Arrays.toString(tokens));
            length += tokens.length;
            return logitsAfter(tokens[tokens.length - 1]);
        }

        @Override
        public float[] decode(int token) {
            calls.add("decode " + token);
            if (length == capacity) {
                throw new IllegalArgumentException("full");
            }
            length++;
            return logitsAfter(token);
        }

        @Override
        public float[] logits() {
            return last.clone();
        }

        @Override
        public double prefillDensity() {
            return 1;
        }

        @Override
        public void reset() {
            length = 0;
        }

        @Override
        public void close() {
        }
    }

    static GenerationResult run(ScriptedSession s, int[] prompt, GenerationOptions o, TokenListener l) {
        // the generator asks the session's runtime for memory: give it a minimal one
        return Generator.generate(new Session() {
            @Override
            public ModelRuntime runtime() {
                return FakeRuntime.INSTANCE;
            }

            @Override
            public int capacity() {
                return s.capacity();
            }

            @Override
            public int length() {
                return s.length();
            }

            @Override
            public PrefillAttention attention() {
                return s.attention();
            }

            @Override
            public float[] prefill(int[] tokens) {
                return s.prefill(tokens);
            }

            @Override
            public float[] decode(int token) {
                return s.decode(token);
            }

            @Override
            public float[] logits() {
                return s.logits();
            }

            @Override
            public double prefillDensity() {
                return 1;
            }

            @Override
            public void reset() {
                s.reset();
            }

            @Override
            public void close() {
            }
        }, prompt, o, l);
    }

    @Test
    void feedsEachTokenBackUntilMaxTokens() {
        ScriptedSession s = new ScriptedSession(8);
        List<Integer> streamed = new ArrayList<>();
        GenerationResult r = run(s, new int[] {2, 4}, GenerationOptions.greedy(5), t -> streamed.add(t));
        // 4 → 3 → 0 → 1 → 4 → 3
        assertArrayEquals(new int[] {3, 0, 1, 4, 3}, r.tokens());
        assertEquals(List.of(3, 0, 1, 4, 3), streamed);
        assertEquals(List.of("prefill[2, 4]", "decode 3", "decode 0", "decode 1", "decode 4"), s.calls,
                "the last token is not fed back");
        assertEquals(GenerationResult.StopReason.MAX_TOKENS, r.stopReason());
        assertEquals(4, r.decodeSteps());
        assertEquals(6, s.length(), "prompt + 4 decoded = capacityFor(2, 5)");
        assertEquals(6, Generator.capacityFor(2, 5));
        assertTrue(r.prefillNanos() > 0 && r.decodeNanos() > 0);
        assertEquals(FakeRuntime.MEMORY, r.memory());
    }

    @Test
    void stopsAfterAStopTokenAndReportsIt() {
        ScriptedSession s = new ScriptedSession(100);
        GenerationResult r = run(s, new int[] {4}, GenerationOptions.greedy(50).stopAt(Set.of(1)), t -> true);
        assertArrayEquals(new int[] {3, 0, 1}, r.tokens());
        assertEquals(GenerationResult.StopReason.STOP_TOKEN, r.stopReason());
        assertEquals(2, r.decodeSteps());
    }

    @Test
    void theListenerCanStop() {
        ScriptedSession s = new ScriptedSession(100);
        GenerationResult r = run(s, new int[] {4}, GenerationOptions.greedy(50), t -> t != 0);
        assertArrayEquals(new int[] {3, 0}, r.tokens());
        assertEquals(GenerationResult.StopReason.LISTENER, r.stopReason());
    }

    @Test
    void refusesWhatTheSessionCannotHold() {
        ScriptedSession s = new ScriptedSession(6);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(s, new int[] {1, 2, 3}, GenerationOptions.greedy(5), t -> true));
        assertTrue(e.getMessage().contains("capacity of 6") && e.getMessage().contains("need 7"), e.getMessage());
        assertTrue(s.calls.isEmpty(), "nothing ran");
        assertThrows(IllegalArgumentException.class, () -> run(s, new int[0], GenerationOptions.greedy(1), t -> true));
        assertThrows(IllegalArgumentException.class, () -> GenerationOptions.greedy(0));
    }

    /** A runtime that only reports memory. */
    static final class FakeRuntime implements ModelRuntime {
        static final MemoryUse MEMORY = new MemoryUse("native", 1, 2, 3, -1, 4);
        static final FakeRuntime INSTANCE = new FakeRuntime();

        @Override
        public ModelSource source() {
            return null;
        }

        @Override
        public org.seerjava.model.LlamaConfig config() {
            return null;
        }

        @Override
        public String backend() {
            return "fake";
        }

        @Override
        public String description() {
            return "fake";
        }

        @Override
        public long weightBytes() {
            return 0;
        }

        @Override
        public long weightBytesPerToken() {
            return 0;
        }

        @Override
        public Session newSession(int capacity, PrefillAttention attention, DecodeAttention decode) {
            throw new UnsupportedOperationException();
        }

        @Override
        public MemoryUse memory() {
            return MEMORY;
        }

        @Override
        public void close() {
        }
    }
}
