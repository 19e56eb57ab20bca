#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (Fuzz/Corpus/<target>/) and dictionaries (Fuzz/Dictionaries/).

Seeds are small valid and near-valid inputs. A seed named valid-* must be accepted and one named invalid-*
refused with the parser's error; the normal test suite checks both (SeedCorpusTests in each test target), so
the seeds do not rot. Targets whose first input byte picks options (conll, jsonl, label-names,
tokenizer-text) get that byte first; see each target's source for what its bits mean.

    python3 Fuzz/make-seeds.py      # rewrites both folders; commit the result
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "Corpus")
DICTS = os.path.join(HERE, "Dictionaries")


def write(target, name, data, options=None):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if options is not None:
        data = bytes([options]) + data
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- StrictJSON ---------------------------------------------------------------------------------------
for name, text in {
    "valid-object": '{"a": [1, -2.5e3, true, false, null], "b": {"c": "d"}}',
    "valid-escapes": r'["\"\\\/\b\f\n\r\t", "\u00e9\ud83d\ude00", "é😀"]',
    "valid-numbers": "[0, -0, 1.0, 1e10, 1E-10, 123456789012345678901234567890]",
    "valid-duplicate-keys": '{"a": 1, "a": 2, "\u2126": 3, "\u03a9": 4}',
    "valid-scalar": '"just a string"',
    "invalid-trailing-comma": '{"a": 1,}',
    "invalid-leading-zero": "[01]",
    "invalid-lone-surrogate": r'["\ud800"]',
    "invalid-control": '["a\tb"]',
    "invalid-bom": "\ufeff{}",
    "invalid-too-deep": "[" * 65 + "]" * 65,
    "invalid-truncated": '{"a": [1, 2',
    "invalid-after-value": "{} {}",
}.items():
    write("strict-json", name, text)
write("strict-json", "invalid-utf8", b'["\xc3\x28"]')
write("strict-json", "invalid-overlong-utf8", b'["\xc0\xaf"]')

# --- CoNLL (first byte: 0 = token column 0, label column -1, no scheme; 0x30 adds IOB2 checks) ------------------
conll2003 = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
"""
write("conll", "valid-conll2003", conll2003, 0)
write("conll", "valid-conll2003-iob2", conll2003, 0x30)
write("conll", "valid-crlf-bom-no-final-newline", "\ufeffHello\tO\r\nWorld\tB-LOC\r\n\r\nNew York\tB-LOC", 0)
write("conll", "valid-tabs-with-spaces", "New York\tB-LOC\tx\nis\tO\ty\n", 0)
write("conll", "valid-words-only", "one two\nthree four\n\n\n\nfive six\n", 0x04)
write("conll", "valid-two-documents", "-DOCSTART-\na O\n\n-DOCSTART-\nb B-PER\nc I-PER\n", 0)
write("conll", "invalid-column-count", "a B-PER\nb c I-PER\n", 0)
write("conll", "invalid-json-line", '{"tokens": ["a"], "tags": ["O"]}\n', 0)
write("conll", "invalid-utf8", b"caf\xe9 O\n", 0)
write("conll", "invalid-empty", "\n\n-DOCSTART- O\n\n", 0)
write("conll", "invalid-iob2-tag", "a X-PER\n", 0x30)
write("conll", "invalid-column-out-of-range", "a O\n", 0x0C)

# --- JSON Lines (first byte: bit 0 tags optional, bit 1 integer-tag names O,B-PER,I-PER, bit 2 "predictions") ---
rows = [{"tokens": ["Peter", "Blackburn", "said"], "tags": ["B-PER", "I-PER", "O"]},
        {"tokens": ["é", "日本"], "tags": ["O", "O"]}]
write("jsonl", "valid-string-tags", "\n".join(compact(r) for r in rows) + "\n", 0)
write("jsonl", "valid-bom-crlf-blank-lines", "\ufeff" + compact(rows[0]) + "\r\n\r\n  \n" + compact(rows[1]) + "\r\n", 0)
write("jsonl", "valid-integer-ner-tags",
      compact({"id": "0", "tokens": ["Peter", "said"], "ner_tags": [1, 0], "pos_tags": [22, 42]}) + "\n", 2)
write("jsonl", "valid-predictions",
      compact({"tokens": ["a", "b"], "tags": ["O", "B-PER"], "predictions": ["O", "O"]}) + "\n", 4)
write("jsonl", "valid-words-only", compact({"tokens": ["just", "words"]}) + "\n", 1)
write("jsonl", "invalid-tag-count", compact({"tokens": ["a", "b"], "tags": ["O"]}) + "\n", 0)
write("jsonl", "invalid-integer-tags-without-names", compact({"tokens": ["a"], "tags": [0]}) + "\n", 0)
write("jsonl", "invalid-tag-index", compact({"tokens": ["a"], "tags": [3]}) + "\n", 2)
write("jsonl", "invalid-boolean-tag", compact({"tokens": ["a"], "tags": [True]}) + "\n", 2)
write("jsonl", "invalid-not-object", "[1, 2]\n", 0)
write("jsonl", "invalid-conll", "EU B-ORG\nrejects O\n", 0)
write("jsonl", "invalid-empty-tokens", compact({"tokens": [], "tags": []}) + "\n", 0)
write("jsonl", "invalid-utf8", b'{"tokens": ["caf\xe9"], "tags": ["O"]}\n', 0)

# --- --label-names files (first byte: 0 no --tag-field, 1 ner_tags, 2 pos_tags) ----------------------------------
write("label-names", "valid-array", '["O", "B-PER", "I-PER"]', 0)
write("label-names", "valid-labels-object", '{"labels": ["O", "B-LOC"]}', 0)
write("label-names", "valid-config-id2label",
      compact({"id2label": {"0": "O", "1": "B-PER"}, "label2id": {"O": 0, "B-PER": 1}}), 0)
write("label-names", "valid-dataset-info",
      compact({"features": {"ner_tags": {"feature": {"names": ["O", "B-PER"], "_type": "ClassLabel"}, "_type": "Sequence"},
                            "pos_tags": {"feature": {"names": ["NN", "VB"]}}}}), 2)
write("label-names", "valid-lines", "O\r\nB-PER\n\nI-PER\n", 0)
write("label-names", "invalid-duplicate", '["O", "O"]', 0)
write("label-names", "invalid-empty-label", '["O", ""]', 0)
write("label-names", "invalid-no-labels", "\n\n", 0)
write("label-names", "invalid-dataset-info-field", compact({"features": {"tokens": {"feature": {"dtype": "string"}}}}), 1)
write("label-names", "invalid-not-utf8", b"O\n\xff\n", 0)

# --- config.json ---------------------------------------------------------------------------------------------
tiny = {"architectures": ["BertForTokenClassification"], "attention_probs_dropout_prob": 0.0, "classifier_dropout": None,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": 32,
        "id2label": {"0": "O", "1": "B-PER"}, "label2id": {"O": 0, "B-PER": 1}, "initializer_range": 0.1,
        "intermediate_size": 37, "layer_norm_eps": 1e-12, "max_position_embeddings": 40, "model_type": "bert",
        "num_attention_heads": 4, "num_hidden_layers": 2, "pad_token_id": 0, "type_vocab_size": 2, "vocab_size": 99,
        "transformers_version": "4.44.0", "tie_word_embeddings": True, "nested": {"a": [1, 2.5, None]}}
write("config", "valid-tiny", json.dumps(tiny, indent=2))
write("config", "valid-defaults", "{}")
write("config", "valid-gelu-new", compact({"hidden_act": "gelu_new", "hidden_size": 8, "num_attention_heads": 2}))
for name, change in {
    "invalid-heads": {"hidden_size": 30, "num_attention_heads": 4},
    "invalid-negative-layers": {"num_hidden_layers": -1},
    "invalid-activation": {"hidden_act": "swish"},
    "invalid-position-embedding": {"position_embedding_type": "relative_key"},
    "invalid-id2label-key": {"id2label": {"zero": "O"}},
    "invalid-label-mismatch": {"id2label": {"0": "O"}, "label2id": {"O": 1}},
    "invalid-size-type": {"hidden_size": "32"},
}.items():
    write("config", name, compact({**tiny, **change}))
write("config", "invalid-array", "[]")
write("config", "invalid-truncated", '{"hidden_size": 32,')

# --- tokenizer.json ----------------------------------------------------------------------------------------------
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "play", "##ing", "##s", "un", "##able", "é", "日", ".", ","]
specials = [{"id": vocab.index(t), "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for t in vocab[:5]]
tokenizer = {
    "version": "1.0", "truncation": None, "padding": None, "added_tokens": specials,
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None,
                   "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                  {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                       "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                          "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
              "vocab": {t: i for i, t in enumerate(vocab)}},
}
write("tokenizer-json", "valid-template", json.dumps(tokenizer, ensure_ascii=False, indent=1))
bert_processing = {**tokenizer, "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 2], "sep": ["[SEP]", 3]},
                   "normalizer": None,
                   "padding": {"pad_token": "[PAD]"}}
write("tokenizer-json", "valid-bert-processing-cased", compact(bert_processing))
no_post = dict(tokenizer)
del no_post["post_processor"]
no_post["added_tokens"] = specials + [{"id": 15, "content": "<ent>", "single_word": True, "lstrip": True, "rstrip": True,
                                       "normalized": False, "special": False}]
write("tokenizer-json", "valid-added-token", compact(no_post))
for name, doc in {
    "invalid-bpe": {**tokenizer, "model": {**tokenizer["model"], "type": "BPE"}},
    "invalid-no-unk": {**tokenizer, "model": {**tokenizer["model"], "unk_token": "<unk>"}},
    "invalid-normalized-added-token": {**tokenizer, "added_tokens": [{**specials[0], "normalized": True}]},
    "invalid-negative-id": {**tokenizer, "model": {**tokenizer["model"], "vocab": {"[UNK]": -1}}},
    "invalid-pre-tokenizer": {**tokenizer, "pre_tokenizer": {"type": "Whitespace"}},
    "invalid-template": {**tokenizer, "post_processor": {**tokenizer["post_processor"], "single": []}},
    "invalid-empty-vocab": {**tokenizer, "added_tokens": [], "model": {**tokenizer["model"], "vocab": {}}},
}.items():
    write("tokenizer-json", name, compact(doc))
write("tokenizer-json", "invalid-not-object", "[]")

# --- vocab.txt ---------------------------------------------------------------------------------------------------
write("vocab-txt", "valid-small", "\n".join(vocab) + "\n")
write("vocab-txt", "valid-crlf-no-final-newline", "\r\n".join(vocab))
write("vocab-txt", "valid-duplicates-and-blank", "\n".join(vocab + ["the", "", "[UNK]"]) + "\n")
write("vocab-txt", "invalid-empty", "")
write("vocab-txt", "invalid-no-unk", "[PAD]\n[CLS]\n[SEP]\n")
write("vocab-txt", "invalid-no-cls", "[PAD]\n[UNK]\n[SEP]\n")
write("vocab-txt", "invalid-latin1", b"[PAD]\n[UNK]\n[CLS]\n[SEP]\ncaf\xe9\n")

# --- tokenizer_config.json (beside the fuzz target's own small vocab.txt) --------------------------------------
write("tokenizer-config", "valid-minilm", compact({
    "do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
    "mask_token": "[MASK]", "tokenize_chinese_chars": True, "strip_accents": None,
    "name_or_path": "nreimers/MiniLM-L6-H384-uncased", "tokenizer_class": "BertTokenizer", "model_max_length": 512}))
write("tokenizer-config", "valid-added-token-objects", compact({
    "do_lower_case": False, "strip_accents": False,
    "cls_token": {"content": "[CLS]", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                  "__type": "AddedToken"}}))
write("tokenizer-config", "valid-empty", "{}")
write("tokenizer-config", "invalid-lowercase-type", compact({"do_lower_case": "yes"}))
write("tokenizer-config", "invalid-token-type", compact({"unk_token": 100}))
write("tokenizer-config", "invalid-token-content", compact({"sep_token": {"content": None}}))
write("tokenizer-config", "invalid-truncated", '{"do_lower_case": tru')

# --- tokenizer on text (first byte: bit 0 lowercase, 1 strip accents, 2 clean text, 3 Chinese characters) ------
for name, text, options in [
    ("text-english", "Hello, world! Unplayable cafés in New York.", 15),
    ("text-added-tokens", "a [MASK] b[SEP]c [UNK]", 15),
    ("text-cjk-mixed", "日本語のテキストwith English", 12),
    ("text-accents-cased", "Ça va? Ünïcödé ǅ ß İ", 4),
    ("text-controls", "a\u0000b\u200bc\ufeffd\u00a0e\u0301f\tg\r\nh", 5),
    ("text-long-word", "x" * 120 + " ok", 15),
    ("text-emoji", "🙂👍🏽 family: 👨\u200d👩\u200d👧", 15),
]:
    write("tokenizer-text", name, text, options)
write("tokenizer-text", "text-invalid-utf8", b"abc \xff\xfe \xe2\x82 def", 15)

# --- safetensors ---------------------------------------------------------------------------------------------------
def safetensors(header, data, length=None):
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


f32 = struct.pack("<4f", 1.0, -2.0, 0.5, 3.25)
write("safetensors", "valid-f32", safetensors({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, f32))
write("safetensors", "valid-dtypes-metadata", safetensors({
    "__metadata__": {"format": "pt"},
    "a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
    "b": {"dtype": "F16", "shape": [], "data_offsets": [4, 6]},
    "c": {"dtype": "I64", "shape": [1], "data_offsets": [6, 14]},
    "d": {"dtype": "U8", "shape": [2], "data_offsets": [14, 16]},
    "e": {"dtype": "F64", "shape": [1], "data_offsets": [16, 24]},
    "f": {"dtype": "BOOL", "shape": [0, 3], "data_offsets": [24, 24]},
    "g": {"dtype": "U64", "shape": [1], "data_offsets": [24, 32]},
}, struct.pack("<HHH", 0x3F80, 0xC000, 0x3C00) + struct.pack("<q", -5) + b"\x01\x02" + struct.pack("<d", 1.5)
   + struct.pack("<Q", 2**63)))
write("safetensors", "valid-empty", safetensors({}, b""))
for name, header, data, length in [
    ("invalid-header-length", {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32[:4], 2**40),
    ("invalid-truncated", {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, f32[:12], None),
    ("invalid-overlap", {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, f32[:12], None),
    ("invalid-gap", {"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, f32[:8], None),
    ("invalid-dtype", {"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, f32, None),
    ("invalid-shape-size", {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, f32, None),
    ("invalid-offsets-descending", {"a": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}}, f32, None),
    ("invalid-huge-shape", {"a": {"dtype": "F32", "shape": [2**62, 4], "data_offsets": [0, 16]}}, f32, None),
    ("invalid-metadata", {"__metadata__": {"n": 1}}, b"", None),
]:
    write("safetensors", name, safetensors(header, data, length))
write("safetensors", "invalid-short", b"\x10\x00\x00")
write("safetensors", "invalid-duplicate-name",
      struct.pack("<Q", 112) + (b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}').ljust(112) + b"\x01\x02")

# --- tagging.json ------------------------------------------------------------------------------------------------
write("tagging-settings", "valid-full", json.dumps({"aggregation": "first", "context": 0, "decoding": "viterbi",
                                                     "max_length": 128, "scheme": "IOB2", "stride": None}, indent=2))
write("tagging-settings", "valid-empty", "{}")
write("tagging-settings", "valid-argmax-max", compact({"decoding": "argmax", "aggregation": "max", "context": 64}))
write("tagging-settings", "invalid-unknown-key", compact({"contxt": 1}))
write("tagging-settings", "invalid-duplicate-key", '{"context": 1, "context": 2}')
write("tagging-settings", "invalid-max-length", compact({"max_length": 2}))
write("tagging-settings", "invalid-fraction", compact({"stride": 1.5}))
write("tagging-settings", "invalid-scheme", compact({"scheme": "IOB3"}))
write("tagging-settings", "invalid-array", "[]")

# --- dictionaries ------------------------------------------------------------------------------------------------
json_tokens = ['{', '}', '[', ']', ':', ',', '"', 'true', 'false', 'null', '-', '0', '.5', 'e+', 'E-', '\\u', '\\ud83d',
               '\\udc00', '\\"', '\\\\']


def dictionary(target, tokens):
    os.makedirs(DICTS, exist_ok=True)
    with open(os.path.join(DICTS, target + ".dict"), "w") as f:
        for token in tokens:
            escaped = "".join(c if 0x20 <= ord(c) < 0x7f and c not in '"\\' else
                              ("\\" + c if c in '"\\' else "".join("\\x%02X" % b for b in c.encode())) for c in token)
            f.write('"%s"\n' % escaped)


dictionary("strict-json", json_tokens)
dictionary("config", json_tokens + ['"%s"' % k for k in tiny] + ['"position_embedding_type"', '"absolute"', '"gelu_new"',
                                                                 '"relu"', "1e308", "2147483648", "9223372036854775808"])
dictionary("tagging-settings", json_tokens + ['"context"', '"max_length"', '"stride"', '"decoding"', '"aggregation"',
                                              '"scheme"', '"viterbi"', '"argmax"', '"first"', '"average"', '"max"',
                                              '"IOB2"', '"BILOU"'])
dictionary("tokenizer-json", json_tokens + ['"%s"' % k for k in ["model", "vocab", "type", "WordPiece", "unk_token",
            "continuing_subword_prefix", "max_input_chars_per_word", "normalizer", "BertNormalizer", "clean_text",
            "handle_chinese_chars", "strip_accents", "lowercase", "pre_tokenizer", "BertPreTokenizer", "added_tokens",
            "content", "id", "special", "single_word", "lstrip", "rstrip", "normalized", "post_processor",
            "TemplateProcessing", "BertProcessing", "cls", "sep", "single", "SpecialToken", "Sequence", "A",
            "special_tokens", "ids", "padding", "pad_token", "[CLS]", "[SEP]", "[UNK]", "[PAD]", "##"]])
dictionary("tokenizer-config", json_tokens + ['"%s"' % k for k in ["do_lower_case", "strip_accents",
            "tokenize_chinese_chars", "unk_token", "cls_token", "sep_token", "pad_token", "mask_token", "content",
            "[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"]])
dictionary("jsonl", json_tokens + ['"tokens"', '"tags"', '"ner_tags"', '"predictions"', '"B-PER"', '"O"', "\n", "\r\n",
                                   "\ufeff"])
dictionary("label-names", json_tokens + ['"labels"', '"id2label"', '"label2id"', '"features"', '"feature"', '"names"',
                                         '"ner_tags"', '"pos_tags"', "\n"])
dictionary("conll", ["-DOCSTART-", "\t", " ", "\n", "\r\n", "\ufeff", "B-PER", "I-PER", "E-LOC", "S-MISC", "L-ORG",
                     "U-ORG", "O", '{"', "[", "\xa0", "\u200b"])
dictionary("vocab-txt", ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "##", "\n", "\r\n"])
dictionary("tokenizer-text", ["[MASK]", "[UNK]", "[SEP]", "##", " ", "\u0301", "\u00a0", "\u200b", "\ufeff", "日本",
                              "İ", "ß", "ǅ", "\u0000", "\ufffd", "\t"])
dictionary("safetensors", json_tokens + ['"dtype"', '"shape"', '"data_offsets"', '"__metadata__"', '"F32"', '"F16"',
                                         '"BF16"', '"F64"', '"I64"', '"U64"', '"BOOL"', '"U8"', '"F8_E4M3"',
                                         "\x00\x00\x00\x00\x00\x00\x00", "9223372036854775807", "4611686018427387904"])
