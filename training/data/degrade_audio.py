"""Make clips sound like the files users really have: one seeded "real file" degradation per clip, then a trim.

    /usr/bin/python3 training/data/degrade_audio.py DATA/NAME [--share 0.5] [--kinds speech,gm] \
        [--degrades vorbis,opus,mp3,phone,reverb,noise,gain] [--seed 0] [--out DATA/OTHER]
      reads  DATA/NAME.i16 + DATA/NAME.jsonl (16 kHz mono int16 clips back to back, one row per clip)
      writes DATA/NAME-degraded.i16 + .jsonl (or --out): ONLY the degraded copies, each row the source row plus
             "degrade" (what was done, with its parameters) and "trim_db"; and a .json with the alignment check.

Degradations (one per clip, chosen at random among --degrades):
  vorbis  ffmpeg libvorbis round trip, -q:a 0..2, encoded at 16 or 44.1 kHz
  opus    ffmpeg libopus round trip, 12/16/24/32 kbit/s (Opus runs at 48 kHz inside; decoded back to 16 kHz)
  mp3     ffmpeg libmp3lame round trip, 32/48/64 kbit/s, encoded at 16, 22.05 or 44.1 kHz
  phone   resample to 8 kHz and back, 300-3400 Hz band-pass, then 8-bit mu-law or a soft compressor
  reverb  convolution with a synthetic room: direct path, early reflections, exponentially decaying filtered
          noise tail (RT60 0.2-1.0 s, direct-to-reverberant ratio -3..+10 dB)
  noise   pink, brown or babble noise (3-6 other clips of the same file) at 5-20 dB SNR, with 0.05-0.4 s of
          the noise before and after the clip
  gain    -24..+12 dB, hard clipping above full scale
Then every clip is trimmed like a user's editor would: leading/trailing parts whose 10 ms RMS stays under a
random threshold (-60..-45 dBFS, and at least 35 dB under the
loudest 10 ms) are cut, keeping a random 0-100 ms; at most 4 s are kept.

Codec round trips run in batches: many clips are concatenated with 0.5 s of silence between them, encoded and
decoded by ONE ffmpeg process each way, the codec delay is measured by cross-correlating the whole batch with
its input, and the clips are cut back apart at their known positions (plus 50 ms either side). A few clips per
batch are checked one by one by cross-correlation; the lags found are printed and saved in the .json.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from render_audio import SR, resample  # noqa: E402

DEGRADES = ["vorbis", "opus", "mp3", "phone", "reverb", "noise", "gain"]
CODECS = {"vorbis", "opus", "mp3"}
GAP = int(0.5 * SR)  # silence between clips in a codec batch
MARGIN = int(0.05 * SR)  # kept either side of a clip when cutting a batch apart
BATCH_S = 300  # seconds of audio per ffmpeg batch
MAX_LEN = int(4 * SR)


# --- reading and writing ------------------------------------------------------------------------
def base_of(path):
    for ext in (".i16", ".jsonl"):
        if path.endswith(ext):
            return path[: -len(ext)]
    return path


def load(base):
    with open(base + ".jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    pcm = np.memmap(base + ".i16", dtype="<i2", mode="r")
    return pcm, rows


def clip_of(pcm, row):
    return pcm[row["offset"] : row["offset"] + row["length"]].astype(np.float32) / 32768.0


def save(base, clips, rows):
    offset = 0
    with open(base + ".i16", "wb") as f:
        for x, r in zip(clips, rows):
            pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
            f.write(pcm.tobytes())
            r["offset"], r["length"] = offset, len(pcm)
            offset += len(pcm)
    with open(base + ".jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return offset


# --- codec round trips in batches ---------------------------------------------------------------
def codec_params(kind, rng):
    """(label, ffmpeg encoder arguments, container) for one clip; labels group clips into batches."""
    if kind == "vorbis":
        q, rate = rng.choice([0, 1, 2]), rng.choice([16000, 44100])
        return f"vorbis:q{q}@{rate}", ["-ar", str(rate), "-c:a", "libvorbis", "-q:a", str(q)], "ogg"
    if kind == "opus":
        kbps = rng.choice([12, 16, 24, 32])
        return f"opus:{kbps}k", ["-c:a", "libopus", "-b:a", f"{kbps}k"], "ogg"
    if kind == "mp3":
        kbps, rate = rng.choice([32, 48, 64]), rng.choice([16000, 22050, 44100])
        return f"mp3:{kbps}k@{rate}", ["-ar", str(rate), "-c:a", "libmp3lame", "-b:a", f"{kbps}k"], "mp3"
    raise ValueError(kind)


def xcorr_lag(a, b, max_lag):
    """The lag (samples) by which b trails a, and the normalised correlation there."""
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    c = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    vals = np.concatenate([c[: max_lag + 1], c[n - max_lag :]])
    k = int(np.argmax(vals))
    norm = np.sqrt(float(np.dot(a, a)) * float(np.dot(b, b))) or 1.0
    return int(lags[k]), float(vals[k] / norm)


def round_trip(signal, enc_args, container, tmp):
    enc = os.path.join(tmp, f"batch.{container}")
    pcm = np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2").tobytes()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "s16le", "-ar", str(SR), "-ac", "1", "-i", "pipe:0", *enc_args, enc], input=pcm, check=True)
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", enc, "-ar", str(SR), "-ac", "1", "-f", "s16le", "pipe:1"], capture_output=True, check=True).stdout
    os.unlink(enc)
    return np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768.0


def codec_batch(clips, enc_args, container, tmp, rng, checks):
    """Round-trip many clips through one encode/decode; returns the decoded clips (with MARGIN either side)."""
    starts, parts, pos = [], [np.zeros(GAP, np.float32)], GAP
    for x in clips:
        starts.append(pos)
        parts += [x, np.zeros(GAP, np.float32)]
        pos += len(x) + GAP
    signal = np.concatenate(parts)
    y = round_trip(signal, enc_args, container, tmp)
    head = min(len(signal), 30 * SR)
    lag, corr = xcorr_lag(signal[:head], y[:head], 4000)
    y = np.concatenate([np.zeros(max(0, -lag), np.float32), y[max(0, lag) :], np.zeros(len(signal), np.float32)])[: len(signal)]
    out = [y[s - MARGIN : s + len(x) + MARGIN] for s, x in zip(starts, clips)]
    for i in rng.sample(range(len(clips)), min(3, len(clips))):  # per-clip alignment check
        ref = np.concatenate([np.zeros(MARGIN, np.float32), clips[i], np.zeros(MARGIN, np.float32)])
        clip_lag, clip_corr = xcorr_lag(ref, out[i], 400)
        checks.append({"codec": " ".join(enc_args), "batch_lag": lag, "batch_corr": round(corr, 3), "clip_lag": clip_lag, "clip_corr": round(clip_corr, 3)})
    return out


# --- degradations computed here -----------------------------------------------------------------
def band_pass(x, sr, lo, hi, edge=100.0):
    n = len(x) + 2048
    X = np.fft.rfft(x, n)
    f = np.fft.rfftfreq(n, 1 / sr)
    g = np.clip((f - (lo - edge)) / edge, 0, 1) * np.clip(((hi + edge) - f) / edge, 0, 1)
    g = 0.5 - 0.5 * np.cos(np.pi * g)
    return np.fft.irfft(X * g, n)[: len(x)].astype(np.float32)


def phone(x, rng):
    y = resample(x, SR, 8000)
    y = band_pass(y, 8000, 300, 3400)
    peak = float(np.abs(y).max()) or 1.0
    y = y / peak * rng.uniform(0.3, 0.9)
    if rng.random() < 0.5:
        mu = 255.0
        q = np.round(np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu) * 127) / 127  # 8-bit mu-law
        y = (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32)
        label = "phone:mulaw"
    else:
        k = rng.uniform(2, 5)
        y = (np.tanh(k * y) / np.tanh(k)).astype(np.float32)
        label = f"phone:comp{k:.1f}"
    return resample(y, 8000, SR), label


def coloured_noise(n, rng, slope):
    """Noise whose power falls as 1/f**slope (1: pink, 2: brown)."""
    r = np.random.default_rng(rng.getrandbits(32))
    X = np.fft.rfft(r.standard_normal(n))
    f = np.arange(len(X), dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(X / f ** (slope / 2), n)
    return (y / (np.sqrt(np.mean(y**2)) or 1.0)).astype(np.float32)


def reverb(x, rng):
    rt60 = rng.uniform(0.2, 1.0)
    drr_db = rng.uniform(-3, 10)
    r = np.random.default_rng(rng.getrandbits(32))
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    tail = r.standard_normal(n) * np.exp(-6.9 * t / rt60)  # 60 dB down at rt60
    fc = rng.uniform(2000, 6000)  # walls and air absorb high frequencies
    spec = np.fft.rfft(tail)
    tail = np.fft.irfft(spec / np.sqrt(1 + (np.fft.rfftfreq(n, 1 / SR) / fc) ** 2), n)
    pre = int(rng.uniform(0.003, 0.02) * SR)
    tail[:pre] = 0
    for _ in range(rng.randint(3, 8)):  # early reflections
        k = int(rng.uniform(0.003, 0.05) * SR)
        if k < n:
            tail[k] += rng.uniform(-0.6, 0.6)
    tail *= 10 ** (-drr_db / 20) / (np.sqrt(np.sum(tail**2)) or 1.0)
    ir = tail
    ir[0] = 1.0
    m = 1 << int(np.ceil(np.log2(len(x) + n)))
    y = np.fft.irfft(np.fft.rfft(x, m) * np.fft.rfft(ir, m), m)[: len(x) + n]
    y *= (float(np.abs(x).max()) or 1.0) / (float(np.abs(y).max()) or 1.0)
    return y.astype(np.float32), f"reverb:rt{rt60:.2f},drr{drr_db:.0f}dB"


def noise(x, rng, pool):
    snr = rng.uniform(5, 20)
    pad = [int(rng.uniform(0.05, 0.4) * SR) for _ in range(2)]
    y = np.concatenate([np.zeros(pad[0], np.float32), x, np.zeros(pad[1], np.float32)])
    kind = rng.choice(["pink", "brown", "babble"] if len(pool) >= 6 else ["pink", "brown"])
    if kind == "babble":
        nz = np.zeros(len(y), np.float32)
        for _ in range(rng.randint(3, 6)):
            other = pool[rng.randrange(len(pool))]()
            other = other / (np.sqrt(np.mean(other**2)) or 1.0)
            reps = np.tile(other, len(y) // max(1, len(other)) + 2)
            start = rng.randrange(len(other))
            nz += reps[start : start + len(y)]
        nz /= np.sqrt(np.mean(nz**2)) or 1.0
    else:
        nz = coloured_noise(len(y), rng, 1 if kind == "pink" else 2)
    p = float(np.mean(x**2)) or 1e-8
    y = y + nz * np.sqrt(p / 10 ** (snr / 10))
    peak = float(np.abs(y).max())
    if peak > 0.99:
        y *= 0.99 / peak
    return y.astype(np.float32), f"noise:{kind},snr{snr:.0f}dB"


def gain(x, rng):
    g = rng.uniform(-24, 12)
    return np.clip(x * 10 ** (g / 20), -1, 1).astype(np.float32), f"gain:{g:+.0f}dB"


def user_trim(x, rng):
    """Cut leading/trailing parts whose 10 ms RMS stays under a threshold, keeping 0-100 ms; at most 4 s."""
    thr_db = rng.uniform(-60, -45)
    keep = int(rng.uniform(0, 0.1) * SR)
    w = int(0.01 * SR)
    n = len(x) // w
    if n:
        rms = np.sqrt(np.mean(x[: n * w].reshape(n, w) ** 2, axis=1) + 1e-12)
        db = 20 * np.log10(rms)
        thr_db = min(thr_db, float(db.max()) - 35)  # a quiet recording is not cut into its word
        loud = np.nonzero(db > thr_db)[0]
        if len(loud):
            x = x[max(0, loud[0] * w - keep) : min(len(x), (loud[-1] + 1) * w + keep)]
    return x[:MAX_LEN], round(thr_db, 1)


# --- the whole file -----------------------------------------------------------------------------
def degrade(base, out_base, share=1.0, kinds=None, degrades=DEGRADES, seed=0, verbose=True):
    pcm, rows = load(base)
    rng = random.Random(seed)
    chosen = [i for i, r in enumerate(rows) if kinds is None or r.get("kind") in kinds]
    chosen = sorted(rng.sample(chosen, int(round(share * len(chosen)))))
    pool_rows = [r for r in rows if r.get("kind") == "speech"]
    pool = [lambda r=r: clip_of(pcm, r) for r in pool_rows]
    plan = {i: rng.choice(degrades) for i in chosen}
    out, labels, checks = {}, {}, []
    groups = {}
    for i in chosen:
        if plan[i] in CODECS:
            label, args, container = codec_params(plan[i], rng)
            groups.setdefault(label, (args, container, []))[2].append(i)
        else:
            x = clip_of(pcm, rows[i])
            if plan[i] == "phone":
                out[i], labels[i] = phone(x, rng)
            elif plan[i] == "reverb":
                out[i], labels[i] = reverb(x, rng)
            elif plan[i] == "noise":
                out[i], labels[i] = noise(x, rng, pool)
            else:
                out[i], labels[i] = gain(x, rng)
    with tempfile.TemporaryDirectory() as tmp:
        for label, (args, container, idx) in sorted(groups.items()):
            batch, dur = [], 0
            for j, i in enumerate(idx):
                batch.append(i)
                dur += rows[i]["length"] + GAP
                if dur >= BATCH_S * SR or j == len(idx) - 1:
                    ys = codec_batch([clip_of(pcm, rows[k]) for k in batch], args, container, tmp, rng, checks)
                    for k, y in zip(batch, ys):
                        out[k], labels[k] = y, label
                    batch, dur = [], 0
            if verbose:
                print(f"  {label}: {len(idx)} clips", flush=True)
    clips, new_rows = [], []
    for i in chosen:
        y, thr = user_trim(out[i], rng)
        clips.append(y)
        new_rows.append({**{k: v for k, v in rows[i].items() if k not in ("offset", "length")}, "degrade": labels[i], "trim_db": thr})
    total = save(out_base, clips, new_rows)
    counts = {}
    for r in new_rows:
        counts[r["degrade"].split(":")[0]] = counts.get(r["degrade"].split(":")[0], 0) + 1
    worst = max((abs(c["clip_lag"]) for c in checks), default=None)
    summary = {"source": os.path.basename(base), "seed": seed, "share": share, "kinds": sorted(kinds) if kinds else None, "clips": len(new_rows), "minutes": round(total / SR / 60, 1), "counts": counts, "alignment_checks": checks, "worst_clip_lag": worst}
    with open(out_base + ".json", "w") as f:
        json.dump(summary, f, indent=1)
    if verbose:
        print(f"{os.path.basename(out_base)}: {len(new_rows)} clips, {total / SR / 60:.1f} min, {counts}")
        if checks:
            print(f"alignment: {len(checks)} clips checked, clip lags {sorted({c['clip_lag'] for c in checks})}, min corr {min(c['clip_corr'] for c in checks):.3f}")
    return summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name", help="DATA/NAME (with or without .i16/.jsonl)")
    ap.add_argument("--share", type=float, default=1.0, help="fraction of the (filtered) clips to degrade; only these are written")
    ap.add_argument("--kinds", default=None, help="comma-separated row kinds to consider (e.g. speech,gm); default all")
    ap.add_argument("--degrades", default=",".join(DEGRADES), help=f"comma-separated subset of {','.join(DEGRADES)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="output DATA/NAME; default NAME-degraded next to the input")
    a = ap.parse_args()
    base = base_of(a.name)
    chosen = [d for d in a.degrades.split(",") if d]
    bad = [d for d in chosen if d not in DEGRADES]
    if bad:
        ap.error(f"unknown degradation(s): {','.join(bad)}")
    degrade(base, a.out or base + "-degraded", a.share, set(a.kinds.split(",")) if a.kinds else None, chosen, a.seed)
