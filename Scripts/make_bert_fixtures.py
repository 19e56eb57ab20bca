#!/usr/bin/env python3
"""Generates the reference fixtures the Swift tests compare against, with PyTorch and transformers.

    python3 Scripts/make_bert_fixtures.py            all fixtures
    python3 Scripts/make_bert_fixtures.py --check    also report float32-vs-float64 drift of the references

Outputs (all seeded, so a rerun writes the same numbers):

  Tests/SafeTensorsTests/Fixtures/python-dtypes.safetensors
      the same values stored as F16, BF16, F64, I64, I32, U8, BOOL beside their F32 twins, written by
      Python's safetensors, to check the Swift reader's conversions bit for bit.
  Tests/SafeTensorsTests/Fixtures/python-f32.safetensors
      three F32 tensors and metadata, to check the Swift writer reproduces the reference layout byte for byte.

  Tests/BERTTests/Fixtures/tiny-gelu/          a tiny random BertForTokenClassification (hidden_act gelu)
  Tests/BERTTests/Fixtures/tiny-gelu-new/      the same shapes with hidden_act gelu_new (tanh GELU)
      config.json, model.safetensors (HuggingFace names) and expected.safetensors holding a packed batch
      of 3 sequences (input_ids, position_ids, sequence_offsets, labels with -100), the logits [T, 5],
      the loss, every named parameter's gradient ("grad.<name>"), and for tiny-gelu the losses of three
      torch.optim.AdamW steps ("adamw.losses") and the parameters after them ("adamw.<name>").
      The reference runs one sequence at a time (no padding) and concatenates, which is what a packed
      batch must equal. It is computed in float64 and stored as F32, so the references carry only
      float32 rounding (relative 6e-8), not float32 arithmetic error.

  Tests/BERTTests/Fixtures/minilm-conll/        the default encoder (models/all-MiniLM-L6-v2, read from
      there, not copied) with a seeded 9-label classifier: classifier.safetensors (classifier.weight,
      classifier.bias) and expected.safetensors with 21 CoNLL-2003 train sentences as input ids
      (lengths 3 to 64 pieces, chosen by the rule in minilm_sentences), the encoder's last hidden state
      per token [T, 384] and the logits [T, 9], computed in float64 and stored as F32.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import save_file as reference_save_file
from transformers import AutoTokenizer, BertConfig, BertForTokenClassification, BertModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR = "Scripts/make_bert_fixtures.py"
BERT_FIXTURES = os.path.join(ROOT, "Tests", "BERTTests", "Fixtures")
SAFETENSORS_FIXTURES = os.path.join(ROOT, "Tests", "SafeTensorsTests", "Fixtures")
CONLL_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
TINY_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def metadata(**extra):
    return {"format": "pt", "generator": GENERATOR, **{k: str(v) for k, v in extra.items()}}


def save_file(tensors, path, metadata=None):
    """safetensors.torch.save_file, then the header's __metadata__ keys sorted in place: the reference writer
    orders them by hash, which would make every run's bytes differ."""
    reference_save_file(tensors, path, metadata=metadata)
    with open(path, "r+b") as f:
        length = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(length))
        if "__metadata__" in header:
            header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        header = dict([("__metadata__", header.pop("__metadata__"))] if "__metadata__" in header else []) | header
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
        assert len(text) <= length, "reordering changed the header's length"
        f.seek(8)
        f.write(text + b" " * (length - len(text)))


# --- safetensors format fixtures -------------------------------------------------------------------

def make_safetensors_fixtures():
    os.makedirs(SAFETENSORS_FIXTURES, exist_ok=True)
    # Values chosen to hit every branch of a half-float conversion: signed zeros, the smallest subnormal,
    # the smallest normal, the largest finite value, infinities, and values that round.
    f16_bits = torch.tensor([0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0xC000, 0x7BFF, 0x7C00, 0xFC00,
                             0x3555, 0x2E66], dtype=torch.int32).to(torch.uint16)
    f16 = f16_bits.view(torch.float16)
    bf16_bits = torch.tensor([0x0000, 0x8000, 0x0001, 0x3F80, 0xC040, 0x7F7F, 0x7F80, 0xFF80, 0x3EAB, 0x0080],
                             dtype=torch.int32).to(torch.uint16)
    bf16 = bf16_bits.view(torch.bfloat16)
    f64 = torch.tensor([[0.1, -2.5, 1e-30], [3.0e38, -0.0, 123456.789]], dtype=torch.float64)
    tensors = {
        "f16": f16.reshape(3, 4), "f16_as_f32": f16.float().reshape(3, 4),
        "bf16": bf16.reshape(2, 5), "bf16_as_f32": bf16.float().reshape(2, 5),
        "f64": f64, "f64_as_f32": f64.float(),
        "i64": torch.tensor([-9223372036854775808, -1, 0, 101, 9223372036854775807], dtype=torch.int64),
        "i32": torch.tensor([[-2147483648, 7], [0, 2147483647]], dtype=torch.int32),
        "u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }
    save_file(tensors, os.path.join(SAFETENSORS_FIXTURES, "python-dtypes.safetensors"), metadata=metadata())
    # The Swift writer must reproduce this file byte for byte.
    f32 = {
        "b.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
        "a.bias": torch.tensor([-1.5, 0.0, 2.0e-3], dtype=torch.float32),
        "c": torch.tensor([[[1.0]]], dtype=torch.float32),
    }
    save_file(f32, os.path.join(SAFETENSORS_FIXTURES, "python-f32.safetensors"),
              # One key only: the reference writer orders metadata keys by hash, so more would not be reproducible.
              metadata={"generator": GENERATOR + " (escapes: quote \" backslash \\ tab \t)"})


# --- tiny random models ----------------------------------------------------------------------------

def tiny_config(hidden_act):
    return BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=40, type_vocab_size=2, hidden_act=hidden_act, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, initializer_range=0.1, num_labels=len(TINY_LABELS),
        id2label=dict(enumerate(TINY_LABELS)), label2id={l: i for i, l in enumerate(TINY_LABELS)},
        architectures=["BertForTokenClassification"], attn_implementation="eager")


def tiny_model(hidden_act, seed):
    torch.manual_seed(seed)
    model = BertForTokenClassification(tiny_config(hidden_act)).eval()
    # HuggingFace starts biases at 0 and LayerNorm at identity; a reference where those are trivial would
    # not notice a kernel that ignores them, so every parameter gets its own random values.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
    return model


def tiny_batch(seed):
    g = torch.Generator().manual_seed(seed)
    lengths = [7, 12, 5]
    # Token 0 is the padding index: nn.Embedding(padding_idx=0) never gives it a gradient, and a packed batch
    # has no padding, so the inputs avoid it.
    ids = [torch.randint(1, 99, (n,), generator=g) for n in lengths]
    labels = []
    for n in lengths:
        lab = torch.randint(0, len(TINY_LABELS), (n,), generator=g)
        lab[0] = -100  # [CLS]
        lab[-1] = -100  # [SEP]
        if n > 6:
            lab[3] = -100  # a continuation piece
        labels.append(lab)
    return lengths, ids, labels


def packed_forward(model, ids, labels=None):
    """Runs each sequence alone (no padding) and concatenates: what a packed batch must equal."""
    logits = []
    for seq in ids:
        out = model(input_ids=seq[None, :], token_type_ids=torch.zeros_like(seq)[None, :])
        logits.append(out.logits[0])
    logits = torch.cat(logits)
    loss = None
    if labels is not None:
        loss = torch.nn.functional.cross_entropy(logits, torch.cat(labels), ignore_index=-100)
    return logits, loss


def adamw(model):
    decay = [p for n, p in model.named_parameters() if not (n.endswith(".bias") or "LayerNorm." in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith(".bias") or "LayerNorm." in n]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


def tiny_reference(hidden_act, seed, dtype, with_adamw):
    model = tiny_model(hidden_act, seed)
    initial = {n: p.detach().clone() for n, p in model.state_dict().items()}
    model = model.to(dtype)
    lengths, ids, labels = tiny_batch(seed + 1)
    logits, loss = packed_forward(model, ids, labels)
    loss.backward()
    out = {"logits": logits.detach(), "loss": loss.detach(),
           **{f"grad.{n}": p.grad.detach().clone() for n, p in model.named_parameters()}}
    if with_adamw:
        model.zero_grad()
        opt = adamw(model)
        losses = []
        for _ in range(3):
            opt.zero_grad()
            _, step_loss = packed_forward(model, ids, labels)
            step_loss.backward()
            opt.step()
            losses.append(step_loss.detach())
        out["adamw.losses"] = torch.stack(losses)
        out.update({f"adamw.{n}": p.detach().clone() for n, p in model.named_parameters()})
    return model, initial, lengths, ids, labels, out


def make_tiny(name, hidden_act, seed, with_adamw, check):
    directory = os.path.join(BERT_FIXTURES, name)
    os.makedirs(directory, exist_ok=True)
    model, initial, lengths, ids, labels, ref = tiny_reference(hidden_act, seed, torch.float64, with_adamw)
    model.config.save_pretrained(directory)
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    config.pop("dtype", None)  # the float64 run is not what the checkpoint holds
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    save_file({n: t.float().contiguous() for n, t in initial.items()}, os.path.join(directory, "model.safetensors"),
              metadata=metadata(fixture=name))
    offsets = [0]
    for n in lengths:
        offsets.append(offsets[-1] + n)
    expected = {
        "input_ids": torch.cat(ids).to(torch.int64),
        "position_ids": torch.cat([torch.arange(n) for n in lengths]).to(torch.int64),
        "sequence_offsets": torch.tensor(offsets, dtype=torch.int64),
        "labels": torch.cat(labels).to(torch.int64),
        **{k: v.float().contiguous() for k, v in ref.items()},
    }
    save_file(expected, os.path.join(directory, "expected.safetensors"),
              metadata=metadata(fixture=name, precision="computed in float64, stored as F32",
                                reference="one sequence at a time, no padding, concatenated"))
    if check:
        _, _, _, _, _, ref32 = tiny_reference(hidden_act, seed, torch.float32, with_adamw)
        worst = max(((k, ((ref32[k] - ref[k].float()).abs().max() / ref[k].abs().max().clamp_min(1e-30)).item())
                     for k in ref), key=lambda kv: kv[1])
        print(f"  {name}: float32 torch vs float64 reference, worst relative (max abs diff / max abs ref): "
              f"{worst[1]:.2e} on {worst[0]}")


# --- the default encoder on CoNLL-2003 -------------------------------------------------------------

def conll_sentences(path):
    sentences, words = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("-DOCSTART-"):
                if words:
                    sentences.append(words)
                words = []
                continue
            words.append(line.split()[0])
    if words:
        sentences.append(words)
    return sentences


MINILM_LENGTHS = [3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 34, 38, 44, 52, 64]


def minilm_sentences(tokenizer, sentences):
    """For each target length in MINILM_LENGTHS, the first train sentence (in file order) whose pieces,
    [CLS] and [SEP] included, number exactly that."""
    wanted = set(MINILM_LENGTHS)
    chosen = {}
    for words in sentences:
        ids = tokenizer(words, is_split_into_words=True)["input_ids"]
        if len(ids) in wanted and len(ids) not in chosen:
            chosen[len(ids)] = ids
            if len(chosen) == len(wanted):
                break
    missing = wanted - set(chosen)
    if missing:
        sys.exit(f"no train sentence has exactly {sorted(missing)} pieces; change MINILM_LENGTHS")
    return [chosen[n] for n in MINILM_LENGTHS]


def make_minilm(check):
    model_dir = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
    conll = os.path.join(ROOT, "data", "conll2003", "train.txt")
    if not os.path.exists(conll):
        conll = "/work/shared/data/conll2003/train.txt"
    directory = os.path.join(BERT_FIXTURES, "minilm-conll")
    os.makedirs(directory, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ids = minilm_sentences(tokenizer, conll_sentences(conll))
    encoder = BertModel.from_pretrained(model_dir, add_pooling_layer=False, attn_implementation="eager").eval()
    torch.manual_seed(2003)
    # What BertForTokenClassification does to a classifier it does not find: normal(0, initializer_range), bias 0.
    weight = torch.empty(len(CONLL_LABELS), encoder.config.hidden_size).normal_(0.0, encoder.config.initializer_range)
    bias = torch.zeros(len(CONLL_LABELS))
    save_file({"classifier.weight": weight, "classifier.bias": bias}, os.path.join(directory, "classifier.safetensors"),
              metadata=metadata(fixture="minilm-conll", labels=",".join(CONLL_LABELS)))

    def run(dtype):
        enc = encoder.to(dtype)
        hidden, logits = [], []
        with torch.no_grad():
            for seq in ids:
                x = torch.tensor(seq)[None, :]
                h = enc(input_ids=x, token_type_ids=torch.zeros_like(x)).last_hidden_state[0]
                hidden.append(h)
                logits.append(h @ weight.to(dtype).T + bias.to(dtype))
        return torch.cat(hidden), torch.cat(logits)

    hidden, logits = run(torch.float64)
    offsets = [0]
    for seq in ids:
        offsets.append(offsets[-1] + len(seq))
    save_file({
        "input_ids": torch.tensor([i for seq in ids for i in seq], dtype=torch.int64),
        "position_ids": torch.cat([torch.arange(len(seq)) for seq in ids]).to(torch.int64),
        "sequence_offsets": torch.tensor(offsets, dtype=torch.int64),
        "last_hidden_state": hidden.float().contiguous(),
        "logits": logits.float().contiguous(),
    }, os.path.join(directory, "expected.safetensors"),
        metadata=metadata(fixture="minilm-conll", encoder="models/all-MiniLM-L6-v2",
                          sentences=f"CoNLL-2003 train, first sentence with each of {MINILM_LENGTHS} pieces",
                          precision="computed in float64, stored as F32"))
    if check:
        hidden32, logits32 = run(torch.float32)
        print(f"  minilm-conll: {offsets[-1]} tokens in {len(ids)} sentences; float32 torch vs float64 reference, "
              f"max abs: hidden {(hidden32 - hidden).abs().max().item():.2e}, logits {(logits32 - logits).abs().max().item():.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="report float32-vs-float64 drift of each reference")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    make_safetensors_fixtures()
    make_tiny("tiny-gelu", "gelu", seed=0, with_adamw=True, check=args.check)
    make_tiny("tiny-gelu-new", "gelu_new", seed=10, with_adamw=False, check=args.check)
    make_minilm(args.check)
    for base in (SAFETENSORS_FIXTURES, BERT_FIXTURES):
        for dirpath, _, files in sorted(os.walk(base)):
            for f in sorted(files):
                path = os.path.join(dirpath, f)
                print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
