"""Render the audio half of the data: General MIDI instruments and drums with fluidsynth, spoken words with espeak-ng.

    /usr/bin/python3 training/data/render_audio.py [dataDir]
      -> dataDir/audio-{train,heldout}.i16 (16 kHz mono int16, clips back to back) + .jsonl (one row per clip)

Instruments: one MIDI file per soundfont holds every program (then drums, then drum-kit grooves) in fixed
2-second slots; fluidsynth renders it in one run and the slots are cut apart. Speech: one espeak-ng call
per word and voice. Held out (never in the train split, asserted below): the whole TimGM6mb soundfont,
the English voices in HELDOUT_EN_VOICES and the espeak variants in HELDOUT_VARIANTS.
"""

import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gm import DRUMS, FAMILIES, PROGRAMS  # noqa: E402

SR = 16000
SLOT_S = 2.0
SOUNDFONTS_TRAIN = {"fluid": "/usr/share/sounds/sf2/FluidR3_GM.sf2", "musescore": "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"}
SOUNDFONTS_HELDOUT = {"timgm6mb": "/usr/share/sounds/sf2/TimGM6mb.sf2"}
# Not for training, though Debian has them: Csound's sf_GMbank.sf2 (csound-soundfont) shares 329 of TimGM6mb's 520
# samples byte for byte, so it would leak the held-out bank; opl3-soundfont is CC BY-SA (share-alike).
EN_VOICES = ["en-gb", "en-us", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-gb-scotland", "en-us-nyc"]
HELDOUT_EN_VOICES = {"en-gb-scotland", "en-us-nyc"}
LANG_VOICES = {"it": "it", "de": "de", "fr": "fr-fr", "es": "es"}
TAKES = {"en": 10, "it": 6, "de": 2, "fr": 2, "es": 2}  # training renditions per word
HELDOUT_TAKES = {"en": 2, "it": 1}
SINGLE_PITCHES = [40, 45, 48, 52, 55, 60, 64, 67, 72, 76, 79, 84]
VELOCITIES = [50, 80, 110]


# --- a tiny type-0 MIDI writer ------------------------------------------------------------------
def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_midi(path, events, tpq=480, tempo_us=500000):
    """events: (time_s, bytes) with status bytes included; 120 bpm so one tick = 1/960 s."""
    ticks_per_s = tpq * 1_000_000 / tempo_us
    track = bytearray(b"\x00\xff\x51\x03" + tempo_us.to_bytes(3, "big"))
    last = 0
    for t, msg in sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80)):
        tick = int(round(t * ticks_per_s))
        track += vlq(tick - last) + msg
        last = tick
    track += b"\x00\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(track)) + track)


def instrument_plan(rng):
    """[(events for one slot relative to its start, row)] for every program, drum and groove."""
    plan = []
    for prog in range(128):
        ch = prog % 9  # channels 0-8, never 9 (drums)
        for pitch in SINGLE_PITCHES:
            vel = rng.choice(VELOCITIES)
            dur = rng.choice([0.4, 0.8, 1.4])
            ev = [(0.0, bytes([0xC0 | ch, prog])), (0.02, bytes([0x90 | ch, pitch, vel])), (0.02 + dur, bytes([0x80 | ch, pitch, 0]))]
            plan.append((ev, {"kind": "gm", "program": prog, "pitch": pitch}))
        for _ in range(3):  # short arpeggio / repeated notes
            base = rng.choice([48, 55, 60, 67])
            steps = rng.choice([[0, 4, 7], [0, 3, 7, 12], [0, 0, 0], [0, 2, 4, 5, 7]])
            ev = [(0.0, bytes([0xC0 | ch, prog]))]
            step = 1.6 / len(steps)
            for i, s in enumerate(steps):
                ev += [(0.02 + i * step, bytes([0x90 | ch, base + s, rng.choice(VELOCITIES)])), (0.02 + (i + 0.9) * step, bytes([0x80 | ch, base + s, 0]))]
            plan.append((ev, {"kind": "gm", "program": prog, "pitch": base}))
    for key in DRUMS:
        for vel in [40, 70, 100, 127]:
            for hits in (1, 3):
                ev = []
                for i in range(hits):
                    ev += [(0.02 + i * 0.5, bytes([0x99, key, vel])), (0.12 + i * 0.5, bytes([0x89, key, 0]))]
                plan.append((ev, {"kind": "drum", "key": key}))
    for _ in range(24):  # drum-kit grooves: kick, snare, hi-hat
        ev = []
        bpm_step = rng.choice([0.2, 0.25, 0.3])
        kick, snare, hat = rng.choice([35, 36]), rng.choice([38, 40]), rng.choice([42, 44, 46])
        t, i = 0.02, 0
        while t < 1.8:
            ev += [(t, bytes([0x99, hat, 70])), (t + 0.05, bytes([0x89, hat, 0]))]
            if i % 4 == 0:
                ev += [(t, bytes([0x99, kick, 110])), (t + 0.1, bytes([0x89, kick, 0]))]
            if i % 4 == 2:
                ev += [(t, bytes([0x99, snare, 100])), (t + 0.1, bytes([0x89, snare, 0]))]
            t += bpm_step
            i += 1
        plan.append((ev, {"kind": "kit"}))
    return plan


def read_wav(path):
    with wave.open(path, "rb") as w:
        n, ch, sr, width = w.getnframes(), w.getnchannels(), w.getframerate(), w.getsampwidth()
        raw = w.readframes(n)
    assert width == 2, f"{path}: {width * 8}-bit"
    x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return x, sr


def resample(x, sr_in, sr_out=SR):
    """Band-limited resampling through the FFT (clips are short and padded, so wrap-around is negligible)."""
    if sr_in == sr_out:
        return x
    pad = 512
    xp = np.concatenate([np.zeros(pad, np.float32), x, np.zeros(pad, np.float32)])
    n_out = int(round(len(xp) * sr_out / sr_in))
    X = np.fft.rfft(xp)
    Y = np.zeros(n_out // 2 + 1, dtype=np.complex128)
    m = min(len(X), len(Y))
    Y[:m] = X[:m]
    y = np.fft.irfft(Y, n_out) * (n_out / len(xp))
    p = int(round(pad * sr_out / sr_in))
    return y[p : len(y) - p].astype(np.float32)


def render_instruments(sf_name, sf_path, tmp, rng):
    plan = instrument_plan(rng)
    events = []
    for k, (ev, _) in enumerate(plan):
        events += [(k * SLOT_S + t, m) for t, m in ev]
    # all notes off + reset at the end of every slot so tails never cross into the next slot
    for k in range(len(plan)):
        for ch in range(16):
            events.append((k * SLOT_S + SLOT_S - 0.01, bytes([0xB0 | ch, 120, 0])))
    mid = os.path.join(tmp, f"{sf_name}.mid")
    wav = os.path.join(tmp, f"{sf_name}.wav")
    write_midi(mid, events)
    subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.6", "-r", str(SR), "-F", wav, sf_path, mid], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    x, sr = read_wav(wav)
    assert sr == SR, sr
    clips, rows = [], []
    slot = int(SLOT_S * SR)
    for k, (_, row) in enumerate(plan):
        seg = x[k * slot : (k + 1) * slot]
        if len(seg) < slot // 2 or np.abs(seg).max() < 1e-3:
            continue  # silent program in this soundfont
        clips.append(seg[: slot - int(0.01 * SR)])
        rows.append({**row, "source": sf_name})
    return clips, rows


def variants():
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True).stdout.splitlines()[1:]
    names = sorted({line.split()[4].split("/")[-1] for line in out if len(line.split()) >= 5})
    return names


def variant_split():
    """espeak-ng's voice variants for training, and the held-out one in six (a set)."""
    all_variants = variants()
    heldout = set(all_variants[::6])
    return [v for v in all_variants if v not in heldout], heldout


def speak(text, voice, speed, pitch, tmp):
    wav = os.path.join(tmp, "w.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", wav, text], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    x, sr = read_wav(wav)
    x = resample(x, sr)
    nz = np.nonzero(np.abs(x) > 1e-3)[0]
    if len(nz) == 0:
        return None
    x = x[max(0, nz[0] - 800) : nz[-1] + 800]  # trim espeak's leading/trailing silence, keep 50 ms
    return x[: int(4 * SR)]


def render_speech(corpus, tmp, rng):
    train_variants, heldout_variants = variant_split()
    train, heldout = ([], []), ([], [])
    for lang, words in corpus["spoken"].items():
        if lang == "en":
            train_bases = [v for v in EN_VOICES if v not in HELDOUT_EN_VOICES]
            heldout_bases = sorted(HELDOUT_EN_VOICES)
        else:
            train_bases = heldout_bases = [LANG_VOICES[lang]]
        for word in sorted(words):
            for split, takes, bases, vars_ in ((train, TAKES[lang], train_bases, train_variants), (heldout, HELDOUT_TAKES.get(lang, 0), heldout_bases, sorted(heldout_variants))):
                for _ in range(takes):
                    base, var = rng.choice(bases), rng.choice(vars_)
                    voice = f"{base}+{var}"
                    x = speak(word, voice, rng.randint(120, 220), rng.randint(20, 80), tmp)
                    if x is None:
                        continue
                    split[0].append(x)
                    split[1].append({"kind": "speech", "lang": lang, "word": word, "voice": voice, "source": f"espeak:{base}"})
        print(f"speech {lang}: {len(train[0])} train / {len(heldout[0])} held-out clips so far", flush=True)
    for r in train[1]:
        base, var = r["voice"].split("+")
        assert base not in HELDOUT_EN_VOICES and var not in heldout_variants, r
    return train, heldout, sorted(heldout_variants)


def save(data_dir, split, clips, rows, prefix="audio"):
    offset = 0
    with open(os.path.join(data_dir, f"{prefix}-{split}.i16"), "wb") as f:
        for x, r in zip(clips, rows):
            pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
            f.write(pcm.tobytes())
            r["offset"], r["length"] = offset, len(pcm)
            offset += len(pcm)
    with open(os.path.join(data_dir, f"{prefix}-{split}.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{split}: {len(rows)} clips, {offset / SR / 60:.1f} min")


if __name__ == "__main__":
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".data")
    with open(os.path.join(data_dir, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    rng = random.Random(1234)
    train_clips, train_rows, held_clips, held_rows = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in SOUNDFONTS_TRAIN.items():
            c, r = render_instruments(name, path, tmp, rng)
            train_clips += c
            train_rows += r
            print(f"{name}: {len(c)} clips", flush=True)
        for name, path in SOUNDFONTS_HELDOUT.items():
            c, r = render_instruments(name, path, tmp, rng)
            held_clips += c
            held_rows += r
            print(f"{name} (held out): {len(c)} clips", flush=True)
        (sc, sr_), (hc, hr), held_vars = render_speech(corpus, tmp, rng)
    train_clips += sc
    train_rows += sr_
    held_clips += hc
    held_rows += hr
    assert not any(r["source"] in SOUNDFONTS_HELDOUT for r in train_rows)
    save(data_dir, "train", train_clips, train_rows)
    save(data_dir, "heldout", held_clips, held_rows)
    with open(os.path.join(data_dir, "audio.json"), "w") as f:
        json.dump({"sampling_rate": SR, "heldout_variants": held_vars, "heldout_en_voices": sorted(HELDOUT_EN_VOICES), "heldout_soundfonts": sorted(SOUNDFONTS_HELDOUT), "families": FAMILIES, "programs": PROGRAMS}, f)
