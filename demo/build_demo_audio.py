"""Render the few dozen short demo clips that `npm start` indexes (committed under demo/audio/).

    /usr/bin/python3 demo/build_demo_audio.py

Needs Debian's fluidsynth, timgm6mb-soundfont, espeak-ng and sox. Everything here is held-out material for
xmodal-mini: instruments come from the TimGM6mb soundfont and speech from espeak-ng voices that training
never uses, so the demo shows the model on sounds it has not seen.
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "training", "data"))
from gm import DRUMS, FAMILIES, PROGRAMS  # noqa: E402
from render_audio import vlq  # noqa: E402

OUT = os.path.join(HERE, "audio")
SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"
VOICE = "en-us-nyc"
INSTRUMENTS = [0, 6, 9, 11, 13, 19, 21, 24, 27, 30, 32, 40, 42, 46, 52, 56, 57, 60, 65, 68, 71, 73, 75, 105, 114, 122, 123, 124, 126]
DRUM_KEYS = [36, 38, 42, 46, 49, 54, 56, 75]
WORDS = ["dog", "cat", "bird", "car", "train", "rain", "sun", "moon", "water", "fire", "music", "piano", "guitar", "house", "tree", "flower", "apple", "coffee", "hello", "thank you"]


def midi(path, channel, program, key, seconds=1.4):
    """One note, 120 bpm, 480 ticks per quarter: 960 ticks a second."""
    on = bytes([0x90 | channel, key, 100])
    off = bytes([0x80 | channel, key, 0])
    track = b"\x00\xff\x51\x03\x07\xa1\x20" + b"\x00" + bytes([0xC0 | channel, program]) + b"\x00" + on
    track += vlq(int(seconds * 960)) + off + vlq(480) + b"\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big") + (480).to_bytes(2, "big"))
        f.write(b"MTrk" + len(track).to_bytes(4, "big") + track)


def to_ogg(wav, name):
    path = os.path.join(OUT, name + ".ogg")
    subprocess.run(["sox", wav, "-r", "22050", "-c", "1", "-C", "3", path, "silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse"], check=True)
    return os.path.basename(path)


def slug(text):
    return text.replace(" ", "-").replace("/", "-")


def main():
    os.makedirs(OUT, exist_ok=True)
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = os.path.join(tmp, "n.mid"), os.path.join(tmp, "n.wav")
        for program in INSTRUMENTS:
            name = PROGRAMS[program]
            midi(mid, 0, program, 60)
            subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", "22050", "-F", wav, SOUNDFONT, mid], check=True, capture_output=True)
            file = to_ogg(wav, f"instrument-{slug(name)}")
            clips.append({"file": file, "label": name, "kind": "instrument", "family": FAMILIES[program // 8]})
        for key in DRUM_KEYS:
            name = DRUMS[key]
            midi(mid, 9, 0, key, seconds=0.8)
            subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", "22050", "-F", wav, SOUNDFONT, mid], check=True, capture_output=True)
            file = to_ogg(wav, f"drum-{slug(name)}")
            clips.append({"file": file, "label": name, "kind": "drum", "family": "percussion"})
        for word in WORDS:
            subprocess.run(["espeak-ng", "-v", VOICE, "-w", wav, word], check=True)
            file = to_ogg(wav, f"speech-{slug(word)}")
            clips.append({"file": file, "label": word, "kind": "speech", "voice": VOICE})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"soundfont": "TimGM6mb (GPL-2.0, Debian timgm6mb-soundfont)", "voice": f"espeak-ng {VOICE}", "clips": clips}, f, indent=1)
    print(f"{len(clips)} clips in {OUT}")


if __name__ == "__main__":
    main()
