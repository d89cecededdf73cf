/**
 * Text to token ids and back for a checkpoint: its Hugging Face {@code tokenizer.json}, or one token per byte for
 * the embedded byte-level model.
 *
 * <h2>Use</h2>
 * <pre>{@code
 * Tokenizer tok = Tokenizers.forCheckpoint(modelDir, config.vocabSize());   // refuses what it cannot tokenize
 * int[] prompt = tok.encode("The quick brown fox", true);                  // with BOS where the model wants one
 * StreamDecoder out = tok.streamDecoder(true);                             // one per generation
 * for (int id : generatedIds) {
 *     System.out.print(out.step(id));                                      // whole characters only
 *     if (Arrays.stream(tok.eosIds()).anyMatch(e -> e == id)) break;
 * }
 * String text = tok.decode(ids, true);                                     // skip special tokens
 * }</pre>
 *
 * <ul>
 *   <li>{@link org.seerjava.tokenizer.Tokenizers#forCheckpoint}: {@code tokenizer.json} when the directory has one
 *       (every id it produces must fit the model's vocabulary); the {@link org.seerjava.tokenizer.ByteTokenizer}
 *       when the model's vocabulary is the 256-byte one; otherwise a {@link org.seerjava.tokenizer.TokenizerException}
 *       ("model X has a 32000-token vocabulary but no tokenizer.json: cannot tokenize text for it").</li>
 *   <li>{@link org.seerjava.tokenizer.HfTokenizer}: encodes and decodes as the Hugging Face {@code tokenizers}
 *       library 0.23 does, for the BPE tokenizers of Llama-family checkpoints: byte-level BPE (Llama 3, Qwen2,
 *       GPT-2 style) and Metaspace BPE with byte fallback (Llama 2, Mistral). BOS and EOS come from
 *       {@code generation_config.json}, {@code config.json} or {@code tokenizer_config.json} (EOS may be a
 *       list).</li>
 *   <li>{@link org.seerjava.tokenizer.StreamDecoder}: the library's {@code DecodeStream}, for printing generated
 *       text as it comes.</li>
 * </ul>
 *
 * <h2>What is implemented</h2>
 * Model: {@code BPE} ({@code byte_fallback}, {@code fuse_unk}, {@code unk_token}, {@code ignore_merges}, merges as
 * {@code "a b"} or {@code ["a", "b"]}). Normalizers: {@code NFC NFD NFKC NFKD Lowercase Prepend Replace Strip
 * Sequence}. Pre-tokenizers: {@code Split} (String or Regex, every behavior, invert), {@code ByteLevel},
 * {@code Metaspace}, {@code Sequence}. Post-processors: {@code TemplateProcessing} (single sequence),
 * {@code ByteLevel}, {@code Sequence}. Decoders: {@code ByteLevel ByteFallback Fuse Strip Replace Metaspace Sequence}.
 * Added tokens with {@code special}, {@code normalized}, {@code lstrip}, {@code rstrip}, {@code single_word}.
 * Anything else (WordPiece, Unigram, a Precompiled or BertNormalizer normalizer, a Whitespace or Digits
 * pre-tokenizer, RobertaProcessing, truncation, padding to a length, BPE dropout) is refused when the file is read,
 * with a message that names the component and where it is in the file. A tokenizer.json is read with a 64 MiB cap.
 *
 * <p>Split regexes are written for Oniguruma (the library's engine); {@link org.seerjava.tokenizer.OnigRegex} turns
 * them into {@code java.util.regex} patterns with the same matches ({@code \s} as Unicode White_Space, Unicode case
 * folding in {@code (?i)}, ...) and refuses the constructs whose meaning differs.
 *
 * <h2>How it is checked</h2>
 * The tests compare, string by string, with encodings and decodings written by the real library
 * ({@code tokenizer/scripts/make_fixtures.py}): several thousand characters of mixed text (code, CJK, emoji,
 * combining marks, right-to-left text, whitespace runs, tabs, CRLF, digits, contractions, special-token strings)
 * and a few hundred random strings, for tokenizers trained with that library in both styles.
 */
package org.seerjava.tokenizer;
