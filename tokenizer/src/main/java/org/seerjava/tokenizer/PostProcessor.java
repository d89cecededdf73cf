package org.seerjava.tokenizer;

import java.util.List;

/**
 * A tokenizer.json {@code post_processor}, for a single sequence: what is added around the encoded text when special
 * tokens are requested. Only the ids matter here (offsets and type ids are not produced).
 */
interface PostProcessor {
    /** The final ids and token strings; {@code addSpecialTokens} false leaves the encoding as it is. */
    void process(IntList ids, List<String> tokens, boolean addSpecialTokens, IntList outIds, List<String> outTokens);

    /** {@code ByteLevel} as a post-processor only trims offsets: the ids are unchanged. */
    record ByteLevel() implements PostProcessor {
        @Override
        public void process(IntList ids, List<String> tokens, boolean add, IntList outIds, List<String> outTokens) {
            for (int i = 0; i < ids.size(); i++) {
                outIds.add(ids.get(i));
            }
            outTokens.addAll(tokens);
        }
    }

    /**
     * {@code TemplateProcessing}, its {@code single} template: pieces that are either the sequence ({@code $A}) or a
     * special token (whose ids and strings come from the template's {@code special_tokens}).
     */
    record Template(List<Item> single) implements PostProcessor {
        /** A template piece: the sequence when {@code ids} is null, else a special token. */
        record Item(int[] ids, List<String> tokens) {
            boolean isSequence() {
                return ids == null;
            }
        }

        @Override
        public void process(IntList ids, List<String> tokens, boolean add, IntList outIds, List<String> outTokens) {
            for (Item item : single) {
                if (item.isSequence()) {
                    for (int i = 0; i < ids.size(); i++) {
                        outIds.add(ids.get(i));
                    }
                    outTokens.addAll(tokens);
                } else if (add) {
                    outIds.addAll(item.ids());
                    outTokens.addAll(item.tokens());
                }
            }
        }

        /** The ids of the special tokens before the sequence (the BOS, for Llama). */
        int[] leadingIds() {
            IntList out = new IntList(2);
            for (Item item : single) {
                if (item.isSequence()) {
                    break;
                }
                out.addAll(item.ids());
            }
            return out.toArray();
        }
    }

    /** {@code Sequence}: the processors in order. */
    record Sequence(List<PostProcessor> processors) implements PostProcessor {
        @Override
        public void process(IntList ids, List<String> tokens, boolean add, IntList outIds, List<String> outTokens) {
            IntList curIds = ids;
            List<String> curTokens = tokens;
            for (PostProcessor p : processors) {
                IntList nextIds = new IntList(curIds.size() + 4);
                List<String> nextTokens = new java.util.ArrayList<>(curTokens.size() + 4);
                p.process(curIds, curTokens, add, nextIds, nextTokens);
                curIds = nextIds;
                curTokens = nextTokens;
            }
            for (int i = 0; i < curIds.size(); i++) {
                outIds.add(curIds.get(i));
            }
            outTokens.addAll(curTokens);
        }
    }
}
