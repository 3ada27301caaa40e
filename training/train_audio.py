"""Stage 2 (ImageBind-style): train the audio tower against the FROZEN text tower of stage 1.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 training/train_audio.py --run training/.data/run [--steps N] [--threads 2]

Every clip is pulled towards the text embeddings of its labels (instrument + GM family, drum name + "drum",
"cymbal" or "percussion", "drum kit" + "drums", or the spoken word) through a softmax over ALL audio label texts;
no audio-image pairs are used, so audio reaches images only through the shared text space. Log: RUN/audio.log, checkpoint: RUN/audio.pt.

The log-mel features of every clip are computed once (DATA/audio-{train,heldout}.mel.npy, the extractor's exact
output) and augmented as features (xmodal/audio_features.FeatureAugment: speed, vocal-tract/timbre warp, level,
tilt, noise, masks), which makes a step ~3x cheaper than augmenting waveforms and recomputing the STFT.

--extra adds clip sets written the same way (DATA/NAME.i16 + NAME.jsonl, e.g. speech2-train from
data/render_voices.py, sfx-train from data/collect_sfx.py, their *-degraded copies from data/degrade_audio.py);
--extra-heldout adds held-out sets that the evaluation scores one by one (spoken words of a held-out engine,
sound effects). A sound effect's row carries its own "texts".
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
from xmodal.audio_features import FeatureAugment, cached_features, load_filters, log_mel  # noqa: E402
from xmodal.clap_config import FRAMES, HOP, NB_MAX_SAMPLES  # noqa: E402
from xmodal.data import Texts, seeded  # noqa: E402
from xmodal.metrics import fmt, retrieval, zero_shot  # noqa: E402
from xmodal.models import AudioTower, TextTower, train_mode  # noqa: E402

HELDOUT_SOURCES = {"timgm6mb"}
KIT_TEXT = "drum kit"
DRUM_WORDS = ("drum", "snare", "tom", "bongo", "conga", "timbale", "side stick")
SHARES = {"speech": 0.55, "gm": 0.35, "drum": 0.07, "kit": 0.03, "sfx": 0.0}  # of each batch; --speech-share and --sfx-share rescale


def drum_kind(name):
    """The plain word for a GM drum-kit sound, so that "drum" finds drums: a drum, a cymbal, or other percussion."""
    if any(w in name for w in DRUM_WORDS):
        return "drum"
    if "cymbal" in name or "hi-hat" in name or "ride bell" in name:
        return "cymbal"
    return "percussion"


def batch_shares(speech, sfx=0.0):
    """Each kind's share of a batch: speech and sound effects as asked, the instruments keep their ratios."""
    inst = {k: v for k, v in SHARES.items() if k not in ("speech", "sfx")}
    rest = (1 - speech - sfx) / sum(inst.values())
    return {"speech": speech, "sfx": sfx, **{k: v * rest for k, v in inst.items()}}


class AudioSet:
    """The clips of DATA/NAME.i16 + NAME.jsonl for each name (audio-SPLIT first), one index over all of them."""

    def __init__(self, data_dir, names, instrument_sources=None):
        self.names, self.rows, self.base = list(names), [], []
        self.pcm = {name: np.memmap(os.path.join(data_dir, f"{name}.i16"), dtype="<i2", mode="r") for name in self.names}
        for name in self.names:
            with open(os.path.join(data_dir, f"{name}.jsonl"), encoding="utf-8") as f:
                rows = [json.loads(l) for l in f]
            self.base.append(len(self.rows))
            self.rows += [{**r, "set": name} for r in rows]
        use = lambda r: r["kind"] in ("speech", "sfx") or instrument_sources is None or r["source"] in instrument_sources
        self.by_kind = {k: np.array([i for i, r in enumerate(self.rows) if r["kind"] == k and use(r)], dtype=np.int64) for k in SHARES}

    def wave(self, i):
        r = self.rows[i]
        return np.asarray(self.pcm[r["set"]][r["offset"] : r["offset"] + r["length"]], dtype=np.float32) / 32768.0

    def load_features(self, data_dir, mel, window):
        """log-mel of every clip, cached beside each set's clips; own_frames = frames before repeat padding."""
        parts = []
        for k, name in enumerate(self.names):
            start = self.base[k]
            end = self.base[k + 1] if k + 1 < len(self.names) else len(self.rows)
            parts.append(cached_features(os.path.join(data_dir, f"{name}.mel.npy"), os.path.join(data_dir, f"{name}.i16"), lambda i, s=start: self.wave(s + i), end - start, mel, window))
        self.feats = parts[0] if len(parts) == 1 else np.concatenate(parts)
        self.own_frames = torch.tensor([min(FRAMES, 1 + r["length"] // HOP) for r in self.rows])
        self.cut_short = torch.tensor([r["kind"] != "speech" for r in self.rows])


def clip_texts(row, corpus):
    """The label strings a clip matches; the first is what a user would type for it."""
    if row["kind"] == "gm":
        return [corpus["gm_programs"][row["program"]], corpus["gm_families"][row["program"] // 8]]
    if row["kind"] == "drum":
        name = corpus["gm_drums"][str(row["key"])]
        return [name, drum_kind(name)]
    if row["kind"] == "kit":
        return [KIT_TEXT, "drums"]
    if row["kind"] == "sfx":
        return row["texts"]
    return [row["word"]]


@torch.no_grad()
def embed_clips(tower, data, idx, device, batch=256):
    was_training = tower.training
    tower.eval()
    out = []
    for s in range(0, len(idx), batch):
        f = torch.from_numpy(np.asarray(data.feats[idx[s : s + batch]], dtype=np.float32))
        out.append(tower(f.unsqueeze(1).to(device)).cpu())
    if was_training:
        train_mode(tower, getattr(tower, "bn_frozen", False))
    return torch.cat(out)


def word_retrieval(a, spoken, embed_text, sample=None):
    """Clips (embeddings a) -> the word each speaks, among all the words spoken, or among a seeded sample of
    `sample` of them (every clip of each)."""
    spoken = np.asarray(spoken)
    words = sorted(set(spoken))
    if sample:
        words = sorted(np.random.RandomState(0).choice(words, sample, replace=False))
        keep = np.isin(spoken, words)
        a, spoken = a[torch.from_numpy(keep)], spoken[keep]
    return retrieval(a, embed_text(words), torch.from_numpy(spoken[:, None] == np.array(words)[None, :]))


def extra_heldout_eval(tower, held, embed_text, device, sample_words=None):
    """Each extra held-out set on its own: spoken words -> the word among that set's words (and among a sample of
    sample_words of them), sound effects: text -> sound among that set's clips."""
    out = {}
    for name in held.names[1:]:
        idx = [i for i, r in enumerate(held.rows) if r["set"] == name]
        a = embed_clips(tower, held, idx, device)
        if held.rows[idx[0]]["kind"] == "sfx":
            labels = [held.rows[i]["texts"][0] for i in idx]
            uniq = sorted(set(labels))
            t = embed_text(uniq)
            match = torch.from_numpy(np.array(uniq)[:, None] == np.array(labels)[None, :])
            out[f"{name}_t2a"] = retrieval(t, a, match)
        else:
            spoken = [held.rows[i]["word"] for i in idx]
            out[f"{name}_a2t"] = word_retrieval(a, spoken, embed_text)
            if sample_words:
                out[f"{name}_a2t_{sample_words}"] = word_retrieval(a, spoken, embed_text, sample_words)
    return out


def heldout_eval(tower, held, corpus, embed_text, device, max_speech=1500):
    out = {}
    gm = [i for i, r in enumerate(held.rows) if r["kind"] == "gm" and r["set"] == "audio-heldout"]
    fam = embed_text(corpus["gm_families"])
    a = embed_clips(tower, held, gm, device)
    out["gm_family_timgm6mb"] = zero_shot(a, fam, [held.rows[i]["program"] // 8 for i in gm])
    for lang in ("en", "it"):
        sp = [i for i, r in enumerate(held.rows) if r["kind"] == "speech" and r["lang"] == lang and r["set"] == "audio-heldout"][:max_speech]
        out[f"speech_{lang}_a2t"] = word_retrieval(embed_clips(tower, held, sp, device), [held.rows[i]["word"] for i in sp], embed_text)
    out.update(extra_heldout_eval(tower, held, embed_text, device))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(HERE, ".data"))
    p.add_argument("--run", default=os.path.join(HERE, ".data", "run"), help="folder with image.pt; audio.pt and audio.log go there")
    p.add_argument("--text", help="checkpoint with the frozen text tower to bind to (default RUN/image.pt)")
    p.add_argument("--init", help="continue from this audio.pt")
    p.add_argument("--steps", type=int, default=3000, help="length of the learning-rate schedule")
    p.add_argument("--keep-checkpoints", action="store_true", help="also keep every evaluated checkpoint as RUN/audio-STEP.pt (for average_audio.py)")
    p.add_argument("--stop-at", type=int, help="end (and save) after this many steps, part way through the schedule")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--widths", default="128,192,256,256", help="channels of the audio tower's 1-D convolutions")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--speech-share", type=float, default=SHARES["speech"], help="share of spoken words in a batch; the rest keep their ratios")
    p.add_argument("--sfx-share", type=float, default=0.0, help="share of sound effects in a batch (needs an --extra set of them)")
    p.add_argument("--extra", default="", help="more training clip sets, comma-separated NAMEs of DATA/NAME.{i16,jsonl}")
    p.add_argument("--extra-heldout", default="", help="more held-out clip sets, each scored on its own")
    p.add_argument("--instrument-sources", help="train on the instruments of these soundfonts only, e.g. fluid,musescore (default: every training bank)")
    p.add_argument("--all-positives", nargs="?", const=",".join(SHARES), default="", metavar="KINDS", help="for clips of these kinds (comma-separated, default every kind) every label must match (the mean of one softmax per label, the clip's other labels left out), not just the nearest one: e.g. gm,drum,kit makes an instrument learn its family and a drum the plain word as well as its name")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    rng = seeded(args.seed)
    torch.set_num_threads(args.threads)
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

    sources = set(args.instrument_sources.split(",")) if args.instrument_sources else None
    split_names = lambda base, extra: [base] + [e for e in extra.split(",") if e]
    train, held = AudioSet(args.data, split_names("audio-train", args.extra), sources), AudioSet(args.data, split_names("audio-heldout", args.extra_heldout))
    assert not any(r["source"] in HELDOUT_SOURCES for r in train.rows), "held-out soundfont in training"
    with open(os.path.join(args.data, "audio.json")) as f:
        audio_meta = json.load(f)
    held_vars = set(audio_meta["heldout_variants"])
    held_voices = set(audio_meta["heldout_en_voices"])
    held_engines = {r["source"].split(":")[0] for r in held.rows if r["set"] != "audio-heldout" and r["kind"] == "speech"}
    for r in train.rows:
        if r["kind"] == "speech" and r["source"].split(":")[0] in held_engines:
            raise AssertionError(f"held-out speech engine in training: {r}")
        if r["kind"] == "speech" and r["source"].startswith("espeak"):
            base, var = r["voice"].split("+")
            assert var not in held_vars and base not in held_voices, f"held-out voice in training: {r}"

    targets = sorted({s for r in train.rows for s in clip_texts(r, corpus)} | set(corpus["gm_families"]))
    tindex = {s: i for i, s in enumerate(targets)}
    T = embed_text(targets).to(device)
    pos_of = [[tindex[s] for s in clip_texts(r, corpus)] for r in train.rows]
    all_kinds = {k for k in args.all_positives.split(",") if k}
    assert all_kinds <= set(SHARES), f"--all-positives: kinds are {','.join(SHARES)}"
    every_kind = torch.tensor([r["kind"] in all_kinds for r in train.rows])

    mel, window = load_filters(os.path.join(args.data, "clap-reference.json"))
    train.load_features(args.data, mel, window)
    held.load_features(args.data, mel, window)
    used = np.sort(np.concatenate(list(train.by_kind.values())))
    f = torch.from_numpy(np.asarray(train.feats[used[np.sort(np.random.choice(len(used), 1500, replace=False))]], dtype=np.float32))
    mean, std = f.mean(dim=(0, 1)), f.std(dim=(0, 1)).clamp(min=1.0)
    widths = tuple(int(w) for w in args.widths.split(","))
    tower = AudioTower(widths=widths, mean=mean, std=std).to(device)
    noise_db = log_mel(torch.from_numpy(np.random.RandomState(0).randn(1, NB_MAX_SAMPLES).astype(np.float32)), mel, window)[0].mean(0)
    augment = FeatureAugment(gen, noise_db)
    log_scale = torch.nn.Parameter(torch.tensor(math.log(20.0), device=device))
    tower.bn_frozen = False
    if args.init:
        init = torch.load(args.init, map_location="cpu")
        tower.load_state_dict(init["audio"])
        log_scale.data.fill_(math.log(init["audio_scale"]))
        tower.bn_frozen = bool(init.get("bn_frozen"))  # rebuilt from an export (from_onnx.py): keep the folded statistics
    train_mode(tower, tower.bn_frozen)
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
    shares = batch_shares(args.speech_share, args.sfx_share if len(train.by_kind["sfx"]) else 0.0)
    quota = {k: int(round(args.batch * shares[k])) for k in kinds}
    quota["speech"] += args.batch - sum(quota.values())
    kinds = [k for k in kinds if quota[k] > 0]
    t0 = time.time()
    running = []
    last = min(args.steps, args.stop_at or args.steps)
    for step in range(last):
        idx = [int(rng.choice(train.by_kind[k])) for k in kinds for _ in range(quota[k])]
        rows = np.array(idx)
        rows_t = torch.from_numpy(rows)
        order = np.argsort(rows)  # sorted reads from the memory map
        f = torch.empty(len(rows), FRAMES, train.feats.shape[2])
        f[torch.from_numpy(order)] = torch.from_numpy(np.asarray(train.feats[rows[order]], dtype=np.float32))
        feats = augment(f, train.own_frames[rows], train.cut_short[rows]).unsqueeze(1).to(device)
        a = torch.nn.functional.normalize(tower(feats), dim=-1)
        logits = log_scale.exp().clamp(max=100) * a @ T.T
        pos = torch.zeros_like(logits, dtype=torch.bool)
        for row, i in enumerate(idx):
            pos[row, pos_of[i]] = True
        # all positives: per label p of a clip, -log softmax of p against the clip's negatives only, averaged over
        # its labels (with one label this is the plain softmax loss); otherwise the clip matches its labels as a
        # set and the nearest label alone can carry it
        neg = torch.logsumexp(logits.masked_fill(pos, torch.finfo(logits.dtype).min), 1, keepdim=True)
        every = ((torch.nn.functional.softplus(neg - logits) * pos).sum(1) / pos.sum(1))
        nearest = -(torch.logsumexp(logits.masked_fill(~pos, torch.finfo(logits.dtype).min), 1) - torch.logsumexp(logits, 1))
        loss = torch.where(every_kind[rows_t], every, nearest).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running.append(loss.item())
        if (step + 1) % args.log_every == 0:
            el = time.time() - t0
            say(f"step {step + 1} loss {np.mean(running):.4f} scale {log_scale.exp().item():.2f} lr {sched.get_last_lr()[0]:.2e} {(step + 1) * args.batch / el:.0f} clips/s {el / 60:.1f} min")
            running = []
        if (step + 1) % args.eval_every == 0 or step + 1 == last:
            ev = heldout_eval(tower, held, corpus, embed_text, device)
            say(f"eval step {step + 1} " + " | ".join(f"{k}: {fmt(v)}" for k, v in ev.items()))
            ckpt = {"audio": {n: t.cpu() for n, t in tower.state_dict().items()}, "widths": widths, "steps": step + 1, "args": vars(args), "eval": ev, "audio_scale": float(log_scale.exp().detach()), "bn_frozen": tower.bn_frozen}
            torch.save(ckpt, os.path.join(args.run, "audio.pt"))
            if args.keep_checkpoints:
                torch.save(ckpt, os.path.join(args.run, f"audio-{step + 1}.pt"))
    say(f"saved {os.path.join(args.run, 'audio.pt')} after {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
