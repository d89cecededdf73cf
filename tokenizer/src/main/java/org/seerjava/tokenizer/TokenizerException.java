package org.seerjava.tokenizer;

import java.io.IOException;

/**
 * A tokenizer that cannot be loaded or used: a file that is missing, too large or malformed, a component this module
 * does not implement (named in the message, so that nothing is encoded differently from the Hugging Face library
 * without notice), or a model whose text cannot be tokenized at all.
 */
public final class TokenizerException extends IOException {
    private static final long serialVersionUID = 1L;

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
