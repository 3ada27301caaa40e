"""Spoken words by the held-out speech engine (festival), as a user's files: a small test fixture.

    /usr/bin/python3 training/data/build_voice_fixture.py [dataDir]   -> test/fixtures/voices/*.ogg + words.json

Takes 40 words (seeded) of dataDir/speech2-heldout-vorbis (data/render_voices.py, then data/degrade_audio.py:
festival's ked and slt, a Vorbis round trip and a silence trim), alternating the two voices, and writes each clip
as Vorbis (quality 2, 16 kHz), as a recorder or a browser would. xmodal-mini never trained on festival.
"""

import json
import os
import random
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "test", "fixtures", "voices")
COUNT = 40

if __name__ == "__main__":
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".data")
    with open(os.path.join(data, "speech2-heldout-vorbis.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    pcm = np.memmap(os.path.join(data, "speech2-heldout-vorbis.i16"), dtype="<i2", mode="r")
    words = sorted({r["word"] for r in rows})
    chosen = sorted(random.Random(0).sample(words, COUNT))
    os.makedirs(OUT, exist_ok=True)
    manifest = {}
    for k, word in enumerate(chosen):
        voice = ("festival:ked", "festival:slt")[k % 2]
        r = next(r for r in rows if r["word"] == word and r["voice"] == voice)
        name = f"{word.replace(' ', '-')}.ogg"
        clip = np.asarray(pcm[r["offset"] : r["offset"] + r["length"]]).tobytes()
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "-", "-c:a", "libvorbis", "-q:a", "2", os.path.join(OUT, name)],
                       input=clip, check=True)
        manifest[name] = {"word": word, "voice": voice}
    with open(os.path.join(OUT, "words.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(manifest)} clips in {OUT}")
