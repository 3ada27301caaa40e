"""Held-out audio rendered several ways, as `xmodal eval` manifests: how much does the way a clip is made matter?

    /usr/bin/python3 training/data/render_eval_sets.py OUT_DIR [--slots N]

- OUT/slots: the held-out clips exactly as training/data/render_audio.py makes them (the same MIDI plan and seed:
  12 single notes + 3 phrases per program in 2 s slots, 16 kHz mono, -R 0 -C 0 -g 0.6, each slot cut 10 ms short),
  written as 16-bit WAV; --slots N keeps the first N per program (default all 15).
- OUT/arpeggio: what a user would render: one arpeggio (C4 E4 G4 C5, 0.5 s each) and one held chord (C4 E4 G4, 2 s)
  per program, each its own MIDI file, fluidsynth's defaults (44.1 kHz stereo, reverb and chorus on, gain 0.2):
  5-6 s files, the sound in the first 2-3 s, then release and reverb tails fading into silence.

- OUT/words: the demo's spoken words (demo/audio/manifest.json) rendered the training way: the demo's espeak-ng
  voice at its default speed and pitch, trimmed by render_audio.speak (50 ms kept around the sound), 16 kHz WAV;
  OUT/demo-words: a manifest of the demo's own clips of those words (sox-trimmed Vorbis, 22 kHz).

Each folder gets manifest.jsonl: one audio line per clip, one text line per label (GM family names, or the words).
Needs Debian fluidsynth, timgm6mb-soundfont and espeak-ng.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gm import FAMILIES  # noqa: E402
from render_audio import SOUNDFONTS_HELDOUT, SOUNDFONTS_TRAIN, SR, instrument_plan, render_instruments, speak, write_midi  # noqa: E402

SOUNDFONT = SOUNDFONTS_HELDOUT["timgm6mb"]


def write_wav(path, samples, rate, channels=1):
    pcm = np.clip(np.round(np.asarray(samples) * 32767), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def write_manifest(folder, clips, labels=FAMILIES):
    """clips: [{"file", "label"}]; every label is also a text line."""
    with open(os.path.join(folder, "manifest.jsonl"), "w") as f:
        for c in clips:
            f.write(json.dumps({"id": os.path.basename(c["file"]), "modality": "audio", "path": c["file"], "label": c["label"]}) + "\n")
        for label in labels:
            f.write(json.dumps({"id": f"text-{label}", "modality": "text", "text": label, "label": label}) + "\n")


def render_slots(out, per_program, tmp):
    """The held-out rows of render_audio.py: its RNG is shared by the banks in order, so replay the two before."""
    rng = random.Random(1234)
    for _ in SOUNDFONTS_TRAIN:
        instrument_plan(rng)
    clips, rows = render_instruments("timgm6mb", SOUNDFONT, tmp, rng)
    folder = os.path.join(out, "slots")
    os.makedirs(folder, exist_ok=True)
    seen, kept = {}, []
    for x, r in zip(clips, rows):
        if r["kind"] != "gm":
            continue
        k = seen.get(r["program"], 0)
        seen[r["program"]] = k + 1
        if k >= per_program:
            continue
        name = f"p{r['program']:03d}-{k:02d}.wav"
        write_wav(os.path.join(folder, name), x, SR)
        kept.append({"file": name, "label": FAMILIES[r["program"] // 8]})
    write_manifest(folder, kept)
    return len(kept)


def render_arpeggios(out, tmp):
    folder = os.path.join(out, "arpeggio")
    os.makedirs(folder, exist_ok=True)
    kept = []
    mid = os.path.join(tmp, "one.mid")
    for prog in range(128):
        for style in ("arpeggio", "chord"):
            ev = [(0.0, bytes([0xC0, prog]))]
            if style == "arpeggio":
                for i, key in enumerate((60, 64, 67, 72)):
                    ev += [(i * 0.5, bytes([0x90, key, 100])), (i * 0.5 + 0.45, bytes([0x80, key, 0]))]
            else:
                for key in (60, 64, 67):
                    ev += [(0.0, bytes([0x90, key, 100])), (2.0, bytes([0x80, key, 0]))]
            ev.append((3.0, bytes([0xB0, 121, 0])))  # reset controllers: the file ends 1 s after the last note-off
            write_midi(mid, ev)
            name = f"p{prog:03d}-{style}.wav"
            subprocess.run(["fluidsynth", "-ni", "-q", "-F", os.path.join(folder, name), SOUNDFONT, mid], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            kept.append({"file": name, "label": FAMILIES[prog // 8]})
    write_manifest(folder, kept)
    return len(kept)


def render_words(out, tmp):
    demo = os.path.join(HERE, "..", "..", "demo", "audio")
    with open(os.path.join(demo, "manifest.json")) as f:
        meta = json.load(f)
    voice = meta["voice"].split()[-1]
    spoken = [c for c in meta["clips"] if c["kind"] == "speech"]
    words = [c["label"] for c in spoken]
    folder = os.path.join(out, "words")
    os.makedirs(folder, exist_ok=True)
    kept = []
    for c in spoken:
        name = os.path.splitext(c["file"])[0] + ".wav"
        write_wav(os.path.join(folder, name), speak(c["label"], voice, 175, 50, tmp), SR)
        kept.append({"file": name, "label": c["label"]})
    write_manifest(folder, kept, words)
    os.makedirs(os.path.join(out, "demo-words"), exist_ok=True)
    write_manifest(os.path.join(out, "demo-words"), [{"file": os.path.abspath(os.path.join(demo, c["file"])), "label": c["label"]} for c in spoken], words)
    return len(kept)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--slots", type=int, default=15, help="held-out slot clips kept per program (of 15)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        n_slots = render_slots(args.out, args.slots, tmp)
        n_arp = render_arpeggios(args.out, tmp)
        n_words = render_words(args.out, tmp)
    print(f"{n_slots} slot clips, {n_arp} arpeggio/chord clips, {n_words} words in {args.out}")
