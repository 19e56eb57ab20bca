#!/usr/bin/env python3
"""Generates the transformers-pipeline reference the Tagger tests compare against.

    python3 Scripts/make_tagger_fixtures.py

Outputs (seeded, so a rerun writes the same numbers):

  Tests/TaggerTests/Fixtures/minilm-pipeline/classifier.safetensors
      a seeded 9-label CoNLL-2003 classifier (normal(0, 0.1) weights, so that the labels vary) for the default
      encoder, models/all-MiniLM-L6-v2, which is read from there, not copied.
  Tests/TaggerTests/Fixtures/minilm-pipeline/expected.json
      for a few raw texts and each aggregation strategy (first, average, max): the words as
      TokenClassificationPipeline.aggregate_words gives them (label, score, start, end) and the entities of
      pipeline(text, aggregation_strategy=...) (entity_group, score, start, end, word). Offsets are Python
      str indices (Unicode scalars). The model runs in float32 on the CPU, as the pipeline runs it.
"""
import json
import os

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, BertForTokenClassification, pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENCODER = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
OUT = os.path.join(ROOT, "Tests", "TaggerTests", "Fixtures", "minilm-pipeline")
LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
TEXTS = [
    "My name is Don Quixote and I live in La Mancha.",
    "Angela Merkel met Emmanuel Macron in Brussels on Thursday, said the European Commission.",
    "Café au lait in Zürich costs 5.50 francs; São Paulo's is cheaper!",
    "東京 is the capital of Japan, and Ōsaka is its second city.",
    "The 🎉 party at Acme Corp. (New York) ended at 11pm 😀 — everyone went home.",
]


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20240901)
    hidden = 384
    weight = torch.randn(len(LABELS), hidden) * 0.1
    bias = torch.randn(len(LABELS)) * 0.1
    save_file({"classifier.weight": weight.contiguous(), "classifier.bias": bias.contiguous()},
              os.path.join(OUT, "classifier.safetensors"),
              metadata={"made_by": "Scripts/make_tagger_fixtures.py", "labels": ",".join(LABELS)})

    tokenizer = AutoTokenizer.from_pretrained(ENCODER)
    model = BertForTokenClassification.from_pretrained(
        ENCODER, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)})
    state = model.state_dict()
    state["classifier.weight"] = weight
    state["classifier.bias"] = bias
    model.load_state_dict(state)
    model.eval()
    tagger = pipeline("token-classification", model=model, tokenizer=tokenizer, device="cpu")

    # The words as aggregate_words gives them, captured on their way to group_entities.
    captured = {}
    aggregate_words = tagger.aggregate_words

    def capture(entities, strategy):
        captured["words"] = aggregate_words(entities, strategy)
        return captured["words"]

    tagger.aggregate_words = capture

    texts = []
    for text in TEXTS:
        record = {"text": text}
        for strategy in ["first", "average", "max"]:
            entities = tagger(text, aggregation_strategy=strategy)
            words = captured.pop("words")
            record[strategy] = {
                "words": [{"label": w["entity"], "score": float(w["score"]), "start": int(w["start"]),
                           "end": int(w["end"])} for w in words],
                "entities": [{"type": e["entity_group"], "score": float(e["score"]), "start": int(e["start"]),
                              "end": int(e["end"]), "word": e["word"]} for e in entities],
            }
        texts.append(record)
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"made_by": "Scripts/make_tagger_fixtures.py", "encoder": "models/all-MiniLM-L6-v2",
                   "labels": LABELS, "texts": texts}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for record in texts:
        print(record["text"])
        print("   ", [(w["label"], round(w["score"], 3)) for w in record["first"]["words"]])
        print("   ", [(e["type"], e["word"]) for e in record["first"]["entities"]])


if __name__ == "__main__":
    main()
