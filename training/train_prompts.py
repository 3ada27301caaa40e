"""Stage 1c: make the text tower read prompt templates ("a picture of {}", "il suono di {}") as the bare label.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 training/train_prompts.py --run training/.data/run [--steps N]

Stage 1 trained on bare names and tags, so a template's words dilute the mean of token embeddings. Here a
copy of the text tower learns, by distillation from the frozen stage-1 tower, to map template(x) AND x to the
stage-1 embedding of x (cosine + in-batch InfoNCE). The image and audio towers never move: every space stays
the one they were trained against. Token ids of template(x) are [CLS] + ids(prefix) + ids(x) + ids(suffix) +
[SEP] — exact, because BERT pre-tokenisation splits at the spaces around {} (prefix/suffix ids come from
transformers.js, see data/tokenize-corpus.mjs). Writes RUN/image.pt (text replaced) after moving the old one to
RUN/image-stage1.pt.

With --aliases (data/aliases.py: WordNet synonyms, kinds and kind-of words), a share of each batch maps an alias
("pooch", "a photo of a poodle") to the teacher's embedding of what it names (the mean over its names when it names
several). Descriptive English templates ("a small {}", "a {} on a white background") teach the tower to let filler
words pass. The held-out aliases are scored at the start and the end: alias -> its name among all English names.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from xmodal.data import MAX_TOKENS, Texts, seeded  # noqa: E402
from xmodal.models import TextTower  # noqa: E402

# The product's templates (src/tasks/prompts.ts) plus a few plain ones.
TEMPLATES = {
    "en": ["a picture of {}", "an image of {}", "an emoji of {}", "a drawing of {}", "the sound of {}", "a recording of {}", "a sound of {}", "a photo of {}", "a {}", "the {}", "an icon of {}", "{} emoji", "{} icon",
           "a photo of a {}", "a picture of a {}", "a drawing of a {}", "a small {}", "a big {}", "a cute {}", "a cartoon {}", "clip art of a {}", "a close-up of a {}",
           "a {} on a white background", "a sketch of a {}", "a realistic {}", "the sound of a {}", "a {} making a sound", "a recording of a {}"],
    "it": ["una foto di {}", "un'immagine di {}", "una emoji di {}", "un disegno di {}", "il suono di {}", "una registrazione di {}", "un {}", "una {}", "il {}", "la {}", "icona {}"],
    "de": ["ein Bild von {}", "ein Foto von {}", "ein Emoji von {}", "eine Zeichnung von {}", "das Geräusch von {}", "eine Aufnahme von {}"],
    "fr": ["une photo de {}", "une image de {}", "un emoji de {}", "un dessin de {}", "le son de {}", "un enregistrement de {}"],
    "es": ["una foto de {}", "una imagen de {}", "un emoji de {}", "un dibujo de {}", "el sonido de {}", "una grabación de {}"],
}
# Words a description adds around a name that should not move it (no colours: "red heart" is not "heart").
FILLERS = ["small", "big", "little", "cute", "cartoon", "realistic", "photo of a", "picture of a", "image of a", "drawing of a", "sketch of a", "close-up of a",
           "on a white background", "sitting", "standing", "in the wild", "isolated", "a", "the", "one", "single", "clipart", "illustration"]
CLS, SEP = 2, 3


def fragment_ids(data_dir):
    """Token ids (no [CLS]/[SEP]) of every template prefix and suffix, from transformers.js."""
    frags = sorted({p.strip() for ts in TEMPLATES.values() for t in ts for p in t.split("{}") if p.strip()} | set(FILLERS))
    out = os.path.join(data_dir, "template-fragments.json")
    script = (
        "import('@huggingface/transformers').then(async ({AutoTokenizer, env}) => { env.allowRemoteModels = false;"
        "const fs = await import('node:fs'); const tk = await AutoTokenizer.from_pretrained(process.argv[1]);"
        "const f = JSON.parse(process.argv[2]); fs.writeFileSync(process.argv[3], JSON.stringify(Object.fromEntries(f.map((s) => [s, tk.encode(s).slice(1, -1)])))); })"
    )
    subprocess.run(["node", "-e", script, os.path.abspath(os.path.join(data_dir, "tokenizer")), json.dumps(frags), out], check=True, cwd=os.path.join(HERE, ".."))
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(HERE, ".data"))
    p.add_argument("--run", default=os.path.join(HERE, ".data", "run"))
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--template-share", type=float, default=0.6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", help="start the student (and take the teacher) from this checkpoint instead of RUN/image-stage1.pt")
    p.add_argument("--aliases", help="aliases.json (data/aliases.py): its train rows join the batches")
    p.add_argument("--alias-share", type=float, default=0.25)
    p.add_argument("--bare-weight", type=float, default=1.0, help="weight of the rows that are a bare corpus string (the names the other towers were trained on)")
    p.add_argument("--filler-share", type=float, default=0.0, help="share of English templated rows that also get 1-3 filler words (FILLERS)")
    p.add_argument("--table-only", action="store_true", help="learn the subword table only: the MLP blocks, which shape the space's geometry, stay frozen")
    args = p.parse_args()
    rng = seeded(args.seed)
    texts = Texts(args.data)
    frag = fragment_ids(args.data)
    src = args.init or os.path.join(args.run, "image-stage1.pt")
    if not args.init and not os.path.exists(src):
        shutil.copy(os.path.join(args.run, "image.pt"), src)
    ckpt = torch.load(src, map_location="cpu")
    teacher = TextTower(ckpt["vocab_size"])
    teacher.load_state_dict(ckpt["text"])
    teacher.eval().requires_grad_(False)
    student = TextTower(ckpt["vocab_size"])
    student.load_state_dict(ckpt["text"])
    student.train()

    log = open(os.path.join(args.run, "prompts.log"), "a")
    say = lambda msg: (print(msg, flush=True), log.write(msg + "\n"), log.flush())
    # strings by language, to pick templates in the label's language (English for icons, GM names and tags)
    lang_of = {}
    for item in texts.corpus["emoji"].values():
        for lang, t in item["texts"].items():
            for s in [t["label"], *t["tags"]]:
                lang_of.setdefault(s, lang)
    for lang, words in texts.corpus["spoken"].items():
        for w in words:
            lang_of.setdefault(w, lang)

    aliases = {"train": [], "heldout": []}
    if args.aliases:
        with open(args.aliases, encoding="utf-8") as f:
            found = json.load(f)
        for split in aliases:
            aliases[split] = found[split]
            aliases[split] = [a for a in aliases[split] if a["text"] in texts.sid and all(t in texts.sid for t in a["targets"])]
    names = sorted({t for split in aliases.values() for a in split for t in a["targets"]})
    lens = texts.mask.sum(1)
    n = len(texts.strings)
    alias_texts = {a["text"] for split in aliases.values() for a in split}  # they learn their names, not themselves
    weights = np.array([0.0 if s in alias_texts else 4.0 if lang_of.get(s, "en") in ("en", "it") else 1.0 for s in texts.strings])
    weights /= weights.sum()

    def embed(tower, rows):
        L = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), L, dtype=torch.long)
        mask = torch.zeros(len(rows), L, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return torch.nn.functional.normalize(tower(ids, mask), dim=-1)

    def alias_eval():
        """Held-out aliases: is (one of) its name(s) the nearest English name, or among the 10 nearest?"""
        held = aliases["heldout"]
        if not held:
            return {}
        student.eval()
        with torch.no_grad():
            name_emb = torch.cat([embed(student, [texts.tokens[texts.sid[n], : lens[texts.sid[n]]].tolist() for n in names[i : i + 1024]]) for i in range(0, len(names), 1024)])
            q = torch.cat([embed(student, [texts.tokens[texts.sid[a["text"]], : lens[texts.sid[a["text"]]]].tolist() for a in held[i : i + 1024]]) for i in range(0, len(held), 1024)])
        student.train()
        rank = (q @ name_emb.T).argsort(1, descending=True)[:, :10]
        hit = [[names[j] in held[i]["targets"] for j in rank[i].tolist()] for i in range(len(held))]
        return {"alias_r1": float(np.mean([h[0] for h in hit])), "alias_r10": float(np.mean([any(h) for h in hit])), "aliases": len(held), "names": len(names)}

    def templated(sid):
        lang = lang_of.get(texts.strings[sid], "en")
        t = rng.choice(TEMPLATES.get(lang, TEMPLATES["en"]) if rng.random() < 0.9 else TEMPLATES["en"])
        pre, post = t.split("{}")
        body = texts.tokens[sid, 1 : lens[sid] - 1].tolist()
        if lang == "en" and rng.random() < args.filler_share:  # "a cute little {} on a white background"
            for _ in range(rng.randint(1, 3)):
                words = frag.get(rng.choice(FILLERS), [])
                body = words + body if rng.random() < 0.6 else body + words
        ids = [CLS] + frag.get(pre.strip(), []) + body + frag.get(post.strip(), []) + [SEP]
        return ids[: MAX_TOKENS - 1] + [SEP] if len(ids) > MAX_TOKENS else ids

    params = list(student.parameters())
    if args.table_only:
        for prm in student.parameters():
            prm.requires_grad_(False)
        student.embed.weight.requires_grad_(True)
        params = [student.embed.weight]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))
    say(f"# stage prompts: {n} strings, {sum(len(v) for v in TEMPLATES.values())} templates, {len(aliases['train'])} aliases ({len(aliases['heldout'])} held out), {json.dumps(vars(args))}")
    before = alias_eval()
    if before:
        say(f"held-out aliases before: {json.dumps(before)}")
    t0 = time.time()
    running = []
    for step in range(args.steps):
        n_alias = int(round(args.batch * args.alias_share)) if aliases["train"] else 0
        sids = np.random.choice(n, args.batch - n_alias, p=weights)
        bare = [rng.random() >= args.template_share for _ in sids]
        rows = [texts.tokens[s, : lens[s]].tolist() if b else templated(s) for s, b in zip(sids, bare)]
        targets = [(int(s),) for s in sids]
        bare += [False] * n_alias
        for _ in range(n_alias):
            a = rng.choice(aliases["train"])
            s = texts.sid[a["text"]]
            rows.append(templated(s) if rng.random() < 0.5 else texts.tokens[s, : lens[s]].tolist())
            targets.append(tuple(sorted(texts.sid[t] for t in a["targets"])))
        with torch.no_grad():
            uniq = sorted({t for ts in targets for t in ts})
            at = {t: i for i, t in enumerate(uniq)}
            t_emb = torch.nn.functional.normalize(teacher(*texts.batch(uniq)), dim=-1)
            target = torch.nn.functional.normalize(torch.stack([t_emb[[at[t] for t in ts]].mean(0) for ts in targets]), dim=-1)
        out = embed(student, rows)
        cos = (out * target).sum(1)
        logits = 30.0 * out @ target.T
        keys = np.array([hash(ts) for ts in targets])
        same = torch.from_numpy(keys[:, None] == keys[None, :])
        nce = -(torch.logsumexp(logits.masked_fill(~same, -1e9), 1) - torch.logsumexp(logits, 1)).mean()
        weight = torch.tensor([args.bare_weight if b else 1.0 for b in bare])
        loss = ((1 - cos) * weight).mean() * 10 + nce
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running.append((loss.item(), cos.mean().item()))
        if (step + 1) % 100 == 0:
            l, c = np.mean(running, 0)
            say(f"step {step + 1} loss {l:.4f} cos {c:.4f} {(time.time() - t0) / 60:.1f} min")
            running = []
    ckpt["text"] = student.state_dict()
    after = alias_eval()
    if after:
        say(f"held-out aliases after: {json.dumps(after)}")
    ckpt["prompts"] = {"templates": TEMPLATES, "args": vars(args), "aliases_before": before, "aliases_after": after}
    torch.save(ckpt, os.path.join(args.run, "image.pt"))
    say(f"saved {os.path.join(args.run, 'image.pt')} (text tower distilled for templates)")


if __name__ == "__main__":
    main()
