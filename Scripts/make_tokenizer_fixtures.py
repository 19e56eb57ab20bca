#!/usr/bin/env python3
"""Pins the Tokenizer target to HuggingFace `tokenizers`, which is the reference it ports.

Writes, from the default encoder's tokenizer.json:

  Sources/Tokenizer/UnicodeTables.swift
      The per-scalar facts BertNormalizer and BertPreTokenizer act on (control, whitespace,
      punctuation, CJK, nonspacing marks, combining classes, canonical decompositions,
      lowercase mappings), measured by probing `tokenizers` one code point at a time. The
      Rust crates behind `tokenizers` freeze general categories at Unicode 8 and NFD at
      Unicode 9, while Swift's own properties follow the newest Unicode, so the only way to
      agree on every code point is to carry the reference's own view of them.
  Tests/TokenizerTests/Fixtures/hard_strings.json
      ids, tokens, offsets and word ids for awkward inputs, in text mode and word mode, for
      the uncased normalizer of the model and a cased one (lowercase and strip_accents off).
  Tests/TokenizerTests/Fixtures/unicode_blocks.txt
      For every block of 4096 code points and both normalizers, FNV-1a hashes of HF's
      normalized text and of its pre-tokenized pieces, so all of Unicode is checked.
  Tests/TokenizerTests/Fixtures/conll2003_hashes.txt
      Per sentence of CoNLL-2003 train/dev/test, FNV-1a hashes of the word-mode ids and word
      ids (the corpus itself is not stored).

Usage: python3 Scripts/make_tokenizer_fixtures.py [--model DIR] [--corpus DIR]
"""
import argparse
import json
import os
import struct
import sys
import unicodedata

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers
from tokenizers import Tokenizer, normalizers, pre_tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = "Scripts/make_tokenizer_fixtures.py"
FIXTURES = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures")
TABLES = os.path.join(ROOT, "Sources", "Tokenizer", "UnicodeTables.swift")

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def int32s(values) -> bytes:
    return struct.pack("<%di" % len(values), *values)


def uncased_normalizer():
    return normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)


def cased_normalizer():
    return normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)


def all_scalars():
    return (cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)


# ---------------------------------------------------------------------------------------------
# Unicode tables
# ---------------------------------------------------------------------------------------------

def ranges(cps):
    """Sorted code points -> "a-b" / "a" hex ranges joined by commas."""
    out, start, prev = [], None, None
    for cp in cps:
        if start is not None and cp == prev + 1:
            prev = cp
            continue
        if start is not None:
            out.append("%x" % start if start == prev else "%x-%x" % (start, prev))
        start = prev = cp
    if start is not None:
        out.append("%x" % start if start == prev else "%x-%x" % (start, prev))
    return ",".join(out)


def mappings(table):
    """{cp: [cps]} -> "cp:t t,..."; runs of single-scalar maps with a constant shift become "a-b>t"."""
    out, items, i = [], sorted(table.items()), 0
    while i < len(items):
        cp, target = items[i]
        j = i
        if len(target) == 1:
            while (j + 1 < len(items) and len(items[j + 1][1]) == 1 and items[j + 1][0] == items[j][0] + 1
                   and items[j + 1][1][0] == items[j][1][0] + 1):
                j += 1
        if j > i:
            out.append("%x-%x>%x" % (cp, items[j][0], target[0]))
        else:
            out.append("%x:%s" % (cp, " ".join("%x" % t for t in target)))
        i = j + 1
    return ",".join(out)


def classes(table):
    """{cp: value} -> "a-b:v" runs."""
    out, items, i = [], sorted(table.items()), 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1][0] == items[j][0] + 1 and items[j + 1][1] == items[i][1]:
            j += 1
        a, b = items[i][0], items[j][0]
        out.append(("%x:%x" % (a, items[i][1])) if a == b else ("%x-%x:%x" % (a, b, items[i][1])))
        i = j + 1
    return ",".join(out)


def probe_tables():
    only = lambda **kw: normalizers.BertNormalizer(**{**dict(clean_text=False, handle_chinese_chars=False,
                                                            strip_accents=False, lowercase=False), **kw})
    clean, chinese, strip, lower = only(clean_text=True), only(handle_chinese_chars=True), only(strip_accents=True), only(lowercase=True)
    nfd = normalizers.NFD()
    pre = pre_tokenizers.BertPreTokenizer()
    control, whitespace, punctuation, cjk, marks = [], [], [], [], []
    decompositions, lowercase, combining = {}, {}, {}
    for cp in all_scalars():
        c = chr(cp)
        cleaned = clean.normalize_str(c)
        if cleaned == "":
            control.append(cp)
        pieces = pre.pre_tokenize_str("a" + c + "a")
        if len(pieces) == 2:
            whitespace.append(cp)
            # clean_text tests for control characters first, so U+000B, U+0085, ... are removed.
            assert cleaned in (" ", ""), hex(cp)
        elif len(pieces) == 3:
            punctuation.append(cp)
        elif cleaned == " ":
            raise SystemExit("U+%04X: clean_text makes it a space but the pre-tokenizer keeps it" % cp)
        if chinese.normalize_str(c) == " " + c + " ":
            cjk.append(cp)
        decomposed = nfd.normalize_str(c)
        if decomposed != c:
            if not 0xAC00 <= cp <= 0xD7A3:  # Hangul syllables decompose by formula
                decompositions[cp] = [ord(x) for x in decomposed]
        elif strip.normalize_str(c) == "":
            marks.append(cp)
        lowered = lower.normalize_str(c)
        if lowered != c:
            lowercase[cp] = [ord(x) for x in lowered]
        ccc = unicodedata.combining(c)
        if ccc and decomposed == c:
            # The reference knows c as a non-starter only if it reorders c against a known one.
            if nfd.normalize_str("a" + c + "\u0334") != "a" + c + "\u0334" or \
               nfd.normalize_str("a\u0301" + c) != "a\u0301" + c:
                combining[cp] = ccc
    return dict(control=control, whitespace=whitespace, punctuation=punctuation, cjk=cjk, marks=marks,
                decompositions=decompositions, lowercase=lowercase, combining=combining)


def write_tables(t):
    def literal(name, doc, value):
        return '    /// %s\n    static let %s = """\n%s\n"""\n' % (doc, name, "\n".join(
            value[i:i + 96] for i in range(0, len(value), 96)))
    body = [
        literal("control", "Removed by clean_text: code points `tokenizers` takes for Cc, Cf, Co (Unicode 8) and U+FFFD, U+0000.", ranges(t["control"])),
        literal("whitespace", "Turned into a space by clean_text and split on by the pre-tokenizer.", ranges(t["whitespace"])),
        literal("punctuation", "Each one its own word: ASCII punctuation and general category P* (Unicode 8).", ranges(t["punctuation"])),
        literal("cjk", "Padded with spaces by handle_chinese_chars.", ranges(t["cjk"])),
        literal("nonspacingMarks", "Dropped by strip_accents after NFD: general category Mn (Unicode 8).", ranges(t["marks"])),
        literal("combiningClasses", "Canonical combining classes NFD sorts by (`first-last:class`, hex).", classes(t["combining"])),
        literal("decompositions", "Full canonical decompositions (`cp:d d`), Hangul syllables excepted.", mappings(t["decompositions"])),
        literal("lowercase", "Lowercase mappings (`cp:l l`, or `first-last>l` for a shifted run).", mappings(t["lowercase"])),
    ]
    text = ("// Generated by %s from HuggingFace tokenizers %s; do not edit.\n"
            "// Code points as hexadecimal, ranges inclusive, entries separated by commas.\n\n"
            "enum UnicodeTables {\n%s}\n") % (SCRIPT, tokenizers.__version__, "\n".join(body))
    with open(TABLES, "w") as f:
        f.write(text)
    print("wrote %s (%d bytes)" % (os.path.relpath(TABLES, ROOT), len(text)))


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------

def load(model_dir, normalizer=None):
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    # tokenizer.json carries fixed-length padding and truncation for sentence embedding; the Swift
    # tokenizer never truncates (long sentences are windowed by the caller), so neither may the reference.
    tok.no_truncation()
    tok.no_padding()
    if normalizer is not None:
        tok.normalizer = normalizer
    return tok


def encoding_json(e):
    return dict(ids=e.ids, tokens=e.tokens, offsets=[list(o) for o in e.offsets], word_ids=e.word_ids)


HARD_STRINGS = [
    "", " ", "   \t\n ", "\n", "Hello, world!", "EU rejects German call to boycott British lamb .",
    "héllo wörld café naïve résumé", "Crème Brûlée À LA CARTE", "e\u0301 a\u0301\u0327 e\u0327\u0301 o\u0308\u0304",
    "\u0301start with a mark", "Ångström Ωmega µ ÅΩ", "İstanbul ıi IĞDIR", "Straße STRASSE ß ẞ",
    "ﬁne ﬂour ﬃ ǅungla Ⅻ ①", "ΣΑΣ ΟΔΥΣΣΕΥΣ σς", "Привет, МИР! Ёлка", "中文abc字 日本語のテキスト 한국어 조선말",
    "東京タワー (Tokyo) 𠀀𪚥", "🤗 emoji🥰 👩‍👩‍👧 🇩🇪 ❤️ 1️⃣", "a\u200bb c\u200dd e\u200cf \ufeffg \u2060h",
    "a\x00b \ufffd c\x07d\x1fe\x7ff\x85g", "soft\u00adhyphen", "nbsp\u00a0here\u2003em\u3000ideographic\u2028line",
    "tab\tsep\r\nline\vvtab\fff", "...!!!???---((()))[[[]]]{{{}}}", "l'homme, (test)!! \"quoted\" — dash – en ‹›«»",
    "¿Qué? ¡Sí! ‽ ⁂ ※ § ¶ † ‡ • ‰", "$100 €50 £3 ¥7 ₹9 #hashtag @user 50% a+b=c a_b a~b `x` ^y |z|",
    "x" * 100, "x" * 101, "supercalifragilisticexpialidocious" * 4, "a" * 250 + " b",
    "مرحبا بالعالم עִבְרִית हिन्दी ภาษาไทย ελληνικά", "Mixed中文English日本語한국어Русский",
    "[CLS] [SEP] [MASK] [PAD] [UNK]", "a[SEP]b[MASK]c [mask] [MASK ] [[SEP]] [SEP[SEP]", "[MASK]\u200b[MASK]",
    "\u0600x \u06dd \U000110bd \U0001d173x \ue000 \U000f0000", "\u1734 \u1885 \u166d \U000111c9",
    "a\U0001d16d\u0301\U0001d165b a\u08d4\u1b44c", "\u1100\u1161\u11a8 \uac00\ud7a3", "\u2126 \u212b \u0958 \uf900 \U0002f800",
    "Ǆ ǅ ǆ Ϊ́ ΐ", "𝐀𝐁𝐂 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ＦＵＬＬＷＩＤＴＨ", "don't won't y'all rock'n'roll", "1996-08-22 3.14 1,000,000 +44-(0)20",
    "U.S.A. e.g. i.e. Dr. Mr. Mrs.", "CAPS lower MiXeD", "\u3000\u3000spaced\u3000out\u3000",
]


def hard_strings(model_dir, bert_fast):
    cases = []
    for name, tok, words_tok in (("uncased", load(model_dir), bert_fast),
                                 ("cased", load(model_dir, cased_normalizer()), None)):
        for text in HARD_STRINGS:
            words = text.split(" ")
            text_mode = encoding_json(tok.encode(text))
            if words_tok is not None:
                enc = words_tok(words, is_split_into_words=True, return_offsets_mapping=True)
                word_mode = dict(ids=enc["input_ids"], tokens=words_tok.convert_ids_to_tokens(enc["input_ids"]),
                                 offsets=[list(o) for o in enc["offset_mapping"]], word_ids=enc.word_ids())
            else:
                word_mode = encoding_json(tok.encode(words, is_pretokenized=True))
            cases.append(dict(normalizer=name, text=text, text_mode=text_mode, words=words, word_mode=word_mode))
    doc = dict(
        generator="%s (tokenizers %s)" % (SCRIPT, tokenizers.__version__),
        about="Text mode is Tokenizer.from_file(tokenizer.json).encode(text) without padding or truncation; "
              "word mode is BertTokenizerFast(words, is_split_into_words=True) with words = text.split(' '). "
              "'cased' swaps in BertNormalizer(lowercase=False, strip_accents=False) over the same vocab.",
        cases=cases)
    path = os.path.join(FIXTURES, "hard_strings.json")
    with open(path, "w") as f:
        json.dump(doc, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d cases, %d bytes)" % (os.path.relpath(path, ROOT), len(cases), os.path.getsize(path)))


BLOCK = 4096


def unicode_blocks():
    pre = pre_tokenizers.BertPreTokenizer()
    lines = ["# Generated by %s (tokenizers %s)." % (SCRIPT, tokenizers.__version__),
             "# normalizer block-start normalized-hash pieces-hash: the block is U+start..U+start+%X without" % (BLOCK - 1),
             "# surrogates, as one string; normalized-hash is FNV-1a 64 of BertNormalizer's output as UTF-8;",
             "# pieces-hash is FNV-1a 64 of \"start,end;\" (scalar offsets into that output, ASCII) for each",
             "# BertPreTokenizer piece."]
    for name, norm in (("uncased", uncased_normalizer()), ("cased", cased_normalizer())):
        for start in range(0, 0x110000, BLOCK):
            text = "".join(chr(cp) for cp in range(start, start + BLOCK) if not 0xD800 <= cp <= 0xDFFF)
            normalized = norm.normalize_str(text)
            pieces = pre.pre_tokenize_str(normalized)
            spans = "".join("%d,%d;" % o for _, o in pieces).encode()
            lines.append("%s %x %016x %016x" % (name, start, fnv1a64(normalized.encode("utf-8", "surrogatepass")),
                                               fnv1a64(spans)))
    path = os.path.join(FIXTURES, "unicode_blocks.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s (%d bytes)" % (os.path.relpath(path, ROOT), os.path.getsize(path)))


def conll_sentences(path):
    sentence = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                if sentence:
                    yield sentence
                sentence = []
            elif fields[0] == "-DOCSTART-":
                continue
            else:
                sentence.append(fields[0])
    if sentence:
        yield sentence


def conll_hashes(corpus, bert_fast):
    lines = ["# Generated by %s (tokenizers %s) from CoNLL-2003 {train,dev,test}.txt." % (SCRIPT, tokenizers.__version__),
             "# One line per sentence (first column of each line; -DOCSTART- lines and blank lines skipped):",
             "# FNV-1a 64 of BertTokenizerFast(words, is_split_into_words=True) input_ids as little-endian",
             "# int32, then of word_ids() likewise with None as -1. 'split NAME COUNT' opens each split."]
    for split in ("train", "dev", "test"):
        sentences = list(conll_sentences(os.path.join(corpus, split + ".txt")))
        lines.append("split %s %d" % (split, len(sentences)))
        for words in sentences:
            enc = bert_fast(words, is_split_into_words=True)
            word_ids = [-1 if w is None else w for w in enc.word_ids()]
            lines.append("%016x %016x" % (fnv1a64(int32s(enc["input_ids"])), fnv1a64(int32s(word_ids))))
        print("%s: %d sentences" % (split, len(sentences)))
    path = os.path.join(FIXTURES, "conll2003_hashes.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s (%d bytes)" % (os.path.relpath(path, ROOT), os.path.getsize(path)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "conll2003"))
    parser.add_argument("--skip-tables", action="store_true", help="leave UnicodeTables.swift alone")
    args = parser.parse_args()
    from transformers import BertTokenizerFast
    bert_fast = BertTokenizerFast.from_pretrained(args.model)
    os.makedirs(FIXTURES, exist_ok=True)
    if not args.skip_tables:
        write_tables(probe_tables())
    hard_strings(args.model, bert_fast)
    unicode_blocks()
    if os.path.isdir(args.corpus):
        conll_hashes(args.corpus, bert_fast)
    else:
        print("no corpus at %s: conll2003_hashes.txt left as it is" % args.corpus, file=sys.stderr)


if __name__ == "__main__":
    main()
