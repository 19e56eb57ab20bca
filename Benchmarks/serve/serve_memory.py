"""Resident memory of `bert-tagger serve` under requests of varied batch shapes.

Starts the server, posts requests of a seeded random 1-24 CoNLL-2003 sentences each from several clients at
once (so batches of many lengths reach the engine), and prints the server's resident memory after its first
request and after each third of the requests, from /proc/PID/status (Linux).

    python3 Benchmarks/serve/serve_memory.py --binary .build/release/bert-tagger --model runs/NAME/best
"""
import argparse
import json
import random
import re
import subprocess
import threading
import time
import urllib.request

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--binary', default='.build/release/bert-tagger')
parser.add_argument('--model', required=True, help='a token-classification directory')
parser.add_argument('--corpus', default='data/conll2003/test.txt', help='CoNLL file whose sentences are sent')
parser.add_argument('--requests', type=int, default=1500)
parser.add_argument('--clients', type=int, default=8)
parser.add_argument('--threads', type=int, default=2)
args = parser.parse_args()

sentences, words = [], []
for line in open(args.corpus, encoding='utf-8'):
    line = line.strip()
    if not line or line.startswith('-DOCSTART-'):
        if words:
            sentences.append(' '.join(words))
            words = []
        continue
    words.append(line.split()[0])
if words:
    sentences.append(' '.join(words))

# The machine and the libraries the server's products run on, as `bert-tagger info` reports them.
print(subprocess.run([args.binary, 'info'], capture_output=True, text=True, check=True).stdout.rstrip())

server = subprocess.Popen([args.binary, 'serve', '--model', args.model, '--port', '0', '--log-level', 'warning',
                           '--threads', str(args.threads)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
port = None
for line in server.stdout:
    match = re.search(r'127\.0\.0\.1:(\d+)', line)
    if match:
        port = int(match.group(1))
        break
if port is None:
    raise SystemExit(f'{args.binary} serve printed no address; is --model a token-classification directory?')
threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()


def resident():
    status = open(f'/proc/{server.pid}/status').read()
    return {key: int(re.search(key + r':\s+(\d+)', status).group(1)) // 1024 for key in ('VmRSS', 'VmHWM')}


def post(body):
    request = urllib.request.Request(f'http://127.0.0.1:{port}/v1/entities', data=json.dumps(body).encode(),
                                     headers={'Content-Type': 'application/json'})
    urllib.request.urlopen(request).read()


try:
    post({'text': sentences[0]})
    time.sleep(0.5)
    start = resident()
    rng = random.Random(1)
    every = [rng.sample(sentences, rng.randint(1, 24)) for _ in range(args.requests)]
    lock = threading.Lock()
    checkpoints = []
    began = time.time()
    for part in range(3):
        pending = every[part * len(every) // 3:(part + 1) * len(every) // 3]

        def client():
            while True:
                with lock:
                    if not pending:
                        return
                    texts = pending.pop()
                post({'texts': texts})

        clients = [threading.Thread(target=client) for _ in range(args.clients)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        checkpoints.append(resident()['VmRSS'])
    elapsed = time.time() - began
    end = resident()
    metrics = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics').read().decode()
    batches = re.search(r'tagger_batch_requests_count\S*\s+(\d+)', metrics)
    print(f'{args.binary}: {args.requests} requests (1-24 sentences each, {args.clients} clients) in {elapsed:.1f} s, '
          f'{batches.group(1) if batches else "?"} batches; resident memory after the first request {start["VmRSS"]} MB, '
          f'after each third {checkpoints} MB, peak {end["VmHWM"]} MB')
finally:
    server.terminate()
    server.wait()
