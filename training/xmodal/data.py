"""Training and held-out data as arrays, plus the text side: which strings describe which item."""

import json
import os
import random

import numpy as np
import torch

MAX_TOKENS = 32
IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]
EVAL_LANGS = ("en", "it")


class Texts:
    """Every corpus string as a row of token ids (from transformers.js, see data/tokenize-corpus.mjs)."""

    def __init__(self, data_dir):
        with open(os.path.join(data_dir, "corpus.json"), encoding="utf-8") as f:
            self.corpus = json.load(f)
        with open(os.path.join(data_dir, "token-ids.json"), encoding="utf-8") as f:
            ids = json.load(f)
        self.strings = list(ids)
        self.sid = {s: i for i, s in enumerate(self.strings)}
        self.tokens = np.zeros((len(self.strings), MAX_TOKENS), dtype=np.int64)
        self.mask = np.zeros((len(self.strings), MAX_TOKENS), dtype=np.int64)
        for i, s in enumerate(self.strings):
            t = ids[s]
            if len(t) > MAX_TOKENS:  # the tokenizer truncates the same way: keep the head, [SEP] last
                t = t[: MAX_TOKENS - 1] + t[-1:]
            self.tokens[i, : len(t)] = t
            self.mask[i, : len(t)] = 1
        with open(os.path.join(data_dir, "tokenizer", "tokenizer.json"), encoding="utf-8") as f:
            self.vocab_size = len(json.load(f)["model"]["vocab"])

    def batch(self, sids):
        sids = np.asarray(sids)
        n = int(self.mask[sids].sum(1).max())
        return torch.from_numpy(self.tokens[sids, :n]), torch.from_numpy(self.mask[sids, :n])


class EmojiTexts:
    """For one emoji: weighted ways to describe it (label/tag/group in a language) and every string that matches it."""

    def __init__(self, texts, hexcode):
        c = texts.corpus
        item = c["emoji"][hexcode]
        g, sg = str(item["group"]), str(item["subgroup"])
        self.by_lang = {}
        pos = set()
        for lang, t in item["texts"].items():
            label = texts.sid[t["label"]]
            tags = [texts.sid[x] for x in t["tags"] if x in texts.sid]
            group = texts.sid.get(c["groups"][g].get(lang, ""), None)
            sub = texts.sid.get(c["subgroups"][sg].get(lang, ""), None)
            self.by_lang[lang] = (label, tags, group, sub)
            pos.update([label, *tags] + [x for x in (group, sub) if x is not None])
        self.positives = pos
        self.langs = sorted(self.by_lang)

    def sample(self, rng):
        r = rng.random()
        lang = "en" if r < 0.3 else "it" if r < 0.5 else rng.choice(self.langs)
        if lang not in self.by_lang:
            lang = rng.choice(self.langs)
        label, tags, group, sub = self.by_lang[lang]
        r = rng.random()
        if r < 0.6 or not tags:
            return label
        if r < 0.88:
            return rng.choice(tags)
        if r < 0.96 and group is not None:
            return group
        return sub if sub is not None else label


class IconTexts:
    def __init__(self, texts, row):
        name = texts.sid[row_name(row)]
        self.tags = [texts.sid[str(t)] for t in row.get("tags", []) if str(t) in texts.sid]
        cat = texts.sid.get(row.get("category") or "", None)
        self.name = name
        self.cat = cat
        self.positives = {name, *self.tags} | ({cat} if cat is not None else set())

    def sample(self, rng):
        r = rng.random()
        if r < 0.6 or not self.tags:
            return self.name
        if r < 0.95 or self.cat is None:
            return rng.choice(self.tags)
        return self.cat


def row_name(row):
    return row["name"].replace("-", " ").replace("_", " ").strip()


class ListTexts:
    """A picture that carries its own English texts, best first (a drawing's title, then its keywords)."""

    def __init__(self, texts, row):
        self.sids = [texts.sid[t] for t in row["texts"] if t in texts.sid]
        self.positives = set(self.sids)

    def sample(self, rng):
        return self.sids[0] if rng.random() < 0.6 or len(self.sids) == 1 else rng.choice(self.sids[1:])


class ImageSet:
    """images-SPLIT (emoji + icons) unless base is False, plus each extra source's SOURCE-SPLIT.u8/.jsonl (rows
    with "texts")."""

    def __init__(self, data_dir, split, texts, extra=(), base=True):
        with open(os.path.join(data_dir, "images.json")) as f:
            self.size = json.load(f)["size"]
        self.rows, pixels = [], []
        for name in ("images", *extra) if base else extra:
            with open(os.path.join(data_dir, f"{name}-{split}.jsonl"), encoding="utf-8") as f:
                rows = [json.loads(l) for l in f]
            pixels.append(np.fromfile(os.path.join(data_dir, f"{name}-{split}.u8"), dtype=np.uint8).reshape(len(rows), self.size, self.size, 3))
            self.rows += rows
        self.pixels = np.concatenate(pixels) if len(pixels) > 1 else pixels[0]
        cache = {}
        self.describe = []
        for r in self.rows:
            if r["kind"] == "emoji":
                key = r["hexcode"]
                if key not in cache:
                    cache[key] = EmojiTexts(texts, key)
                self.describe.append(cache[key])
            elif r["kind"] == "icon":
                self.describe.append(IconTexts(texts, r))
            else:
                self.describe.append(ListTexts(texts, r))
        keep = [i for i, d in enumerate(self.describe) if not isinstance(d, ListTexts) or d.sids]
        self.emoji_idx = np.array([i for i in keep if self.rows[i]["kind"] == "emoji"])
        self.icon_idx = np.array([i for i in keep if self.rows[i]["kind"] == "icon"])
        self.other_idx = np.array([i for i in keep if self.rows[i]["kind"] not in ("emoji", "icon")], dtype=np.int64)


def to_tensor(pixels_u8):
    x = torch.from_numpy(np.ascontiguousarray(pixels_u8)).permute(0, 3, 1, 2).float() / 255.0
    return x


def normalise(x):
    mean = torch.tensor(IMAGE_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4


def cartoonise(x, gen):
    """Unseen styles (OpenMoji) draw flat colours inside dark outlines: fake that on some images of every style."""
    b = x.shape[0]
    dev = x.device
    k = torch.stack([SOBEL, SOBEL.T]).unsqueeze(1).to(dev)  # [2,1,3,3]
    xp = torch.nn.functional.pad(x.reshape(b * 3, 1, *x.shape[2:]), (1, 1, 1, 1), mode="replicate")
    g = torch.nn.functional.conv2d(xp, k).abs().sum(1).reshape(b, 3, *x.shape[2:]).amax(1, keepdim=True)
    thr = 0.08 + 0.15 * torch.rand(b, 1, 1, 1, device=dev, generator=gen)
    edge = (g > thr).float()
    wide = (torch.rand(b, 1, 1, 1, device=dev, generator=gen) < 0.3).float()
    edge = wide * torch.nn.functional.max_pool2d(edge, 3, 1, 1) + (1 - wide) * edge
    levels = torch.randint(3, 7, (b, 1, 1, 1), device=dev, generator=gen).float()
    flat = torch.round(x * levels) / levels
    ink = 0.25 * torch.rand(b, 1, 1, 1, device=dev, generator=gen)
    out = flat * (1 - edge) + ink * edge
    use = (torch.rand(b, 1, 1, 1, device=dev, generator=gen) < 0.3).float()
    return use * out + (1 - use) * x


def augment_images(x, gen, cartoon=False):
    """x [b,3,S,S] in 0..1 over white. Random affine (white fill), outline thickening, blur, colour jitter."""
    b = x.shape[0]
    dev = x.device
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(b, device=dev, generator=gen)
    scale = u(0.8, 1.25)  # >1 shrinks the content
    rot = u(-0.2, 0.2)
    tx, ty = u(-0.12, 0.12), u(-0.12, 0.12)
    cos, sin = torch.cos(rot) * scale, torch.sin(rot) * scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    x = 1 - torch.nn.functional.grid_sample(1 - x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if cartoon:
        x = cartoonise(x, gen)
    thick = (torch.rand(b, device=dev, generator=gen) < 0.15).view(b, 1, 1, 1)
    x = torch.where(thick, -torch.nn.functional.max_pool2d(-x, 3, 1, 1), x)
    blur = (torch.rand(b, device=dev, generator=gen) < 0.2).view(b, 1, 1, 1)
    x = torch.where(blur, torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False), x)
    gray = x.mean(1, keepdim=True)
    sat = u(0.6, 1.3).view(b, 1, 1, 1) * (torch.rand(b, device=dev, generator=gen) > 0.05).view(b, 1, 1, 1)
    x = gray + (x - gray) * sat
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * u(0.75, 1.2).view(b, 1, 1, 1) + mean
    x = x * u(0.85, 1.1).view(b, 1, 1, 1)
    return x.clamp(0, 1)


def seeded(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return random.Random(seed)
