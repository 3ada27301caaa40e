"""Other English words for the things xmodal-mini's pictures and sounds are named by, from WordNet 3.0.

    /usr/bin/python3 training/data/aliases.py [dataDir]   -> dataDir/aliases.json
Needs Debian's wordnet-base (/usr/share/wordnet; WordNet 3.0 licence: use, copy, modify and distribute,
for any purpose, with its copyright notice).

For every English name (emoji labels, line-icon names, GM instruments and families, drum names) whose word is a
WordNet noun, its most common sense gives:
  - synonyms: the sense's other words ("automobile" -> car),
  - kinds of it: hyponyms two levels down ("puppy", "poodle", "hound" -> dog),
  - what it is a kind of: the direct hypernym, standing for every name it covers ("canine" -> dog, wolf, fox),
    when it covers at most MAX_COVER names.
A word that already is a name or tag in the corpus keeps its own meaning and is never an alias. Aliases of one name
in ten (a stable hash of the name) are held out for evaluation: the text stage never sees them.
"""

import json
import os
import re
import sys
import zlib

WORDNET = "/usr/share/wordnet"
MAX_COVER = 12
MAX_HYPONYMS = 60
HELDOUT_EVERY = 10


def read_index(path):
    """lemma -> [synset offsets], most common sense first."""
    out = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            parts = line.split()
            lemma, p_cnt = parts[0], int(parts[3])
            synset_cnt = int(parts[2])
            offsets = parts[4 + p_cnt + 2 :]
            out[lemma] = offsets[:synset_cnt]
    return out


def read_data(path):
    """offset -> (words, {pointer symbol: [offsets of nouns]})"""
    out = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head = line.split(" | ")[0].split()
            offset, w_cnt = head[0], int(head[3], 16)
            words = [head[4 + 2 * i] for i in range(w_cnt)]
            i = 4 + 2 * w_cnt
            p_cnt = int(head[i])
            ptrs = {}
            for k in range(p_cnt):
                sym, off, pos = head[i + 1 + 4 * k : i + 4 + 4 * k]
                if pos == "n":
                    ptrs.setdefault(sym, []).append(off)
            out[offset] = (words, ptrs)
    return out


def clean(word):
    """WordNet's "Canis_familiaris" / "hound(p)" -> None (a proper or Latin name) / "hound"."""
    w = re.sub(r"\([a-z]+\)$", "", word)
    if any(c.isupper() for c in w) or any(c.isdigit() for c in w):
        return None
    w = w.replace("_", " ")
    return w if 2 <= len(w) <= 24 and len(w.split()) <= 3 else None


def english_names(corpus):
    """(every English name, the names of things: emoji and sounds, whose kinds are worth learning; icon names such
    as "form" or "equal" are abstract, so they only get synonyms)"""
    things = set()
    for item in corpus["emoji"].values():
        t = item["texts"].get("en")
        if t:
            things.add(t["label"].lower())
    things.update(n.lower() for n in corpus["gm_programs"])
    things.update(n.lower() for n in corpus["gm_families"])
    things.update(n.lower() for n in corpus["gm_drums"].values())
    names = things | {icon["name"].lower() for icon in corpus["icons"].values()}
    ok = lambda n: re.fullmatch(r"[a-z]+( [a-z]+)?", n)
    return {n for n in names if ok(n)}, {n for n in things if ok(n)}


def build(corpus):
    index = read_index(os.path.join(WORDNET, "index.noun"))
    data = read_data(os.path.join(WORDNET, "data.noun"))
    taken = {s.lower() for s in corpus["strings"]}
    names, things = english_names(corpus)
    sense = {n: index[n.replace(" ", "_")][0] for n in names if n.replace(" ", "_") in index}
    aliases = {}  # alias text -> {"targets": set, "rel": str}

    def add(text, targets, rel):
        if text is None or text in taken or text in names:
            return
        a = aliases.setdefault(text, {"targets": set(), "rel": rel})
        a["targets"].update(targets)

    cover = {}
    for name, off in sense.items():
        words, ptrs = data[off]
        for w in words:
            add(clean(w), [name], "synonym")
        if name not in things:
            continue
        hyponyms = list(ptrs.get("~", []))  # direct kinds first, then their kinds
        for h in ptrs.get("~", []):
            hyponyms += data[h][1].get("~", [])
        for h in hyponyms[:MAX_HYPONYMS]:
            for w in data[h][0]:
                add(clean(w), [name], "hyponym")
        for h in ptrs.get("@", []):
            cover.setdefault(h, set()).add(name)
    for h, covered in cover.items():
        if len(covered) <= MAX_COVER:
            for w in data[h][0]:
                add(clean(w), covered, "hypernym")
    # a word that names kinds of several unrelated things (e.g. a hyponym of two names) stays, with every target
    heldout = lambda targets: min(zlib.crc32(t.encode()) for t in targets) % HELDOUT_EVERY == 0
    rows = [{"text": t, "targets": sorted(a["targets"]), "rel": a["rel"]} for t, a in sorted(aliases.items())]
    return {"train": [r for r in rows if not heldout(r["targets"])], "heldout": [r for r in rows if heldout(r["targets"])], "names_in_wordnet": len(sense), "names": len(names)}


if __name__ == "__main__":
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".data")
    with open(os.path.join(data_dir, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    out = build(corpus)
    with open(os.path.join(data_dir, "aliases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
    rels = {}
    for r in out["train"] + out["heldout"]:
        rels[r["rel"]] = rels.get(r["rel"], 0) + 1
    print(f"{out['names_in_wordnet']} of {out['names']} English names are WordNet nouns; aliases: {len(out['train'])} train, {len(out['heldout'])} held out; {rels}")
    for t in ("puppy", "hound", "canine", "automobile", "kitten", "poodle", "feline", "sedan", "pooch"):
        hit = [r for r in out["train"] + out["heldout"] if r["text"] == t]
        print(t, "->", hit[0]["targets"] if hit else None)
