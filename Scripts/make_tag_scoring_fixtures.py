#!/usr/bin/env python3
"""Writes Tests/SeqEvalTests/Fixtures/sklearn_tags.json: scikit-learn's per-tag scores on seeded
random gold/prediction pairs, for the Swift per-tag scorer (`tagClassificationReport`) to match.

Tags are POS-like labels (NNP, VBD, ...), a few only in predictions, and in some cases many labels
(up to 140) so that numpy's pairwise summation decides the last bits of the macro and weighted
averages. Every case is scored on the flattened sentences:

  cases[i].gold / .predicted: one space-joined string of tags per sentence
  cases[i].report: classification_report(..., output_dict=True, zero_division=0) rows,
      {row: [precision, recall, f1, support]} for every label and "macro avg", "weighted avg"
  cases[i].micro: precision_recall_fscore_support(..., average="micro") as [p, r, f1, support]
  cases[i].accuracy: accuracy_score

Run: python3 Scripts/make_tag_scoring_fixtures.py  (needs scikit-learn)
"""

import json
import os
import random

import sklearn
from sklearn.metrics import accuracy_score, classification_report, precision_recall_fscore_support

SEED = 1312
POS = ["NNP", "VBD", "DT", "NN", "IN", "JJ", "CD", ".", ",", "PRP", "RB", "VBZ", "NNS", "TO", "CC"]
PREDICTED_ONLY = ["FW", "SYM"]


def case(rng, labels, sentences):
    gold, predicted = [], []
    for _ in range(sentences):
        length = rng.randint(1, 12)
        g = [rng.choice(labels) for _ in range(length)]
        p = [t if rng.random() < 0.7 else rng.choice(labels + PREDICTED_ONLY) for t in g]
        gold.append(g)
        predicted.append(p)
    flat_gold = [t for s in gold for t in s]
    flat_predicted = [t for s in predicted for t in s]
    report = classification_report(flat_gold, flat_predicted, output_dict=True, zero_division=0)
    micro = precision_recall_fscore_support(flat_gold, flat_predicted, average="micro", zero_division=0)
    rows = {name: [v["precision"], v["recall"], v["f1-score"], int(v["support"])]
            for name, v in report.items() if name != "accuracy"}
    return {
        "gold": [" ".join(s) for s in gold],
        "predicted": [" ".join(s) for s in predicted],
        "report": rows,
        "micro": [micro[0], micro[1], micro[2], len(flat_gold)],
        "accuracy": accuracy_score(flat_gold, flat_predicted),
    }


def main():
    rng = random.Random(SEED)
    cases = []
    for index in range(60):
        labels = POS[: rng.randint(2, len(POS))]
        cases.append(case(rng, labels, rng.randint(1, 20)))
    for count in (9, 17, 140):
        labels = [f"T{i:03d}" for i in range(count)]
        cases.append(case(rng, labels, 60))
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "SeqEvalTests", "Fixtures", "sklearn_tags.json")
    with open(path, "w") as f:
        json.dump({"generator": "Scripts/make_tag_scoring_fixtures.py", "sklearn": sklearn.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
