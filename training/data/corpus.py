"""Every text xmodal-mini is trained or evaluated on, keyed so that training can tell which texts match which item.

    /usr/bin/python3 training/data/corpus.py [dataDir]   -> dataDir/corpus.json

Keys: "e:<HEX>" an emoji (its label and tags in each emojibase language), "g:<n>" an emojibase group,
"s:<n>" a subgroup, "t:<tag>" an English tag shared by emoji and icons, "i:<source>:<name>" a line icon,
"gm:<program>" a General MIDI instrument, "gf:<family>" a GM family, "dr:<key>" a GM drum,
"w:<lang>:<word>" a spoken word.
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gm import DRUMS, FAMILIES, PROGRAMS  # noqa: E402

NM = os.path.join(HERE, "..", "node_modules")
EMOJIBASE = os.path.join(NM, "emojibase-data")
LANGS = sorted(d for d in os.listdir(EMOJIBASE) if os.path.exists(os.path.join(EMOJIBASE, d, "data.json")))
GROUPS_SKIPPED = {2}  # components (skin tones, hair styles), not emoji people search for


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def emoji_texts():
    """{hexcode: {"group", "subgroup", "texts": {lang: {"label": str, "tags": [str]}}}}"""
    out = {}
    for lang in LANGS:
        for e in load(os.path.join(EMOJIBASE, lang, "data.json")):
            if e.get("group") is None or e["group"] in GROUPS_SKIPPED:
                continue
            item = out.setdefault(e["hexcode"], {"group": e["group"], "subgroup": e["subgroup"], "texts": {}})
            item["texts"][lang] = {"label": e["label"], "tags": e.get("tags", [])}
    return out


def group_names():
    groups, subgroups = {}, {}
    for lang in LANGS:
        m = load(os.path.join(EMOJIBASE, lang, "messages.json"))
        for g in m["groups"]:
            groups.setdefault(str(g["order"]), {})[lang] = g["message"]
        for s in m["subgroups"]:
            subgroups.setdefault(str(s["order"]), {})[lang] = s["message"]
    return groups, subgroups


def icon_words(name):
    return re.sub(r"[-_]+", " ", name).strip()


def spoken_words(emoji, lang, max_words=2, max_chars=18):
    """Short emoji names in one language: spoken-word vocabulary that also names a picture."""
    words = {}
    for hexcode, item in sorted(emoji.items()):
        t = item["texts"].get(lang)
        if not t or item["group"] == 9:  # flags: country names are a different task
            continue
        label = t["label"].lower()
        if ":" in label or len(label) > max_chars or len(label.split()) > max_words:
            continue
        if not re.fullmatch(r"[^\d\W]+( [^\d\W]+)?", label):
            continue
        words.setdefault(label, hexcode)
    return words  # word -> emoji hexcode it names


def build(data_dir):
    emoji = emoji_texts()
    groups, subgroups = group_names()
    icons = []
    with open(os.path.join(data_dir, "images-train.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "icon":
                icons.append({"key": f"i:{r['style']}:{r['name']}", "name": icon_words(r["name"]), "tags": [str(t) for t in r.get("tags", [])], "category": r.get("category", "")})
    corpus = {
        "langs": LANGS,
        "emoji": emoji,
        "groups": groups,
        "subgroups": subgroups,
        "icons": {i["key"]: i for i in icons},
        "gm_programs": PROGRAMS,
        "gm_families": FAMILIES,
        "gm_drums": {str(k): v for k, v in DRUMS.items()},
        "spoken": {lang: spoken_words(emoji, lang) for lang in ("en", "it", "de", "fr", "es")},
    }
    return corpus


def all_strings(corpus):
    """Every string the tokenizer must encode (for its vocabulary and the cached token ids)."""
    s = set()
    for item in corpus["emoji"].values():
        for t in item["texts"].values():
            s.add(t["label"])
            s.update(t["tags"])
    for names in list(corpus["groups"].values()) + list(corpus["subgroups"].values()):
        s.update(names.values())
    for i in corpus["icons"].values():
        s.add(i["name"])
        s.update(i["tags"])
        if i["category"]:
            s.add(i["category"])
    s.update(corpus["gm_programs"])
    s.update(corpus["gm_families"])
    s.update(corpus["gm_drums"].values())
    for words in corpus["spoken"].values():
        s.update(words)
    s.update(PROMPTS_EXTRA)
    return sorted({str(x) for x in s if x not in (None, "")})


# Extra strings evaluation and tests use that are not names in the packages.
PROMPTS_EXTRA = ["piano", "drum kit", "dog", "cane", "car", "automobile", "cat", "gatto", "drums", "guitar", "violin", "trumpet", "flute", "bass", "organ"]

if __name__ == "__main__":
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".data")
    corpus = build(data_dir)
    strings = all_strings(corpus)
    corpus["strings"] = strings
    with open(os.path.join(data_dir, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=False)
    print(f"{len(corpus['emoji'])} emoji x {len(LANGS)} languages, {len(corpus['icons'])} icons, {len(strings)} distinct strings; spoken words: " + ", ".join(f"{k} {len(v)}" for k, v in corpus["spoken"].items()))
