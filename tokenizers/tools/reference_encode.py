#!/usr/bin/env python3
"""Independent slow reference for cross-checking bmx's tokenizer on any text (development only).

Encodes with Python's `regex` module (the Qwen2 split pattern as written in tokenizer.json),
unicodedata NFC, leftmost-longest added-token matching and a plain merge loop. Reads JSON strings, one per
stdin line, and prints one JSON array of ids per line -- the same as `bmx tokenize --jsonl`.
Usage: python3 reference_encode.py TOKENIZER_DIR < texts.jsonl > ids.jsonl
"""
import json
import sys
import unicodedata

import regex


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def main():
    tj = json.load(open(sys.argv[1] + '/tokenizer.json', encoding='utf-8'))
    vocab = tj['model']['vocab']
    ranks = {}
    for r, m in enumerate(tj['model']['merges']):
        a, b = m.split(' ') if isinstance(m, str) else m
        ranks.setdefault((a, b), r)
    pattern = tj['pre_tokenizer']['pretokenizers'][0]['pattern']['Regex']
    split_re = regex.compile(pattern)
    added = {t['content']: t['id'] for t in tj['added_tokens']}
    by_first = {}
    for t in sorted(added, key=len, reverse=True):
        by_first.setdefault(t[0], []).append(t)
    b2u = bytes_to_unicode()
    cache = {}

    def bpe(word):
        if word in cache:
            return cache[word]
        syms = [b2u[b] for b in word.encode('utf-8')]
        while len(syms) > 1:
            best = None
            for i in range(len(syms) - 1):
                r = ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            syms[i:i + 2] = [syms[i] + syms[i + 1]]
        ids = [vocab[s] for s in syms]
        cache[word] = ids
        return ids

    def encode(text):
        out, pos, start = [], 0, 0
        pieces = []
        while pos < len(text):
            hit = None
            for t in by_first.get(text[pos], ()):
                if text.startswith(t, pos):
                    hit = t
                    break
            if hit:
                pieces.append((text[start:pos], None))
                pieces.append((hit, added[hit]))
                pos += len(hit)
                start = pos
            else:
                pos += 1
        pieces.append((text[start:], None))
        for piece, tid in pieces:
            if tid is not None:
                out.append(tid)
                continue
            for w in split_re.findall(unicodedata.normalize('NFC', piece)):
                out += bpe(w)
        return out

    for line in sys.stdin:
        print(json.dumps(encode(json.loads(line))))


if __name__ == '__main__':
    main()
