"""Train a small multilingual WordPiece vocabulary on the corpus and write it as an HF tokenizer.json.

    /usr/bin/python3 training/data/build_tokenizer.py [dataDir] [vocabSize]  -> dataDir/tokenizer/{tokenizer.json,tokenizer_config.json}

Normalisation and pre-tokenisation are BERT's (lowercase, accents kept, CJK ideographs split, split on
whitespace and punctuation), so transformers.js's AutoTokenizer reproduces them. Every character seen
at least twice gets a word-start and a "##" continuation piece, so no word of the corpus becomes [UNK];
the rest of the budget goes to whole words, then to frequent substrings, weighted towards English and Italian.
"""

import collections
import json
import os
import sys
import unicodedata

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
MAX_LENGTH = 32  # tokens, incl. [CLS] and [SEP]: names and tags are short
LANG_WEIGHT = {"en": 4.0, "it": 3.0}


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def pre_tokenize(text):
    """Approximates BertNormalizer(lowercase, strip_accents=false) + BertPreTokenizer, for counting only."""
    out, cur = [], []
    for ch in text.lower():
        cp = ord(ch)
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") or cp == 0 or cp == 0xFFFD:
            if cur:
                out.append("".join(cur))
                cur = []
        elif is_cjk(cp) or is_punct(ch):
            if cur:
                out.append("".join(cur))
                cur = []
            out.append(ch)
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def weighted_strings(corpus):
    """(string, weight) pairs: each emoji text weighted by its language."""
    for item in corpus["emoji"].values():
        for lang, t in item["texts"].items():
            w = LANG_WEIGHT.get(lang, 1.0)
            yield t["label"], 2 * w
            for tag in t["tags"]:
                yield tag, w
    for names in list(corpus["groups"].values()) + list(corpus["subgroups"].values()):
        for lang, name in names.items():
            yield name, LANG_WEIGHT.get(lang, 1.0)
    for i in corpus["icons"].values():
        yield i["name"], 2.0
        for tag in i["tags"]:
            yield str(tag), 1.0
    for s in corpus["gm_programs"] + corpus["gm_families"] + list(corpus["gm_drums"].values()):
        yield s, 4.0
    for lang, words in corpus["spoken"].items():
        for wd in words:
            yield wd, LANG_WEIGHT.get(lang, 1.0)


def build_vocab(corpus, size):
    words = collections.Counter()
    for s, w in weighted_strings(corpus):
        for wd in pre_tokenize(s):
            words[wd] += w
    chars = collections.Counter()
    for wd, w in words.items():
        for ch in wd:
            chars[ch] += w
    vocab = list(SPECIALS)
    seen = set(vocab)

    def add(tok):
        if tok not in seen and len(vocab) < size:
            seen.add(tok)
            vocab.append(tok)

    for ch, n in sorted(chars.items(), key=lambda kv: (-kv[1], kv[0])):
        if n < 2:
            continue
        add(ch)
        if not is_cjk(ord(ch)) and not is_punct(ch):
            add("##" + ch)
    n_chars = len(vocab)
    # Whole words take half of what is left; frequent substrings share the rest.
    word_budget = n_chars + (size - n_chars) // 2
    for wd, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= word_budget:
            break
        if len(wd) > 1:
            add(wd)
    pieces = collections.Counter()
    for wd, w in words.items():
        if wd in seen:
            continue
        for i in range(len(wd)):
            for j in range(i + 2, min(len(wd), i + 8) + 1):
                piece = wd[i:j] if i == 0 else "##" + wd[i:j]
                pieces[piece] += w * (j - i - 1)
    for piece, _ in sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= size:
            break
        add(piece)
    return vocab, n_chars


def tokenizer_json(vocab):
    ids = {t: i for i, t in enumerate(vocab)}
    special = lambda t: {"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(t) for t in SPECIALS],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": False, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": ids},
    }


def tokenizer_config():
    return {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "strip_accents": False,
        "tokenize_chinese_chars": True,
        "model_max_length": MAX_LENGTH,
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "padding_side": "right",
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": True,
    }


if __name__ == "__main__":
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".data")
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 16000
    with open(os.path.join(data_dir, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    vocab, n_chars = build_vocab(corpus, size)
    out = os.path.join(data_dir, "tokenizer")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab), f, ensure_ascii=False)
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config(), f, indent=2)
    print(f"vocab {len(vocab)} ({n_chars} specials+characters)")
