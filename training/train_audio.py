"""Stage 2 (ImageBind-style): train the audio tower against the FROZEN text tower of stage 1.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 training/train_audio.py --run training/.data/run [--steps N]

Every clip is pulled towards the text embeddings of its labels (instrument + GM family, drum name, "drum kit",
or the spoken word) through a softmax over ALL audio label texts; no audio-image pairs are used, so audio
reaches images only through the shared text space. Log: RUN/audio.log, checkpoint: RUN/audio.pt.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from xmodal.audio_features import load_filters, log_mel, repeatpad  # noqa: E402
from xmodal.clap_config import NB_MAX_SAMPLES, SAMPLING_RATE  # noqa: E402
from xmodal.data import Texts, seeded  # noqa: E402
from xmodal.metrics import fmt, retrieval, zero_shot  # noqa: E402
from xmodal.models import AudioTower, TextTower  # noqa: E402

HELDOUT_SOURCES = {"timgm6mb"}
KIT_TEXT = "drum kit"
SHARES = {"speech": 0.55, "gm": 0.35, "drum": 0.07, "kit": 0.03}


class AudioSet:
    def __init__(self, data_dir, split):
        with open(os.path.join(data_dir, f"audio-{split}.jsonl"), encoding="utf-8") as f:
            self.rows = [json.loads(l) for l in f]
        self.pcm = np.memmap(os.path.join(data_dir, f"audio-{split}.i16"), dtype="<i2", mode="r")
        self.by_kind = {k: np.array([i for i, r in enumerate(self.rows) if r["kind"] == k]) for k in SHARES}

    def wave(self, i):
        r = self.rows[i]
        return np.asarray(self.pcm[r["offset"] : r["offset"] + r["length"]], dtype=np.float32) / 32768.0


def clip_texts(row, corpus):
    """The label strings a clip matches; the first is what a user would type for it."""
    if row["kind"] == "gm":
        return [corpus["gm_programs"][row["program"]], corpus["gm_families"][row["program"] // 8]]
    if row["kind"] == "drum":
        return [corpus["gm_drums"][str(row["key"])]]
    if row["kind"] == "kit":
        return [KIT_TEXT]
    return [row["word"]]


def augment(x, kind, rng):
    if len(x) > NB_MAX_SAMPLES:  # rand_trunc, as the extractor does
        s = rng.randint(0, len(x) - NB_MAX_SAMPLES)
        x = x[s : s + NB_MAX_SAMPLES]
    if kind in ("gm", "drum", "kit") and rng.random() < 0.5:
        x = x[: int(rng.uniform(0.4, 1.0) * len(x))]
    if rng.random() < 0.3:
        x = np.concatenate([np.zeros(int(rng.uniform(0, 0.25) * SAMPLING_RATE), np.float32), x])
    x = x * (10 ** rng.uniform(-0.6, 0.3))
    if rng.random() < 0.3:
        x = x + np.random.randn(len(x)).astype(np.float32) * (10 ** rng.uniform(-4, -2.3))
    return repeatpad(x.astype(np.float32))


def spec_augment(f, gen):
    b, t, m = f.shape
    out = f.clone()
    floor = f.amin(dim=(1, 2), keepdim=True)
    for i in range(b):
        if torch.rand(1, generator=gen).item() < 0.5:
            w = int(torch.randint(1, 20, (1,), generator=gen))
            s = int(torch.randint(0, t - w, (1,), generator=gen))
            out[i, s : s + w] = floor[i]
        if torch.rand(1, generator=gen).item() < 0.5:
            w = int(torch.randint(1, 8, (1,), generator=gen))
            s = int(torch.randint(0, m - w, (1,), generator=gen))
            out[i, :, s : s + w] = floor[i]
    return out


def features(waves, mel, window):
    return log_mel(torch.from_numpy(np.stack(waves)), mel, window)


@torch.no_grad()
def embed_clips(tower, data, idx, mel, window, device, batch=256):
    tower.eval()
    out = []
    for s in range(0, len(idx), batch):
        w = [repeatpad(data.wave(i)[:NB_MAX_SAMPLES]) for i in idx[s : s + batch]]
        out.append(tower(features(w, mel, window).unsqueeze(1).to(device)).cpu())
    tower.train()
    return torch.cat(out)


def heldout_eval(tower, held, corpus, embed_text, mel, window, device, max_speech=1500):
    out = {}
    gm = [i for i, r in enumerate(held.rows) if r["kind"] == "gm"]
    fam = embed_text(corpus["gm_families"])
    a = embed_clips(tower, held, gm, mel, window, device)
    out["gm_family_timgm6mb"] = zero_shot(a, fam, [held.rows[i]["program"] // 8 for i in gm])
    for lang in ("en", "it"):
        sp = [i for i, r in enumerate(held.rows) if r["kind"] == "speech" and r["lang"] == lang][:max_speech]
        words = sorted({held.rows[i]["word"] for i in sp})
        a = embed_clips(tower, held, sp, mel, window, device)
        t = embed_text(words)
        match = torch.from_numpy(np.array([held.rows[i]["word"] for i in sp])[:, None] == np.array(words)[None, :])
        out[f"speech_{lang}_a2t"] = retrieval(a, t, match)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(HERE, ".data"))
    p.add_argument("--run", default=os.path.join(HERE, ".data", "run"), help="folder with image.pt; audio.pt and audio.log go there")
    p.add_argument("--text", help="checkpoint with the frozen text tower to bind to (default RUN/image.pt)")
    p.add_argument("--init", help="continue from this audio.pt")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    rng = seeded(args.seed)
    np.random.seed(args.seed)
    device = torch.device(args.device)
    gen = torch.Generator()
    gen.manual_seed(args.seed)

    texts = Texts(args.data)
    corpus = texts.corpus
    stage1 = torch.load(args.text or os.path.join(args.run, "image.pt"), map_location="cpu")
    txt = TextTower(stage1["vocab_size"])
    txt.load_state_dict(stage1["text"])
    txt.eval().requires_grad_(False)
    txt.to(device)

    @torch.no_grad()
    def embed_text(strings):
        ids, mask = texts.batch([texts.sid[s] for s in strings])
        return torch.nn.functional.normalize(txt(ids.to(device), mask.to(device)), dim=-1).cpu()

    train, held = AudioSet(args.data, "train"), AudioSet(args.data, "heldout")
    assert not any(r["source"] in HELDOUT_SOURCES for r in train.rows), "held-out soundfont in training"
    with open(os.path.join(args.data, "audio.json")) as f:
        audio_meta = json.load(f)
    held_vars = set(audio_meta["heldout_variants"])
    held_voices = set(audio_meta["heldout_en_voices"])
    for r in train.rows:
        if r["kind"] == "speech":
            base, var = r["voice"].split("+")
            assert var not in held_vars and base not in held_voices, f"held-out voice in training: {r}"

    targets = sorted({s for r in train.rows for s in clip_texts(r, corpus)} | set(corpus["gm_families"]))
    tindex = {s: i for i, s in enumerate(targets)}
    T = embed_text(targets).to(device)
    pos_of = [[tindex[s] for s in clip_texts(r, corpus)] for r in train.rows]

    mel, window = load_filters(os.path.join(args.data, "clap-reference.json"))
    sample = [train.wave(i) for i in np.random.choice(len(train.rows), 1500, replace=False)]
    f = features([repeatpad(w[:NB_MAX_SAMPLES]) for w in sample], mel, window)
    mean, std = f.mean(dim=(0, 1)), f.std(dim=(0, 1)).clamp(min=1.0)
    tower = AudioTower(mean=mean, std=std).to(device)
    log_scale = torch.nn.Parameter(torch.tensor(math.log(20.0), device=device))
    if args.init:
        init = torch.load(args.init, map_location="cpu")
        tower.load_state_dict(init["audio"])
        log_scale.data.fill_(math.log(init["audio_scale"]))
    decay = [q for n, q in tower.named_parameters() if q.ndim >= 2]
    no_decay = [q for n, q in tower.named_parameters() if q.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay + [log_scale], "weight_decay": 0.0}], lr=args.lr)
    warm = min(200, args.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))

    os.makedirs(args.run, exist_ok=True)
    log = open(os.path.join(args.run, "audio.log"), "a")
    say = lambda msg: (print(msg, flush=True), log.write(msg + "\n"), log.flush())
    counts = {k: len(v) for k, v in train.by_kind.items()}
    say(f"# stage audio: {len(train.rows)} train clips {counts}, {len(held.rows)} held-out, {len(targets)} label texts (text tower frozen), {json.dumps(vars(args))}")
    kinds = list(SHARES)
    quota = {k: int(round(args.batch * SHARES[k])) for k in kinds}
    quota["speech"] += args.batch - sum(quota.values())
    t0 = time.time()
    running = []
    for step in range(args.steps):
        idx = [int(rng.choice(train.by_kind[k])) for k in kinds for _ in range(quota[k])]
        waves = [augment(train.wave(i), train.rows[i]["kind"], rng) for i in idx]
        feats = spec_augment(features(waves, mel, window), gen).unsqueeze(1).to(device)
        a = torch.nn.functional.normalize(tower(feats), dim=-1)
        logits = log_scale.exp().clamp(max=100) * a @ T.T
        pos = torch.zeros_like(logits, dtype=torch.bool)
        for row, i in enumerate(idx):
            pos[row, pos_of[i]] = True
        loss = -(torch.logsumexp(logits.masked_fill(~pos, torch.finfo(logits.dtype).min), 1) - torch.logsumexp(logits, 1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running.append(loss.item())
        if (step + 1) % args.log_every == 0:
            el = time.time() - t0
            say(f"step {step + 1} loss {np.mean(running):.4f} scale {log_scale.exp().item():.2f} lr {sched.get_last_lr()[0]:.2e} {(step + 1) * args.batch / el:.0f} clips/s {el / 60:.1f} min")
            running = []
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            ev = heldout_eval(tower, held, corpus, embed_text, mel, window, device)
            say(f"eval step {step + 1} " + " | ".join(f"{k}: {fmt(v)}" for k, v in ev.items()))
            torch.save({"audio": {n: t.cpu() for n, t in tower.state_dict().items()}, "steps": step + 1, "args": vars(args), "eval": ev, "audio_scale": float(log_scale.exp().detach())}, os.path.join(args.run, "audio.pt"))
    say(f"saved {os.path.join(args.run, 'audio.pt')} after {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
