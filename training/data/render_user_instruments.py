"""Render the training soundfonts the way users render MIDI, and cut the files the way the product reads them.

    /usr/bin/python3 training/data/render_user_instruments.py [dataDir] [--takes 4]
      -> dataDir/instruments-user-train.i16 + .jsonl (16 kHz mono int16, clips back to back, one row per clip)

render_audio.py renders every note dry (no reverb or chorus, 16 kHz) and silences it at the end of its 2 s slot,
so training never hears a release, a reverb tail or a chord held across a window. A user's file is fluidsynth
with its defaults: 44.1 kHz stereo, reverb and chorus on, notes ringing out. For every program of the TRAINING
soundfonts (TimGM6mb stays held out), this renders `--takes` such phrases (arpeggios, held chords, short
melodies, single long notes; random key, tempo, velocity and gain) and drums and kit grooves, each in its own
8 s slot of one MIDI file per soundfont, with every note over by 4.5 s so that the tail has died before the next
slot. Each file is then cut like src/encoders/audio-features.ts clipWindows(): trimmed to 50 dB under its peak
(20 ms kept before the sound, 50 ms after), split into 2 s windows with the last one end-aligned; every window
is a clip with its program's labels.

    /usr/bin/python3 training/data/render_user_instruments.py [dataDir] --one-shots [--takes 6]
      -> dataDir/oneshots-train.i16 + .jsonl

One-shot samples, as sample packs and sound libraries hold them: one drum hit or one short note per file, the file
cut where its sound ends (a sample editor's trim, anywhere from 15 to 60 dB under the peak). Such a file is shorter
than the model's 2 s window, so the product pads it with 50 ms of silence and the extractor repeats it: a 0.1 s
snare becomes a roll that no 2 s training slot sounds like. Every drum of the kit and a short note of every program.
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
from gm import DRUMS  # noqa: E402
from render_audio import SOUNDFONTS_HELDOUT, SOUNDFONTS_TRAIN, SR, read_wav, resample, save, write_midi  # noqa: E402

SLOT_S = 8.0
WINDOW = 2 * SR
RENDER_SR = 44100


def phrase(rng, ch):
    """One user-style phrase on channel ch: (events from 0 s, style). Every note is off by 4.5 s."""
    root = rng.choice([48, 52, 55, 57, 60, 62, 64, 67, 72])
    vel = lambda: rng.randint(60, 120)
    style = rng.choice(["arpeggio", "chord", "melody", "note"])
    ev = []
    if style == "arpeggio":
        steps = rng.choice([[0, 4, 7, 12], [0, 3, 7, 12], [0, 4, 7], [0, 7, 12, 7, 0]])
        dt = rng.uniform(0.25, 0.6)
        for i, s in enumerate(steps):
            ev += [(i * dt, bytes([0x90 | ch, root + s, vel()])), (i * dt + dt * 0.9, bytes([0x80 | ch, root + s, 0]))]
    elif style == "chord":
        hold = rng.uniform(1.0, 3.0)
        for s in rng.choice([[0, 4, 7], [0, 3, 7], [0, 4, 7, 11], [0, 7, 12]]):
            ev += [(0.0, bytes([0x90 | ch, root + s, vel()])), (hold, bytes([0x80 | ch, root + s, 0]))]
    elif style == "melody":
        scale, t, note = [0, 2, 4, 5, 7, 9, 11, 12], 0.0, 0
        for _ in range(rng.randint(4, 8)):
            dt = rng.choice([0.25, 0.35, 0.5])
            note = max(0, min(7, note + rng.choice([-2, -1, 1, 2])))
            ev += [(t, bytes([0x90 | ch, root + scale[note], vel()])), (t + dt * 0.9, bytes([0x80 | ch, root + scale[note], 0]))]
            t += dt
            if t > 3.5:
                break
    else:
        hold = rng.uniform(0.5, 3.0)
        ev += [(0.0, bytes([0x90 | ch, root, vel()])), (hold, bytes([0x80 | ch, root, 0]))]
    return ev, style


def drum_phrase(rng, key):
    hits = rng.choice([1, 2, 4])
    dt = rng.uniform(0.2, 0.6)
    ev = []
    for i in range(hits):
        v = rng.randint(50, 127)
        ev += [(i * dt, bytes([0x99, key, v])), (i * dt + 0.1, bytes([0x89, key, 0]))]
    return ev


def kit_phrase(rng):
    ev, t, i = [], 0.0, 0
    step = rng.choice([0.18, 0.22, 0.25, 0.3])
    kick, snare, hat = rng.choice([35, 36]), rng.choice([38, 40]), rng.choice([42, 44, 46, 51])
    while t < 3.5:
        ev += [(t, bytes([0x99, hat, rng.randint(50, 90)])), (t + 0.05, bytes([0x89, hat, 0]))]
        if i % 4 == 0:
            ev += [(t, bytes([0x99, kick, rng.randint(90, 127)])), (t + 0.1, bytes([0x89, kick, 0]))]
        if i % 4 == 2:
            ev += [(t, bytes([0x99, snare, rng.randint(80, 120)])), (t + 0.1, bytes([0x89, snare, 0]))]
        t += step
        i += 1
    return ev


def plan(rng, takes):
    out = []
    for prog in range(128):
        ch = prog % 9
        for _ in range(takes):
            ev, style = phrase(rng, ch)
            out.append(([(0.0, bytes([0xC0 | ch, prog]))] + [(0.05 + t, m) for t, m in ev], {"kind": "gm", "program": prog, "style": style}))
    for key in DRUMS:
        for _ in range(max(1, takes // 2)):
            out.append(([(0.05 + t, m) for t, m in drum_phrase(rng, key)], {"kind": "drum", "key": key}))
    for _ in range(8 * takes):
        out.append(([(0.05 + t, m) for t, m in kit_phrase(rng)], {"kind": "kit"}))
    return out


def one_shot_plan(rng, takes):
    """[(events from 0 s, row)]: single drum hits and single short notes, each to become a file of its own."""
    out = []
    for key in DRUMS:
        for _ in range(takes):
            v = rng.randint(50, 127)
            out.append(([(0.05, bytes([0x99, key, v])), (0.15, bytes([0x89, key, 0]))], {"kind": "drum", "key": key, "style": "one-shot"}))
    for prog in range(128):
        ch = prog % 9
        for _ in range(max(1, takes // 2)):
            pitch, hold = rng.choice([48, 55, 60, 64, 67, 72]), rng.uniform(0.15, 1.5)
            ev = [(0.0, bytes([0xC0 | ch, prog])), (0.05, bytes([0x90 | ch, pitch, rng.randint(60, 120)])), (0.05 + hold, bytes([0x80 | ch, pitch, 0]))]
            out.append((ev, {"kind": "gm", "program": prog, "pitch": pitch, "style": "one-shot"}))
    return out


def sample_file(seg, rng):
    """One slot as a sample file: cut at both ends where the sound falls under a threshold between 15 and 60 dB
    below its peak (a sample editor's trim, as sox's `silence` does), then read as the product reads a file."""
    loud = np.nonzero(np.abs(seg) >= np.abs(seg).max() * 10 ** (-rng.uniform(15, 60) / 20))[0]
    return clip_windows(seg[loud[0] : loud[-1] + 1])


def clip_windows(x):
    """src/encoders/audio-features.ts clipWindows() in numpy: trim to the sound, then 2 s windows; a clip shorter
    than a window ends with at least 50 ms of silence (the extractor repeats it to fill the window)."""
    peak = np.abs(x).max()
    if peak == 0:
        return []
    loud = np.nonzero(np.abs(x) >= peak * 10 ** (-50 / 20))[0]
    first, last = loud[0], loud[-1]
    start = first - int(0.02 * SR) if first > int(0.1 * SR) else 0
    end = min(len(x), max(last + 1 + int(0.05 * SR), start + WINDOW))
    body = x[start:end]
    if len(body) <= WINDOW:
        missing = min(WINDOW - len(body), int(0.05 * SR) - (end - 1 - last))
        return [np.concatenate([body, np.zeros(missing, np.float32)]) if missing > 0 else body]
    wins = [body[s : s + WINDOW] for s in range(0, len(body) - WINDOW + 1, WINDOW)]
    if len(wins) * WINDOW < len(body):
        wins.append(body[-WINDOW:])
    return wins


def render_soundfont(name, path, rng, takes, tmp, one_shots=False):
    slots = one_shot_plan(rng, takes) if one_shots else plan(rng, takes)
    slot_s = 4.0 if one_shots else SLOT_S  # a one-shot is over by 1.6 s
    gain = round(rng.uniform(0.2, 0.6), 2)
    events = []
    for k, (ev, _) in enumerate(slots):
        events += [(k * slot_s + t, m) for t, m in ev]
        for ch in range(16):  # notes off and controllers reset once the tail has died, before the next slot
            events += [(k * slot_s + slot_s - 0.05, bytes([0xB0 | ch, 123, 0])), (k * slot_s + slot_s - 0.04, bytes([0xB0 | ch, 121, 0]))]
    mid, wav = os.path.join(tmp, f"{name}.mid"), os.path.join(tmp, f"{name}.wav")
    write_midi(mid, events)
    # fluidsynth's defaults as a user runs it (reverb and chorus on, 44.1 kHz stereo); only the gain varies per file
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", str(gain), "-r", str(RENDER_SR), "-F", wav, path, mid], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    x, sr = read_wav(wav)
    slot = int(slot_s * sr)
    clips, rows = [], []
    for k, (_, row) in enumerate(slots):
        seg = x[k * slot : (k + 1) * slot]
        if len(seg) < slot // 2 or np.abs(seg).max() < 1e-3:
            continue  # a program this soundfont leaves silent
        seg = resample(seg, sr)
        for w, win in enumerate(sample_file(seg, rng) if one_shots else clip_windows(seg)):
            if np.abs(win).max() < 1e-3:
                continue
            clips.append(win)
            rows.append({**row, "source": name, "render": "user", "window": w})
    return clips, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", nargs="?", default=os.path.join(HERE, "..", ".data"))
    ap.add_argument("--takes", type=int, default=4, help="phrases per program and soundfont")
    ap.add_argument("--one-shots", action="store_true", help="one-shot sample files instead (prefix oneshots)")
    args = ap.parse_args()
    rng = random.Random(778 if args.one_shots else 777)
    prefix = "oneshots" if args.one_shots else "instruments-user"
    clips, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in SOUNDFONTS_TRAIN.items():
            c, r = render_soundfont(name, path, rng, args.takes, tmp, args.one_shots)
            clips += c
            rows += r
            print(f"{name}: {len(c)} clips", flush=True)
    assert not any(r["source"] in SOUNDFONTS_HELDOUT for r in rows)
    save(args.data_dir, "train", clips, rows, prefix=prefix)
    with open(os.path.join(args.data_dir, f"{prefix}.json"), "w") as f:
        json.dump({"soundfonts": sorted(SOUNDFONTS_TRAIN), "takes": args.takes, "clips": len(rows), "by_kind": {k: sum(r["kind"] == k for r in rows) for k in ("gm", "drum", "kit")}}, f, indent=1)


if __name__ == "__main__":
    main()
