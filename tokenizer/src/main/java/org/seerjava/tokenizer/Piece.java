package org.seerjava.tokenizer;

/**
 * A piece of the text on its way through the pipeline: either an added token already resolved to its id, or text
 * still to be normalized, pre-tokenized and given to the model.
 *
 * @param text    the piece's (normalized) text
 * @param tokenId the added token's id, or -1 for text
 * @param atStart whether the piece begins at offset 0 of the original input (Metaspace's prepend scheme "first")
 */
record Piece(String text, int tokenId, boolean atStart) {
    static Piece text(String text, boolean atStart) {
        return new Piece(text, -1, atStart);
    }

    boolean isToken() {
        return tokenId >= 0;
    }
}
