"""Render the everyday words people say for things, beyond the emoji names that render_audio.py speaks.

    /usr/bin/python3 training/data/render_vocabulary.py [dataDir] [--max-words N] [--workers 2]
      -> dataDir/vocab-{train,heldout}.i16 + .jsonl (16 kHz mono int16, clips back to back, one row per clip)
      -> dataDir/vocab.json (the word sources, counts and voices)
    ... --source "emojibase keyword" --takes 3 --seed 1 --prefix vocab-more   (more takes of one source's words,
      training only: the keywords are the everyday words, 2 + 2 takes learn them too slowly)

The spoken words of render_audio.py are the 1,127 English emoji names ("automobile", "red apple", "hot beverage"),
so a user who says "car", "apple" or "coffee" speaks a word the audio tower never heard. This adds the words
people use for the same things: the English emoji keywords of emojibase (corpus.json, "car", "apple", "hello")
and the WordNet aliases that aliases.py trains ("puppy", "hound"); held-out aliases stay out. Only words of one
or two plain English words that are not already spoken.

Voices as before: espeak-ng's training voices and variants (render_audio.py's split, twice per word, random
speed and pitch) and flite's training voices (render_voices.py's, twice per word). Held out: festival (the held-out
engine of render_voices.py) speaks a seeded sample of the new words in each of its two voices, so the evaluation can tell whether the
new words are heard in a voice no training clip has.
"""

import argparse
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from render_audio import EN_VOICES, HELDOUT_EN_VOICES, save, speak, variant_split  # noqa: E402
from render_voices import FLITE_TRAIN, flite_take, render_festival, render_flite  # noqa: E402

ESPEAK_TAKES = 2
FLITE_TAKES = 2
HELDOUT_WORDS = 600
PLAIN = re.compile(r"^[a-z][a-z'-]*( [a-z][a-z'-]*)?$")


def vocabulary(data_dir):
    """New words: emoji keywords and trained WordNet aliases, one or two plain words, not yet spoken."""
    with open(os.path.join(data_dir, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    with open(os.path.join(data_dir, "aliases.json"), encoding="utf-8") as f:
        aliases = json.load(f)
    spoken = {w.lower() for w in corpus["spoken"]["en"]}
    held_aliases = {a["text"].lower() for a in aliases["heldout"]}
    sources = {}
    for e in corpus["emoji"].values():
        for tag in e["texts"].get("en", {}).get("tags", []):
            sources.setdefault(tag.lower().strip(), "emojibase keyword")
    for a in aliases["train"]:
        sources.setdefault(a["text"].lower().strip(), "wordnet alias")
    words = {w: s for w, s in sources.items() if PLAIN.match(w) and len(w) <= 24 and w not in spoken and w not in held_aliases}
    return dict(sorted(words.items()))


def espeak_takes(words, seed, takes):
    """Each word `takes` times, in espeak-ng's training voices and variants (render_audio.py's split)."""
    train_variants, _ = variant_split()
    bases = [v for v in EN_VOICES if v not in HELDOUT_EN_VOICES]
    rng = random.Random(seed)
    clips, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for word in words:
            for _ in range(takes):
                base, var = rng.choice(bases), rng.choice(train_variants)
                x = speak(word, f"{base}+{var}", rng.randint(120, 220), rng.randint(20, 80), tmp)
                if x is not None:
                    clips.append(x)
                    rows.append({"kind": "speech", "lang": "en", "word": word, "voice": f"{base}+{var}", "source": f"espeak:{base}"})
    return clips, rows


def flite_takes(words, seed, takes):
    """Each word `takes` times, in as many of flite's training voices, with render_voices.py's stretch and pitch ranges."""
    rng = random.Random(seed)
    plan = []
    for word in words:
        plan += [(word, flite_take(rng, v)) for v in rng.sample(list(FLITE_TRAIN), takes)]
    with tempfile.TemporaryDirectory() as tmp:
        return render_flite(plan, tmp)


def render_chunk(job):
    k, words, takes, seed = job
    a, ra = espeak_takes(words, 100 + k + 1000 * seed, takes[0])
    b, rb = flite_takes(words, 200 + k + 1000 * seed, takes[1])
    return a + b, ra + rb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", nargs="?", default=os.path.join(HERE, "..", ".data"))
    ap.add_argument("--max-words", type=int, default=0, help="keep a seeded sample of this many words (0: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--source", help="only the words of this source (e.g. 'emojibase keyword'); no held-out set")
    ap.add_argument("--takes", type=int, help="espeak and flite takes per word (default 2 + 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--prefix", default="vocab")
    args = ap.parse_args()
    sources = vocabulary(args.data_dir)
    if args.source:
        sources = {w: s for w, s in sources.items() if s == args.source}
    takes = (args.takes, args.takes) if args.takes else (ESPEAK_TAKES, FLITE_TAKES)
    words = sorted(sources)
    if args.max_words and len(words) > args.max_words:
        words = sorted(random.Random(0).sample(words, args.max_words))
    t0 = time.time()
    chunks = [(k, words[k::16], takes, args.seed) for k in range(16)]
    train_clips, train_rows = [], []
    with multiprocessing.Pool(args.workers) as pool:
        for clips, rows in pool.imap(render_chunk, chunks):
            train_clips += clips
            train_rows += rows
            print(f"train: {len(train_rows)} clips, {time.time() - t0:.0f} s", flush=True)
    held_words, held_clips, held_rows = [], [], []
    if not args.source:
        held_words = sorted(random.Random(1).sample(words, min(HELDOUT_WORDS, len(words))))
        with tempfile.TemporaryDirectory() as tmp:
            held_clips, held_rows = render_festival(held_words, random.Random(2), tmp)
    assert not any(r["engine"] == "festival" for r in train_rows if "engine" in r)
    for r in train_rows + held_rows:
        r["word_source"] = sources[r["word"]]
    save(args.data_dir, "train", train_clips, train_rows, prefix=args.prefix)
    if held_rows:
        save(args.data_dir, "heldout", held_clips, held_rows, prefix=args.prefix)
    counts = {s: sum(1 for w in words if sources[w] == s) for s in sorted(set(sources.values()))}
    with open(os.path.join(args.data_dir, f"{args.prefix}.json"), "w") as f:
        json.dump({"words": len(words), "by_source": counts, "heldout_words": len(held_words), "train_voices": sorted({r["voice"].split("+")[0] for r in train_rows}), "heldout_voices": sorted({r["voice"] for r in held_rows}), "render_s": round(time.time() - t0)}, f, indent=1)
    print(f"{len(words)} words {counts}; {len(train_rows)} train, {len(held_rows)} held-out clips in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    subprocess.run(["espeak-ng", "--version"], check=True, stdout=subprocess.DEVNULL)
    main()
