"""Stage 1: image tower + text tower with symmetric multi-positive InfoNCE on emoji and line icons.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 training/train_image.py --out training/.data/run [--steps N] [--batch B]

Logs one line per --log-every steps to OUT/image.log; evaluates on held-out OpenMoji every --eval-every steps
and saves OUT/image.pt (towers, logit scale, config) at the end.

On a GPU (training/gpu/image_stage.sh) add --workers N: batches are then sampled in N DataLoader processes, one
RNG stream each, so the GPU is not kept waiting on Python; same model, loss, schedule and checkpoint.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from xmodal.data import ImageSet, Texts, augment_images, normalise, seeded, to_tensor  # noqa: E402
from xmodal.metrics import embed_in_batches, fmt, retrieval, zero_shot  # noqa: E402
from xmodal.models import ImageTower, TextTower, multi_positive_nce, train_mode  # noqa: E402

HELDOUT_STYLES = {"openmoji"}


def extra_eval(img_tower, txt_tower, texts, held, device):
    """Each extra source's held-out slice: its first text (a title) -> picture, among all of that source's pictures."""
    out = {}
    for source in sorted({r.get("source", r["kind"]) for r in held.rows}):
        rows = [i for i, r in enumerate(held.rows) if r.get("source", r["kind"]) == source and held.describe[i].sids]
        pixels = held.pixels[rows]
        img = embed_in_batches(lambda s: img_tower(normalise(to_tensor(pixels[s]).to(device))).cpu(), len(rows))
        titles = [held.rows[i]["texts"][0] for i in rows]
        sids = [texts.sid[t] for t in titles]
        t = embed_in_batches(lambda s: txt_tower(*[a.to(device) for a in texts.batch(sids[s])]).cpu(), len(sids))
        match = torch.from_numpy(np.array(titles)[:, None] == np.array(titles)[None, :])
        out[f"t2i_{source}"] = retrieval(t, img, match)
    return out


def heldout_eval(img_tower, txt_tower, texts, held, device, held_extra=None, bn_frozen=False, text_frozen=False):
    img_tower.eval()
    txt_tower.eval()
    with torch.no_grad():
        img = embed_in_batches(lambda s: img_tower(normalise(to_tensor(held.pixels[s]).to(device))).cpu(), len(held.rows))
        hexes = [r["hexcode"] for r in held.rows]
        out = {}
        emoji = texts.corpus["emoji"]
        for lang in ("en", "it"):
            q = [(i, emoji[h]["texts"][lang]["label"]) for i, h in enumerate(hexes) if lang in emoji[h]["texts"]]
            sids = [texts.sid[s] for _, s in q]
            t = embed_in_batches(lambda s: txt_tower(*[a.to(device) for a in texts.batch(sids[s])]).cpu(), len(sids))
            labels = [emoji[h]["texts"][lang]["label"] for h in hexes]
            match = torch.from_numpy(np.array([s for _, s in q])[:, None] == np.array(labels)[None, :])
            out[f"t2i_{lang}"] = retrieval(t, img, match)
        groups = sorted({str(emoji[h]["group"]) for h in hexes}, key=int)
        g_sids = [texts.sid[texts.corpus["groups"][g]["en"]] for g in groups]
        g_emb = txt_tower(*[a.to(device) for a in texts.batch(g_sids)]).cpu()
        out["category"] = zero_shot(img, g_emb, [groups.index(str(emoji[h]["group"])) for h in hexes])
        if held_extra is not None:
            out.update(extra_eval(img_tower, txt_tower, texts, held_extra, device))
    train_mode(img_tower, bn_frozen)
    if not text_frozen:
        train_mode(txt_tower, bn_frozen)
    return out


def positive_mask(train, idx, sids):
    """pos[i, j]: text j (a corpus string id) describes image i. Vectorised membership test over the batch."""
    lists = [train.pos_lists[i] for i in idx]
    rows = np.repeat(np.arange(len(idx)), [len(l) for l in lists])
    vals = np.concatenate(lists)
    uniq, inv = np.unique(sids, return_inverse=True)
    at = np.clip(np.searchsorted(uniq, vals), 0, len(uniq) - 1)
    hit = uniq[at] == vals
    m = np.zeros((len(idx), len(uniq)), dtype=bool)
    m[rows[hit], at[hit]] = True
    return m[:, inv]


def sample_batch(train, texts, batch, n_emoji, rng, n_extra=0):
    """n_emoji emoji, n_extra pictures of the extra sources and the rest icons, drawn with replacement, one sampled text
    each: (indices, positive mask, token ids, attention mask)."""
    n_icon = batch - n_emoji - n_extra
    idx = np.concatenate([np.array([rng.choice(train.emoji_idx) for _ in range(n_emoji)]), np.array([rng.choice(train.icon_idx) for _ in range(n_icon)]),
                          np.array([rng.choice(train.other_idx) for _ in range(n_extra)], dtype=np.int64)])
    sids = np.array([train.describe[i].sample(rng) for i in idx])
    ids, mask = texts.batch(sids)
    return torch.from_numpy(idx), torch.from_numpy(positive_mask(train, idx, sids)), ids, mask


class Batches(torch.utils.data.IterableDataset):
    """Endless sample_batch()es for --workers N; the positive mask travels bit-packed (8x less shared memory)."""

    def __init__(self, train, texts, batch, n_emoji, seed, n_extra=0):
        self.train, self.texts, self.batch, self.n_emoji, self.seed, self.n_extra = train, texts, batch, n_emoji, seed, n_extra

    def __iter__(self):
        torch.set_num_threads(1)
        rng = random.Random(self.seed * 1000 + torch.utils.data.get_worker_info().id + 1)
        while True:
            idx, pos, ids, mask = sample_batch(self.train, self.texts, self.batch, self.n_emoji, rng, self.n_extra)
            yield idx, torch.from_numpy(np.packbits(pos.numpy(), axis=1)), ids, mask


def batch_source(args, train, texts, n_emoji, rng, device, n_extra=0):
    """A function returning the next (indices, positive mask, token ids, attention mask) on the device."""
    if not args.workers:  # in the training loop, from the run's seeded RNG
        return lambda: tuple(t.to(device) for t in sample_batch(train, texts, args.batch, n_emoji, rng, n_extra))
    cuda = device.type == "cuda"
    loader = iter(torch.utils.data.DataLoader(Batches(train, texts, args.batch, n_emoji, args.seed, n_extra), batch_size=None, num_workers=args.workers,
                                              pin_memory=cuda, prefetch_factor=4, persistent_workers=True))
    shifts = torch.arange(7, -1, -1, device=device, dtype=torch.uint8)

    def next_batch():
        idx, packed, ids, mask = (t.to(device, non_blocking=cuda) for t in next(loader))
        return idx, ((packed.unsqueeze(-1) >> shifts) & 1).flatten(1)[:, : args.batch].bool(), ids, mask

    return next_batch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(HERE, ".data"))
    p.add_argument("--out", default=os.path.join(HERE, ".data", "run"))
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--emoji-share", type=float, default=0.7)
    p.add_argument("--extra", default="", help="extra picture sources, comma-separated: DATA/SOURCE-{train,heldout}.{u8,jsonl} (e.g. clipart)")
    p.add_argument("--extra-share", type=float, default=0.0, help="share of each batch drawn from the extra sources (taken from the icons' share)")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--widths", default="32,64,128,192,256", help="conv widths of the image tower")
    p.add_argument("--init", help="start from this image.pt (fine-tuning)")
    p.add_argument("--freeze-text", action="store_true", help="train the image tower only, against the text tower of --init (keeps a bound audio tower valid)")
    p.add_argument("--freeze-convs", type=int, default=0, help="keep the first N conv blocks of the image tower as they are (fine-tuning: new pictures reuse its low-level features)")
    p.add_argument("--cartoon", action="store_true", help="also fake outlined flat-colour art (see data.cartoonise)")
    p.add_argument("--minutes", type=float, default=0, help="if set, the LR schedule follows wall time and training stops after it (GPU runs)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--workers", type=int, default=0, help="0: sample batches in the training loop (CPU); N: in N DataLoader processes (GPU runs)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = seeded(args.seed)
    device = torch.device(args.device)
    if device.type == "cuda":  # speed only: TF32 matmuls/convolutions, autotuned kernels
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = torch.backends.cudnn.benchmark = True
    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed)

    texts = Texts(args.data)
    extra = [e for e in args.extra.split(",") if e]
    train = ImageSet(args.data, "train", texts, extra)
    held = ImageSet(args.data, "heldout", texts)
    held_extra = ImageSet(args.data, "heldout", texts, extra, base=False) if extra else None  # OpenMoji is scored on its own
    assert not any(r.get("style") in HELDOUT_STYLES for r in train.rows), "held-out style in training data"
    assert all(r["style"] in HELDOUT_STYLES for r in held.rows)
    size = train.size
    pixels = torch.from_numpy(train.pixels).to(device)  # uint8, small enough to keep on the device
    train.pos_lists = [np.array(sorted(d.positives), dtype=np.int64) for d in train.describe]

    widths = tuple(int(w) for w in args.widths.split(","))
    img_tower = ImageTower(widths).to(device)
    txt_tower = TextTower(texts.vocab_size).to(device)
    log_scale = torch.nn.Parameter(torch.tensor(math.log(10.0), device=device))
    bn_frozen = False
    if args.init:
        init = torch.load(args.init, map_location="cpu", weights_only=False)  # torch >= 2.6 defaults to True
        img_tower.load_state_dict(init["image"])
        txt_tower.load_state_dict(init["text"])
        log_scale.data.fill_(math.log(init["logit_scale"]))
        bn_frozen = bool(init.get("bn_frozen"))  # rebuilt from an export: BatchNorms keep the folded statistics
    train_mode(img_tower, bn_frozen)
    if args.freeze_text:
        txt_tower.eval().requires_grad_(False)
    convs = [m for m in img_tower.features if isinstance(m, torch.nn.Sequential)]
    for block in convs[: args.freeze_convs]:
        block.requires_grad_(False)
    decay, no_decay = [], []
    for m in (img_tower,) if args.freeze_text else (img_tower, txt_tower):
        for n, prm in m.named_parameters():
            if not prm.requires_grad:
                continue
            (no_decay if prm.ndim < 2 or "embed" in n else decay).append(prm)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay + [log_scale], "weight_decay": 0.0}], lr=args.lr)
    warm = max(1, min(300, args.steps // 10))
    t0 = time.time()
    progress = (lambda s: (time.time() - t0) / (60 * args.minutes)) if args.minutes else (lambda s: s / args.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress(s)))))

    log = open(os.path.join(args.out, "image.log"), "a")
    say = lambda msg: (print(msg, flush=True), log.write(msg + "\n"), log.flush())
    say(f"# stage image: {len(train.rows)} train images ({len(train.emoji_idx)} emoji, {len(train.icon_idx)} icons, {len(train.other_idx)} of {extra}), {len(held.rows)} held-out, vocab {texts.vocab_size}, {json.dumps(vars(args))}")
    n_emoji = int(round(args.batch * args.emoji_share))
    n_extra = int(round(args.batch * args.extra_share)) if extra else 0
    next_batch = batch_source(args, train, texts, n_emoji, rng, device, n_extra)
    running = []
    for step in range(10**9 if args.minutes else args.steps):
        idx, pos, ids, mask = next_batch()
        x = augment_images(pixels[idx].permute(0, 3, 1, 2).float() / 255.0, gen, cartoon=args.cartoon)
        img = img_tower(normalise(x))
        with torch.set_grad_enabled(not args.freeze_text):
            txt = txt_tower(ids, mask)
        loss = multi_positive_nce(img, txt, pos, log_scale.exp().clamp(max=100))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running.append(loss.detach())  # read back only at log steps: a GPU need not wait each step
        if (step + 1) % args.log_every == 0:
            el = time.time() - t0
            say(f"step {step + 1} loss {torch.stack(running).mean().item():.4f} scale {log_scale.exp().item():.2f} lr {sched.get_last_lr()[0]:.2e} {(step + 1) * args.batch / el:.0f} img/s {el / 60:.1f} min")
            running = []
        done = step + 1 == args.steps or (args.minutes and progress(step) >= 1.0)
        if (step + 1) % args.eval_every == 0 or done or step == 0 and args.init:
            ev = heldout_eval(img_tower, txt_tower, texts, held, device, held_extra, bn_frozen, args.freeze_text)
            say(f"eval step {step + 1} " + " | ".join(f"{k}: {fmt(v)}" for k, v in ev.items()))
            ckpt = {"image": img_tower.state_dict(), "text": txt_tower.state_dict(), "logit_scale": log_scale.exp().clamp(max=100).item(), "image_size": size, "image_widths": widths, "vocab_size": texts.vocab_size, "args": vars(args), "steps": step + 1, "eval": ev, "bn_frozen": bn_frozen}
            torch.save({k: ({n: t.cpu() for n, t in v.items()} if isinstance(v, dict) and k in ("image", "text") else v) for k, v in ckpt.items()}, os.path.join(args.out, "image.pt"))
        if done:
            break
    say(f"saved {os.path.join(args.out, 'image.pt')} after {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
