#!/usr/bin/env python3
"""Makes the tokenizer fixtures that the Java tests of seer-tokenizer compare against.

The Java module re-implements the Hugging Face `tokenizers` library (0.23.x) for the two tokenizer.json styles
that Llama-family checkpoints ship. This script produces the ground truth with the real library:

1. It trains, on a slice of the project's corpus (corpus/train-excerpt.bin) plus the mixed-text file, two small
   BPE vocabularies with `tokenizers` itself:
     - a byte-level BPE (the alphabet of 256 byte characters, pre-tokenized with the Llama 3 split regex), and
     - a "Metaspace" BPE whose vocabulary holds <unk>, <s>, </s> and the 256 byte tokens <0x00>..<0xFF>
       (the layout of the Llama 2 / Mistral sentencepiece vocabularies).
2. It writes tokenizer.json files around those vocabularies with the components the real checkpoints configure:
     llama3-style     byte-level BPE, Split(Llama 3 regex) + ByteLevel(use_regex=false), ignore_merges, BOS
                      through Sequence[ByteLevel, TemplateProcessing], merges in the legacy "a b" form
     qwen2-style      NFC normalizer, Split(Qwen2 regex), no BOS, non-special added tokens, merges as pairs
     gpt2-addedflags  ByteLevel(add_prefix_space, use_regex) with the GPT-2 regex, NFKC+Lowercase normalizer, added
                      tokens with lstrip / rstrip / single_word / normalized, "<s> $A </s>" template
     splits-variants  NFD + Replace(regex) + Strip normalizers, Split with every behaviour, invert, \\w \\d \\p{Han}
     llama2-style     normalizer Sequence[Prepend("▁"), Replace(" ", "▁")], no pre-tokenizer, byte_fallback,
                      fuse_unk, decoder Sequence[Replace, ByteFallback, Fuse, Strip(1, 0)], "<s> $A" template
     mistral-style    pre-tokenizer Metaspace(prepend_scheme "first", split false), [INST] added tokens
     metaspace-unk    Metaspace(prepend_scheme "always", split true) without byte fallback (<unk> path), Metaspace
                      decoder
   and, when the installed transformers + sentencepiece can do it, llama2-spm-converted: a sentencepiece BPE model
   (byte_fallback) trained on the same text and converted by transformers into a tokenizer.json.
3. For every tokenizer it records, for every case string (the mixed text whole, per paragraph and per line, edge
   cases, and random strings drawn with a fixed seed from a pool that stresses whitespace, digits, contractions,
   scripts, emoji, combining marks and special-token strings): the ids with and without special tokens, the
   decoded text with and without skip_special_tokens, the DecodeStream chunks for the lines, and the decodings of
   random id sequences (invalid UTF-8 included).

Output: one directory with cases.json, <name>/tokenizer.json (+ tokenizer_config.json / generation_config.json)
and expected-<name>.json.gz per tokenizer, manifest.json (library versions, sizes), packed as fixtures.tar.gz.

Usage (python3 with tokenizers; transformers and sentencepiece optional; no network):
    python3 make_fixtures.py --corpus corpus/train-excerpt.bin --mixed mixed-text.txt --out OUTDIR
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tarfile
import time
import traceback

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
META = "\u2581"
SEED = 20261204
LOG = []


def log(*args):
    line = " ".join(str(a) for a in args)
    LOG.append(line)
    print(line, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# JSON building blocks, written as the library serializes them
# ---------------------------------------------------------------------------------------------------------------

def bpe_model(vocab, merges, **kw):
    m = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
         "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
         "vocab": vocab, "merges": merges}
    m.update(kw)
    return m


def tokenizer_doc(model, normalizer=None, pre_tokenizer=None, post_processor=None, decoder=None, added=()):
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": list(added),
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
            "decoder": decoder, "model": model}


def added(tid, content, special=True, normalized=None, lstrip=False, rstrip=False, single_word=False):
    return {"id": tid, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def split(pattern, behavior, invert=False, literal=False):
    return {"type": "Split", "pattern": {"String" if literal else "Regex": pattern}, "behavior": behavior,
            "invert": invert}


def byte_level(add_prefix_space=False, trim_offsets=True, use_regex=True):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": trim_offsets,
            "use_regex": use_regex}


def metaspace(prepend_scheme, split_words):
    return {"type": "Metaspace", "replacement": META, "prepend_scheme": prepend_scheme, "split": split_words}


def template(single, pair, specials):
    def piece(p, type_id):
        if p in ("$A", "$B"):
            return {"Sequence": {"id": p[1], "type_id": type_id}}
        return {"SpecialToken": {"id": p, "type_id": type_id}}

    def pieces(spec):
        out, type_id = [], 0
        for p in spec:
            if p == "$B":
                type_id = 1
            out.append(piece(p, type_id))
        return out

    return {"type": "TemplateProcessing", "single": pieces(single), "pair": pieces(pair),
            "special_tokens": {c: {"id": c, "ids": [i], "tokens": [c]} for c, i in specials}}


def llama2_decoder():
    return {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": META}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}


# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------

def training_text(corpus_path, mixed):
    data = open(corpus_path, "rb").read()
    chunk = 512 * 1024
    take = 96 * 1024
    parts = []
    for i in (0, 1, 3, 6):
        parts.append(data[i * chunk: i * chunk + take].decode("utf-8", errors="ignore"))
    text = "\n".join(parts) + ("\n" + mixed) * 5
    log("training text:", len(text), "chars; sha256 of the corpus file",
        hashlib.sha256(data).hexdigest()[:16])
    return text


def lines_of(text):
    out = []
    for ln in text.split("\n"):
        out.append(ln + "\n")
    return out


def merges_as_pairs(merges):
    pairs = []
    for m in merges:
        if isinstance(m, str):
            a, b = m.split(" ")
            pairs.append([a, b])
        else:
            pairs.append([m[0], m[1]])
    return pairs


def train(tokenizers, doc, trainer, lines):
    tok = tokenizers.Tokenizer.from_str(json.dumps(doc))
    tok.train_from_iterator(lines, trainer=trainer)
    trained = json.loads(tok.to_str())
    return trained["model"]["vocab"], merges_as_pairs(trained["model"]["merges"])


def train_byte_level(tokenizers, text):
    from tokenizers import trainers, pre_tokenizers
    pre = {"type": "Sequence", "pretokenizers": [split(LLAMA3_REGEX, "Isolated"),
                                                 byte_level(False, True, False)]}
    trainer = trainers.BpeTrainer(vocab_size=2600, min_frequency=2, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    vocab, merges = train(tokenizers, tokenizer_doc(bpe_model({}, []), pre_tokenizer=pre), trainer, lines_of(text))
    log("byte-level vocabulary:", len(vocab), "tokens,", len(merges), "merges")
    return vocab, merges


def train_metaspace(tokenizers, text):
    from tokenizers import trainers
    specials = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    norm = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": META},
                                                {"type": "Replace", "pattern": {"String": " "}, "content": META}]}
    pre = split(META + "*[^" + META + "]+|" + META + "+", "Isolated")
    trainer = trainers.BpeTrainer(vocab_size=1800, min_frequency=2, show_progress=False, special_tokens=specials,
                                  limit_alphabet=150)
    doc = tokenizer_doc(bpe_model({}, [], unk_token="<unk>"), normalizer=norm, pre_tokenizer=pre)
    # Lines without their newline: as in Llama 2, a newline is then encoded through the byte token <0x0A>.
    vocab, merges = train(tokenizers, doc, trainer, [ln for ln in text.split("\n") if ln])
    for i, s in enumerate(specials):
        assert vocab[s] == i, (s, vocab.get(s), i)
    log("metaspace vocabulary:", len(vocab), "tokens,", len(merges), "merges")
    return vocab, merges


# ---------------------------------------------------------------------------------------------------------------
# The tokenizers
# ---------------------------------------------------------------------------------------------------------------

def build_docs(bl_vocab, bl_merges, ms_vocab, ms_merges):
    """name -> (tokenizer.json document, keep legacy merges?, extra files)"""
    docs = {}
    n = len(bl_vocab)

    # Llama 3: special tokens after the vocabulary, BOS template, ignore_merges, legacy "a b" merges.
    l3_names = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
    l3 = tokenizer_doc(
        bpe_model(bl_vocab, [a + " " + b for a, b in bl_merges], ignore_merges=True),
        pre_tokenizer={"type": "Sequence", "pretokenizers": [split(LLAMA3_REGEX, "Isolated"),
                                                             byte_level(False, True, False)]},
        post_processor={"type": "Sequence", "processors": [
            byte_level(True, False, True),
            template(["<|begin_of_text|>", "$A"], ["<|begin_of_text|>", "$A", "<|begin_of_text|>", "$B"],
                     [("<|begin_of_text|>", n)])]},
        decoder=byte_level(True, True, True),
        added=[added(n + i, c) for i, c in enumerate(l3_names)])
    docs["llama3-style"] = (l3, {
        "tokenizer_config.json": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                                  "model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast"},
        "generation_config.json": {"bos_token_id": n, "eos_token_id": [n + 1, n + 8, n + 9]}})

    # Qwen2: NFC, its own regex (single digits), no BOS, ignore_merges false, non-special added tokens.
    q_names = [("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
               ("<tool_call>", False), ("</tool_call>", False)]
    q2 = tokenizer_doc(
        bpe_model(bl_vocab, bl_merges, ignore_merges=False),
        normalizer={"type": "NFC"},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [split(QWEN2_REGEX, "Isolated"),
                                                             byte_level(False, False, False)]},
        post_processor=byte_level(False, False, False),
        decoder=byte_level(False, False, False),
        added=[added(n + i, c, special=s, normalized=False) for i, (c, s) in enumerate(q_names)])
    docs["qwen2-style"] = (q2, {
        "tokenizer_config.json": {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
        "generation_config.json": {"eos_token_id": [n + 2, n]}})

    # GPT-2 regex inside ByteLevel, prefix space, added tokens with every flag, "<s> $A </s>".
    g_added = [added(n, "<s>"), added(n + 1, "</s>"),
               added(n + 2, "<mask>", lstrip=True, normalized=False),
               added(n + 3, "<tool_call>", special=False, normalized=False, rstrip=True),
               added(n + 4, "hello world", special=False, normalized=True),
               added(n + 5, "ell", special=False, normalized=True, single_word=True),
               added(n + 6, "<|endoftext|>", lstrip=True, rstrip=True, normalized=False),
               added(n + 7, "ĠGrö", special=False, normalized=True)]
    g2 = tokenizer_doc(
        bpe_model(bl_vocab, bl_merges),
        normalizer={"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
        pre_tokenizer=byte_level(True, True, True),
        post_processor=template(["<s>", "$A", "</s>"], ["<s>", "$A", "</s>", "</s>", "$B", "</s>"],
                                [("<s>", n), ("</s>", n + 1)]),
        decoder=byte_level(True, True, True),
        added=g_added)
    docs["gpt2-addedflags"] = (g2, {"tokenizer_config.json": {"bos_token": "<s>", "eos_token": "</s>"}})

    # Every Split behaviour, invert, literal patterns, \w \d \p{Han}; NFD, Replace(regex), Strip normalizers.
    sv = tokenizer_doc(
        bpe_model(bl_vocab, bl_merges),
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "NFD"},
            {"type": "Replace", "pattern": {"Regex": r"\t+"}, "content": " "},
            {"type": "Strip", "strip_left": True, "strip_right": True}]},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            split("--", "Removed", literal=True),
            split(r"\d+", "Contiguous"),
            split(r"[.,;:!?]", "MergedWithPrevious"),
            split(" ", "MergedWithNext", literal=True),
            split(r"\p{Han}", "Isolated"),
            split(r"\w+", "MergedWithPrevious", invert=True),
            split(r"\s+", "Removed", invert=True),
            byte_level(False, True, False)]},
        decoder=byte_level(False, True, True),
        added=[added(n, "<|endoftext|>")])
    docs["splits-variants"] = (sv, {})

    # Llama 2: Prepend + Replace normalizer, no pre-tokenizer, byte fallback, legacy merges.
    ms_specials = [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")]
    for a in ms_specials:
        a["normalized"] = False
    m = len(ms_vocab)
    l2 = tokenizer_doc(
        bpe_model(ms_vocab, [a + " " + b for a, b in ms_merges], unk_token="<unk>", fuse_unk=True,
                  byte_fallback=True),
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": META},
            {"type": "Replace", "pattern": {"String": " "}, "content": META}]},
        post_processor=template(["<s>", "$A"], ["<s>", "$A", "<s>", "$B"], [("<s>", 1)]),
        decoder=llama2_decoder(),
        added=ms_specials)
    docs["llama2-style"] = (l2, {
        "tokenizer_config.json": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                                  "add_bos_token": True, "add_eos_token": False, "legacy": True},
        "generation_config.json": {"bos_token_id": 1, "eos_token_id": 2}})

    # Mistral (legacy=false conversions): Metaspace(first, split=false) pre-tokenizer, no normalizer.
    mi = tokenizer_doc(
        bpe_model(ms_vocab, ms_merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True),
        pre_tokenizer=metaspace("first", False),
        post_processor=template(["<s>", "$A"], ["<s>", "$A", "<s>", "$B"], [("<s>", 1)]),
        decoder=llama2_decoder(),
        added=[dict(a) for a in ms_specials] + [added(m, "[INST]"), added(m + 1, "[/INST]")])
    docs["mistral-style"] = (mi, {
        "tokenizer_config.json": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "legacy": False},
        "generation_config.json": {"bos_token_id": 1, "eos_token_id": 2}})

    # Metaspace(always, split) without byte fallback: characters outside the vocabulary become <unk>.
    mu = tokenizer_doc(
        bpe_model(ms_vocab, ms_merges, unk_token="<unk>", fuse_unk=False, byte_fallback=False),
        pre_tokenizer=metaspace("always", True),
        decoder=metaspace("always", True),
        added=[dict(a) for a in ms_specials])
    docs["metaspace-unk"] = (mu, {})
    return docs


def spm_converted(text, workdir):
    """A sentencepiece BPE model (byte fallback) converted to tokenizer.json by transformers, if possible."""
    import sentencepiece as spm
    prefix = os.path.join(workdir, "spm")
    sentences = [ln for ln in text.split("\n") if ln.strip()]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=prefix, model_type="bpe", vocab_size=1500,
        byte_fallback=True, character_coverage=0.9995, split_digits=True, allow_whitespace_only_pieces=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity", unk_id=0, bos_id=1, eos_id=2,
        pad_id=-1, num_threads=4, minloglevel=2)
    model_file = prefix + ".model"
    errors = []
    attempts = []

    def via_fast():
        from transformers import LlamaTokenizerFast
        t = LlamaTokenizerFast(vocab_file=model_file, legacy=True, from_slow=True)
        return t.backend_tokenizer.to_str()

    def via_v5():
        from transformers import LlamaTokenizer
        t = LlamaTokenizer(vocab_file=model_file)
        bt = getattr(t, "backend_tokenizer", None) or getattr(t, "_tokenizer")
        return bt.to_str()

    def via_converter():
        from transformers.convert_slow_tokenizer import LlamaConverter

        class Slow:
            vocab_file = model_file
            legacy = True
            add_prefix_space = None
            bos_token = "<s>"
            eos_token = "</s>"
            unk_token = "<unk>"
            add_bos_token = True
            add_eos_token = False

        return LlamaConverter(Slow()).converted().to_str()

    attempts = [("LlamaTokenizerFast(from_slow)", via_fast), ("LlamaTokenizer", via_v5),
                ("LlamaConverter", via_converter)]
    for name, fn in attempts:
        try:
            doc = json.loads(fn())
            size = len(doc.get("model", {}).get("vocab", {}))
            if size < 1000:
                # transformers 5.17's LlamaTokenizerFast(vocab_file=...) builds an empty tokenizer (3 tokens)
                # instead of reading the sentencepiece model: not a conversion worth testing against
                errors.append(name + ": produced a vocabulary of %d tokens" % size)
                log("spm conversion through", name, "gave only", size, "tokens; discarded")
                continue
            log("spm conversion through", name, "worked")
            return doc, name, errors
        except Exception as e:  # noqa: BLE001 - every failure is reported, the next way is tried
            errors.append(name + ": " + repr(e)[:400])
            log("spm conversion through", name, "failed:", repr(e)[:300])
    return None, None, errors


# ---------------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------------

POOL = (
    list("abcdefghijklmnopqrstuvwxyz") * 3 + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ") * 2 + list("0123456789") * 3
    + list("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~") + ["'"] * 4
    + [" "] * 12 + ["  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r", "\r\n", "\r\n\r\n", " \n", "\n "]
    + ["\u00a0", "\u3000", "\u2009", "\u200b", "\u0085", "\u2028", "\u2029", "\u000b", "\u000c", "\u001c",
       "\u001f", "\u180e", "\u2060", "\ufeff", "\u00ad"]
    + ["'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D",
       "\u017f", "'\u017f", "\u212a", "'\u212a", "\u2019s", "''"]
    + ["é", "e\u0301", "\u0301", "\u0308", "\u0300\u0301", "ß", "ẞ", "İ", "ı", "Σ", "σ", "ς", "Ω", "Ǆ", "ǅ",
       "ﬁ", "ﬃ", "Ⅻ", "㎞", "①", "½", "²", "¹", "³", "١", "٢", "४", "𝟙", "𝟚", "Ⅷ", "〇", "𝔸"]
    + ["中", "文", "日本", "語", "カ", "タ", "ｶ", "ﾀ", "ひ", "한", "글", "ع", "ر", "ש", "ל", "\u200f", "\u200e",
       "न", "म", "\u094d", "ส", "\u0e31"]
    + ["😀", "👍", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "✨", "🦙", "1️⃣", "\ufe0f", "\u200d"]
    + ["Ġ", "Ċ", "ĉ", "▁", "▁▁", "<0x41>", "<0xFF>", "<0x0A>", "<0x", ">"]
    + ["<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>",
       "<|im_end|>", "<|im_start|>", "<|endoftext|>", "<tool_call>", "</tool_call>", "<mask>", "<MASK>",
       "[INST]", "[/INST]", "<|", "|>", "hello world", "Hello World", "HELLO  WORLD", "ell", "hello", "Grö",
       "--", "---", "the", " the", "The", " and", "ing", "tion", "123", "4567", "3.14", "1,000"]
)

EDGE_CASES = [
    "", " ", "  ", "   ", "\n", "\n\n", "\r\n", "\t", " \t ", "a", "A", "ab", " a", "a ", " a ", "hello", " hello",
    "hello ", "Hello world", "Hello  world", "Hello\nworld", "Hello\r\nworld", "Hello \n world", "Hello\n\n\nworld",
    "1", "12", "123", "1234", "12345", "1234567890", " 123", "a1b22c333d4444", "'s", "'S", "it's", "IT'S", "I'm",
    "you'LL", "x'ſ", "x'\u212a", "\u00a0", "a\u00a0b", "\u3000x", "x\u3000", "é", "e\u0301", "\u0301", "\u0301a",
    "中文", "😀", "👨‍👩‍👧‍👦", "🇫🇷", "<s>", " <s>", "<s> ", "<s><s>", "<s>hello", "hello<s>", "hello <s> world",
    "</s>", "<unk>", "<|begin_of_text|>", "<|begin_of_text|>hi", "hi<|eot_id|>", "<|eot_id|><|eot_id|>",
    "<|begin_of_text", "<mask>", "  <mask>  x", "x<mask>y", "<tool_call>  x", "<|endoftext|>", " <|endoftext|> ",
    "hello world", "Hello World", "say hello world!", "ell", " ell ", "hell", "yell ell", "ĠGrö", "Grö", " Grö",
    "[INST] hi [/INST]", "<0x41>", "▁", "▁▁", " ▁ ", "Ġ", "--", "a--b", "a---b", "--a--", "\t\ta", "a\t\tb",
    "x" * 300, " " * 50, "ab" * 150, "1" * 40, "\n" * 20, "中" * 30,
]


def random_cases(rng, count):
    out = []
    for _ in range(count):
        k = rng.choice((1, 2, 3, 4, 6, 8, 12, 16, 24, 32))
        out.append("".join(rng.choice(POOL) for _ in range(k)))
    return out


def make_cases(mixed):
    cases = [{"kind": "mixed-whole", "text": mixed}]
    for para in mixed.split("\n\n"):
        if para:
            cases.append({"kind": "mixed-paragraph", "text": para})
    pieces = mixed.split("\n")
    for i, ln in enumerate(pieces):
        text = ln + ("\n" if i + 1 < len(pieces) else "")
        if text:
            cases.append({"kind": "mixed-line", "text": text})
    for t in EDGE_CASES:
        cases.append({"kind": "edge", "text": t})
    for t in random_cases(random.Random(SEED), 360):
        cases.append({"kind": "random", "text": t})
    return cases


# ---------------------------------------------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------------------------------------------

def stream_chunks(tok, ids, skip):
    from tokenizers.decoders import DecodeStream
    ds = DecodeStream(skip_special_tokens=skip)
    return [ds.step(tok, i) for i in ids]


def expectations(name, tok, cases, rng):
    exp = {"name": name, "vocab_size": tok.get_vocab_size(with_added_tokens=False),
           "vocab_size_with_added": tok.get_vocab_size(with_added_tokens=True), "cases": [], "decodes": []}
    stream_errors = 0
    for c in cases:
        text = c["text"]
        e_sp = tok.encode(text, add_special_tokens=True)
        e_pl = tok.encode(text, add_special_tokens=False)
        dec = tok.decode(e_sp.ids, skip_special_tokens=False)
        dec_skip = tok.decode(e_sp.ids, skip_special_tokens=True)
        row = {"ids": e_sp.ids, "ids_plain": e_pl.ids,
               "decoded": None if dec == text else dec,
               "decoded_skip": None if dec_skip == dec else dec_skip}
        if c["kind"] in ("mixed-line", "edge"):
            row["tokens"] = e_pl.tokens
            try:
                row["stream"] = stream_chunks(tok, e_sp.ids, False)
                row["stream_skip"] = stream_chunks(tok, e_sp.ids, True)
            except Exception as ex:  # noqa: BLE001 - recorded, the Java test then expects an error too
                stream_errors += 1
                row["stream_error"] = repr(ex)[:200]
        exp["cases"].append(row)
    total = exp["vocab_size_with_added"]
    added_ids = sorted(tok.get_added_tokens_decoder().keys())
    byte_ids = [tok.token_to_id("<0x%02X>" % b) for b in range(256)]
    byte_ids = [i for i in byte_ids if i is not None]
    for k in range(160):
        length = rng.randint(1, 12)
        ids = []
        for _ in range(length):
            r = rng.random()
            if r < 0.25 and added_ids:
                ids.append(rng.choice(added_ids))
            elif r < 0.5 and byte_ids:
                ids.append(rng.choice(byte_ids))
            elif r < 0.55:
                ids.append(total + rng.randint(0, 5))  # ids the tokenizer does not know
            else:
                ids.append(rng.randrange(0, max(1, total)))
        row = {"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
               "decoded_skip": tok.decode(ids, skip_special_tokens=True)}
        exp["decodes"].append(row)
    exp["specials"] = {t.content: i for i, t in tok.get_added_tokens_decoder().items()}
    probe = ["<unk>", "<s>", "</s>", "<0x41>", "Ġthe", "▁the", "the", "<|begin_of_text|>", "no-such-token"]
    exp["token_to_id"] = {p: tok.token_to_id(p) for p in probe}
    exp["id_to_token"] = {str(i): tok.id_to_token(i) for i in (0, 1, 2, 3, 100, 258, 259, total - 1, total)}
    log(name, ": cases", len(exp["cases"]), "decodes", len(exp["decodes"]), "stream errors", stream_errors)
    return exp


def find_real_files(limit_seconds=25.0, max_files=4, max_bytes=12 * 1024 * 1024):
    """tokenizer.json files of real checkpoints that happen to be on this machine (a Hugging Face cache, say)."""
    roots = [os.environ.get("SEER_TOK_EXTRA_ROOT", "/nonexistent"), os.path.expanduser("~/.cache"), "/root", "/opt", "/data", "/models", "/workspace", "/home", "/mnt",
             "/srv", "/usr/share"]
    found, seen, t0 = [], set(), time.time()
    for root in roots:
        if not os.path.isdir(root):
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            if time.time() - t0 > limit_seconds or len(found) >= max_files:
                return found
            dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev", "node_modules", ".git")]
            if "tokenizer.json" in filenames:
                path = os.path.join(dirpath, "tokenizer.json")
                try:
                    real = os.path.realpath(path)
                    size = os.path.getsize(real)
                    if real in seen or size > max_bytes or size < 1000:
                        continue
                    seen.add(real)
                    head = json.load(open(real, encoding="utf-8"))
                    if (head.get("model") or {}).get("type") == "BPE":
                        found.append(path)
                except Exception as e:  # noqa: BLE001
                    log("real tokenizer.json unreadable:", path, repr(e)[:200])
    return found


def dump(path, obj, indent=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent, separators=(",", ":") if indent is None else None)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--mixed", required=True)
    ap.add_argument("--out", required=True, help="receives fixtures.tar.gz and log.txt only")
    ap.add_argument("--work", default="/tmp/seer-tok-fixtures", help="scratch directory")
    args = ap.parse_args()
    t0 = time.time()
    import tokenizers

    out = args.out
    os.makedirs(out, exist_ok=True)
    if os.path.isdir(args.work):
        shutil.rmtree(args.work)
    fx = os.path.join(args.work, "hf-fixtures")
    os.makedirs(fx, exist_ok=True)
    manifest = {"tokenizers": tokenizers.__version__, "python": sys.version.split()[0], "seed": SEED,
                "made_by": "tokenizer/scripts/make_fixtures.py"}
    for mod in ("transformers", "sentencepiece"):
        try:
            manifest[mod] = __import__(mod).__version__
        except Exception as e:  # noqa: BLE001
            manifest[mod] = "unavailable: " + repr(e)[:100]
    log("versions:", manifest)

    mixed = open(args.mixed, encoding="utf-8", newline="").read()
    text = training_text(args.corpus, mixed)
    bl_vocab, bl_merges = train_byte_level(tokenizers, text)
    ms_vocab, ms_merges = train_metaspace(tokenizers, text)
    docs = build_docs(bl_vocab, bl_merges, ms_vocab, ms_merges)

    cases = make_cases(mixed)
    dump(os.path.join(fx, "cases.json"), {"seed": SEED, "cases": cases}, indent=0)
    log("cases:", len(cases))

    failures = []
    names = list(docs.keys())
    try:
        doc, how, errs = spm_converted(text, args.work)
        manifest["spm_conversion_errors"] = errs
        if doc is not None:
            docs["llama2-spm-converted"] = (doc, {"tokenizer_config.json": {"bos_token": "<s>", "eos_token": "</s>",
                                                                             "unk_token": "<unk>"}})
            manifest["spm_conversion"] = how
            names.append("llama2-spm-converted")
    except Exception as e:  # noqa: BLE001 - optional fixture
        manifest["spm_conversion_errors"] = [repr(e)[:400]]
        log("spm conversion skipped:", repr(e)[:300])

    try:
        real = find_real_files()
        log("real tokenizer.json files found on this machine:", real)
        manifest["real_files"] = {}
        for k, path in enumerate(real):
            name = "real-%d" % k
            raw = open(path, encoding="utf-8").read()
            extra = {}
            for side in ("tokenizer_config.json", "generation_config.json", "config.json"):
                p = os.path.join(os.path.dirname(path), side)
                if os.path.exists(p):
                    try:
                        extra[side] = json.load(open(p, encoding="utf-8"))
                    except Exception:  # noqa: BLE001
                        pass
            docs[name] = (raw, extra)  # kept byte for byte
            manifest["real_files"][name] = path
            names.append(name)
    except Exception as e:  # noqa: BLE001 - optional
        log("search for real files failed:", repr(e)[:300])

    rng = random.Random(SEED + 1)
    sizes = {}
    for name in names:
        doc, extra = docs[name]
        try:
            raw = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False, indent=1)
            tok = tokenizers.Tokenizer.from_str(raw)
            if name in ("qwen2-style", "mistral-style"):
                raw = tok.to_str(pretty=True)  # the library's own serialization (merges as pairs)
                tok = tokenizers.Tokenizer.from_str(raw)
            d = os.path.join(fx, name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8", newline="\n") as f:
                f.write(raw)
                if not isinstance(doc, str):
                    f.write("\n")
            for fname, obj in extra.items():
                dump(os.path.join(d, fname), obj, indent=2)
            exp = expectations(name, tok, cases, rng)
            exp_path = os.path.join(fx, "expected-" + name + ".json")
            dump(exp_path, exp)
            with open(exp_path, "rb") as f_in, gzip.GzipFile(exp_path + ".gz", "wb", mtime=0) as f_out:
                f_out.write(f_in.read())  # the tests read the gzipped copy: the fixtures stay near 1 MB
            os.remove(exp_path)
            sizes[name] = [os.path.getsize(os.path.join(d, "tokenizer.json")), os.path.getsize(exp_path + ".gz")]
        except Exception:  # noqa: BLE001 - keep going, report at the end
            failures.append(name)
            log("FAILED", name, traceback.format_exc())
    manifest["sizes"] = sizes
    manifest["failures"] = failures
    manifest["seconds"] = round(time.time() - t0, 1)
    dump(os.path.join(fx, "manifest.json"), manifest, indent=2)
    total = sum(a + b for a, b in sizes.values())
    log("sizes (tokenizer.json, expected):", sizes, "total bytes", total)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(fx, arcname="hf-fixtures")
    with open(os.path.join(out, "fixtures.tar.gz"), "wb") as f:
        f.write(buf.getvalue())
    log("fixtures.tar.gz:", len(buf.getvalue()), "bytes; failures:", failures, "; seconds", manifest["seconds"])
    with open(os.path.join(out, "log.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(LOG) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
