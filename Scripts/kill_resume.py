#!/usr/bin/env python3
"""Kills `bert-tagger train` with SIGKILL at random moments and checks that resuming always ends where an
uninterrupted run ends.

A tiny BERT (2 layers, 32 wide, a vocabulary of the corpus's own words, random weights) is written into the
work folder, with a slice of CoNLL-2003 (or, when the corpus is absent, a synthetic corpus of the same
columns), so that a whole run takes a few seconds. The run is made once without interruption; then every
trial starts it again in a fresh folder, kills it one to three times (at a random moment, or right after a
checkpoint's temporary file or folder appears, so that the kill lands inside the write), checks after
every kill that `--resume` accepts the folder, resumes until the run finishes, and compares the final
weights and optimizer moments (last/model.safetensors, last/optimizer.safetensors, best/model.safetensors)
byte for byte with the uninterrupted run's (and the best model's tagging settings and dev predictions). Prints a summary; exits 1 when any trial differs or fails.

    python3 Scripts/kill_resume.py                    # 20 trials with .build/release/bert-tagger
    python3 Scripts/kill_resume.py --trials 3 --binary .build/debug/bert-tagger --sentences 60 --synthetic
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
HIDDEN, LAYERS, HEADS, INTERMEDIATE, POSITIONS = 32, 2, 2, 64, 128
COMPARED = ["last/model.safetensors", "last/optimizer.safetensors", "best/model.safetensors", "best/tagging.json",
            "predictions/dev.conll"]


def read_sentences(path, limit):
    """The first `limit` sentences of a CoNLL file, as lists of lines (a -DOCSTART- line counts as one)."""
    sentences, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip():
                current.append(line)
                continue
            if current:
                sentences.append(current)
                current = []
                if len(sentences) >= limit:
                    break
    if current and len(sentences) < limit:
        sentences.append(current)
    return sentences


def synthetic_sentences(count, seed):
    rng = random.Random(seed)
    people, places, companies = ["Smith", "Jones", "Brown"], ["Paris", "London", "Berlin"], ["Acme", "Globex"]
    sentences = []
    for i in range(count):
        kind = rng.randrange(3)
        if kind == 0:
            lines = [f"{rng.choice(people)} NNP B-NP B-PER", "went VBD B-VP O", "to TO B-PP O",
                     f"{rng.choice(places)} NNP B-NP B-LOC", ". . O O"]
        elif kind == 1:
            lines = ["the DT B-NP O", "news NN I-NP O", "from IN B-PP O", f"{rng.choice(companies)} NNP B-NP B-ORG",
                     "corp NNP I-NP I-ORG", ". . O O"]
        else:
            lines = ["mr NNP B-NP O", f"{rng.choice(people)} NNP I-NP B-PER", "said VBD B-VP O", ". . O O"]
        sentences.append(lines)
    return sentences


def write_corpus(sentences, path):
    with open(path, "w", encoding="utf-8") as f:
        for lines in sentences:
            f.write("\n".join(lines) + "\n\n")


def write_safetensors(tensors, path):
    """tensors: list of (name, shape, list of floats), written as F32 with metadata format=pt."""
    header, payload, offset = {"__metadata__": {"format": "pt"}}, bytearray(), 0
    for name, shape, values in tensors:
        data = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        payload += data
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(payload))


def write_tiny_bert(directory, words, seed):
    directory.mkdir(parents=True, exist_ok=True)
    vocab = SPECIAL + sorted({w.lower() for w in words} - set(SPECIAL))
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (directory / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}), encoding="utf-8")
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(vocab), "hidden_size": HIDDEN,
              "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": INTERMEDIATE,
              "max_position_embeddings": POSITIONS, "type_vocab_size": 2, "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
              "layer_norm_eps": 1e-12, "pad_token_id": 0}
    (directory / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    rng = random.Random(seed)
    shapes = [("embeddings.word_embeddings.weight", [len(vocab), HIDDEN]),
              ("embeddings.position_embeddings.weight", [POSITIONS, HIDDEN]),
              ("embeddings.token_type_embeddings.weight", [2, HIDDEN]),
              ("embeddings.LayerNorm.weight", [HIDDEN]), ("embeddings.LayerNorm.bias", [HIDDEN])]
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        for name in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            shapes += [(p + name + ".weight", [HIDDEN, HIDDEN]), (p + name + ".bias", [HIDDEN])]
        shapes += [(p + "attention.output.LayerNorm.weight", [HIDDEN]), (p + "attention.output.LayerNorm.bias", [HIDDEN]),
                   (p + "intermediate.dense.weight", [INTERMEDIATE, HIDDEN]), (p + "intermediate.dense.bias", [INTERMEDIATE]),
                   (p + "output.dense.weight", [HIDDEN, INTERMEDIATE]), (p + "output.dense.bias", [HIDDEN]),
                   (p + "output.LayerNorm.weight", [HIDDEN]), (p + "output.LayerNorm.bias", [HIDDEN])]
    tensors = []
    for name, shape in shapes:
        count = 1
        for n in shape:
            count *= n
        if name.endswith("LayerNorm.weight"):
            values = [1.0] * count
        elif name.endswith(".bias"):
            values = [0.0] * count
        else:
            values = [rng.gauss(0.0, 0.02) for _ in range(count)]
        tensors.append((name, shape, values))
    write_safetensors(tensors, directory / "model.safetensors")


def temporary_entries(run):
    """Files and folders a save in progress leaves in the run folder (a kill there lands inside a write)."""
    found = []
    for folder in [run, run / "metrics", run / "best", run / "last", run / "last.saving"]:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith(".tmp") or ".partial-" in name or ".old-" in name or name in ("last.saving", "last.previous"):
                found.append(str((folder / name).relative_to(run)))
    return found


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Runner:
    def __init__(self, args, model, train, dev):
        self.args, self.model, self.train, self.dev = args, model, train, dev

    def command(self, run, resume):
        if resume:
            return [self.args.binary, "train", "--resume", str(run), "--threads", "1"]
        return [self.args.binary, "train", "--model", str(self.model), "--train", str(self.train), "--dev", str(self.dev),
                "--output", str(run), "--epochs", str(self.args.epochs), "--lr", "5e-3", "--batch-tokens", "256",
                "--eval-every", str(self.args.save_every), "--save-every", str(self.args.save_every), "--log-every", "1",
                "--threads", "1", "--precision", "fp32"]

    def start(self, run, resume, log):
        return subprocess.Popen(self.command(run, resume), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def run_to_end(self, run, resume, log):
        process = self.start(run, resume, log)
        if process.wait() != 0:
            raise RuntimeError(f"train {'--resume ' if resume else ''}{run} exited with {process.returncode}; see {log.name}")


def kill_at_random(process, duration, rng):
    """SIGKILL after a random part of a whole run's duration; True when the process was still running."""
    deadline = time.monotonic() + rng.uniform(0.02, 1.0) * duration
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        time.sleep(0.002)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def is_checkpoint_entry(entry):
    return "last.saving" in entry or "last.previous" in entry or ".partial-" in entry or ".old-" in entry


def kill_in_write(process, run, rng, checkpoints_only):
    """SIGKILL as soon as a temporary file or folder appears (of a checkpoint save, when `checkpoints_only`),
    after letting a random number of such writes finish; returns the entries present just before the kill,
    or None when the run ended first."""
    skip = rng.randrange(3)
    seen_during = False
    while process.poll() is None:
        entries = [e for e in temporary_entries(run) if is_checkpoint_entry(e) or not checkpoints_only]
        if entries:
            if skip == 0:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return entries
            seen_during = True
        elif seen_during:
            skip -= 1
            seen_during = False
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/bert-tagger"), help="the bert-tagger executable")
    parser.add_argument("--trials", type=int, default=20, help="runs to kill and resume (default 20)")
    parser.add_argument("--sentences", type=int, default=300, help="training sentences (dev: a quarter as many)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--save-every", type=int, default=4, help="steps between saved states and dev evaluations")
    parser.add_argument("--corpus", default=str(ROOT / "data/conll2003"),
                        help="CoNLL-2003 folder (train.txt, dev.txt); a synthetic corpus is used when it is absent")
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic corpus even when CoNLL-2003 is present")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments and the tiny model")
    parser.add_argument("--work", help="folder for the model, data and runs (default: a temporary folder, removed)")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary}: not an executable; build it (swift build -c release) or pass --binary")

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kill-resume-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    corpus = Path(args.corpus)
    if not args.synthetic and (corpus / "train.txt").exists() and (corpus / "dev.txt").exists():
        train_sentences = read_sentences(corpus / "train.txt", args.sentences)
        dev_sentences = read_sentences(corpus / "dev.txt", max(8, args.sentences // 4))
        source = f"the first {len(train_sentences)} training and {len(dev_sentences)} dev sentences of {corpus}"
    else:
        train_sentences = synthetic_sentences(args.sentences, args.seed)
        dev_sentences = synthetic_sentences(max(8, args.sentences // 4), args.seed + 1)
        source = f"{len(train_sentences)} synthetic training and {len(dev_sentences)} dev sentences"
    write_corpus(train_sentences, work / "train.txt")
    write_corpus(dev_sentences, work / "dev.txt")
    words = [line.split()[0] for lines in train_sentences + dev_sentences for line in lines]
    write_tiny_bert(work / "tiny-bert", words, args.seed)
    runner = Runner(args, work / "tiny-bert", work / "train.txt", work / "dev.txt")
    print(f"tiny BERT ({LAYERS} layers, {HIDDEN} wide), {source}; {args.epochs} epochs, "
          f"a saved state and a dev evaluation every {args.save_every} steps")

    reference = work / "reference"
    with open(work / "reference.log", "w") as log:
        began = time.monotonic()
        runner.run_to_end(reference, False, log)
        duration = time.monotonic() - began
    expected = {name: digest(reference / name) for name in COMPARED}
    state = json.loads((reference / "last/trainer_state.json").read_text())
    print(f"uninterrupted run: {state['step']} steps in {duration:.1f} s")

    kinds, identical, clean, failures = {}, 0, 0, []
    for trial in range(1, args.trials + 1):
        run = work / f"trial-{trial}"
        notes = []
        try:
            with open(work / f"trial-{trial}.log", "w") as log:
                resume, completed = False, False
                wanted, done, attempts = rng.randint(1, 3), 0, 0
                while done < wanted:
                    process = runner.start(run, resume, log)
                    draw = rng.random()
                    if draw < 0.65:
                        entries = kill_in_write(process, run, rng, checkpoints_only=draw < 0.45)
                        kind = None
                        if entries:
                            kind = ("inside a checkpoint save" if any(map(is_checkpoint_entry, entries))
                                    else "inside another file's replacement (logs, options, plot)")
                            notes.append("in write: " + ", ".join(sorted(entries)[:3]))
                    else:
                        kind = "at a random moment" if kill_at_random(process, duration, rng) else None
                    if kind is None:
                        if process.wait() != 0:
                            raise RuntimeError(f"train exited with {process.returncode} before the kill; see {log.name}")
                        attempts += 1
                        if done == 0 and attempts < 5:
                            # The run ended before any kill: the trial starts over, so that every trial has one.
                            shutil.rmtree(run, ignore_errors=True)
                            resume = False
                            continue
                        completed = True
                        break
                    done += 1
                    kinds[kind] = kinds.get(kind, 0) + 1
                    if not (run / "options.json").exists():
                        # Killed before the run directory was made: nothing to resume, the run starts anew.
                        resume = False
                        notes.append("killed before options.json")
                        continue
                    resume = True
                if not completed:
                    runner.run_to_end(run, resume, log)
            leftovers = temporary_entries(run)
            differing = [name for name in COMPARED if digest(run / name) != expected[name]]
            identical += not differing
            clean += not leftovers
            if differing:
                failures.append(f"trial {trial}: {', '.join(differing)} differ from the uninterrupted run's")
            if leftovers:
                failures.append(f"trial {trial}: left behind {', '.join(leftovers)}")
        except Exception as error:  # a failed resume is a finding, reported with the rest
            failures.append(f"trial {trial}: {error}")
        print(f"trial {trial}: " + ("identical" if not failures or not failures[-1].startswith(f"trial {trial}:") else "FAILED")
              + (f" ({'; '.join(notes)})" if notes else ""), flush=True)

    kills = sum(kinds.values())
    print(f"summary: {args.trials} trials, {kills} kills ("
          + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) + "), "
          + f"{identical} of {args.trials} resumed runs bit-identical to the uninterrupted run, "
          + f"{clean} of {args.trials} run folders without leftovers of killed writes"
          + ("; all identical" if identical == clean == args.trials else ""))
    for failure in failures:
        print("  " + failure)
    if not args.work and not failures:
        shutil.rmtree(work, ignore_errors=True)
    elif failures:
        print(f"runs and logs kept in {work}")
    sys.exit(0 if not failures and kills >= args.trials else 1)


if __name__ == "__main__":
    main()
