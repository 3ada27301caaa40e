"""Render the spoken words again with more synthesisers than espeak-ng: flite for training, festival held out.

    /usr/bin/python3 training/data/render_voices.py [dataDir]
      -> dataDir/speech2-{train,heldout}.i16 (16 kHz mono int16, clips back to back) + .jsonl (one row per clip)
      -> dataDir/speech2.json (which voices went where, and why)

Needs Debian's flite, festival, festvox-kdlpc16k and festvox-us-slt-hts (all under BSD/X11-style licences:
"Permission is hereby granted, free of charge, to use and distribute this software ... without restriction").
Same word lists as render_audio.py (corpus["spoken"]); only English, since no permissively licensed engine in
Debian main has another language (festival's Italian voices are GPL-2; SVOX pico, mbrola and RHVoice are not in
main).

Held out entirely: the festival engine. No speaker is shared between the splits: flite's cmu_us_slt is the
same speaker (and recordings) as festival's cmu_us_slt_arctic_hts, so it is not used for training; festival's
kal_diphone is the same diphone database as flite's kal/kal16, so it is not used as held out. flite's awb_time
is a limited-domain voice (it can only say times) and is not used.
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from render_audio import SR, read_wav, resample, save  # noqa: E402

# flite voice -> default mean F0 (Hz, measured) when --setf int_f0_target_mean takes effect, else None
# (cmu_us_rms ignores int_f0_target_mean, so its pitch is varied by a small speed perturbation instead).
FLITE_TRAIN = {"kal": 95, "kal16": 95, "awb": 118, "rms": None}
FESTIVAL_HELDOUT = {"ked": "voice_ked_diphone", "slt": "voice_cmu_us_slt_arctic_hts"}
TRAIN_TAKES = 8  # per English word: every flite voice twice
HELDOUT_TAKES = 2  # per English word: each festival voice once
REJECTED = {
    "flite:slt": "same speaker and recordings (CMU ARCTIC slt) as festival:slt, which is held out",
    "flite:awb_time": "limited-domain voice: only speaks clock times",
    "festival:kal": "same diphone database (CMU KAL, Kevin Lenzo) as flite:kal/kal16, which train",
    "festival:lp, festival:pc (Italian)": "GPL-2 (festvox-italp16k, festvox-itapc16k, festlex-ifd)",
    "svox pico": "libttspico-utils is in Debian non-free (not in the configured archive)",
    "mbrola": "mbrola and its voices are in Debian non-free (not in the configured archive; voices are non-commercial)",
    "rhvoice": "not in Debian bookworm main",
}


def trim(x):
    """The same trim as render_audio.speak(): drop leading/trailing silence, keep 50 ms, at most 4 s."""
    nz = np.nonzero(np.abs(x) > 1e-3)[0]
    if len(nz) == 0:
        return None
    x = x[max(0, nz[0] - 800) : nz[-1] + 800]
    return x[: int(4 * SR)]


def speed_perturb(x, factor):
    """Play the clip `factor` times faster (pitch and formants move together), like a tape at another speed."""
    return resample(x, SR, int(round(SR / factor)))


def flite_take(rng, voice):
    """One take's settings for a flite training voice: duration stretch, and pitch (or, for rms, a speed change)."""
    take = {"voice": voice, "stretch": round(rng.uniform(0.8, 1.3), 2)}
    if FLITE_TRAIN[voice] is not None:
        take["f0"] = int(round(FLITE_TRAIN[voice] * rng.uniform(0.85, 1.25)))
        take["speed"] = 1.0
    else:
        take["speed"] = round(rng.uniform(0.9, 1.12), 3)
    return take


def flite_plan(words, rng):
    plan = []
    for word in words:
        voices = list(FLITE_TRAIN) * (TRAIN_TAKES // len(FLITE_TRAIN))
        rng.shuffle(voices)
        plan += [(word, flite_take(rng, v)) for v in voices]
    return plan


def render_flite(plan, tmp):
    clips, rows = [], []
    wav = os.path.join(tmp, "f.wav")
    for word, t in plan:
        cmd = ["flite", "-voice", t["voice"], "--setf", f"duration_stretch={t['stretch']}"]
        if "f0" in t:
            cmd += ["--setf", f"int_f0_target_mean={t['f0']}"]
        subprocess.run(cmd + ["-t", word, "-o", wav], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        x, sr = read_wav(wav)
        x = resample(x, sr)
        if t["speed"] != 1.0:
            x = speed_perturb(x, t["speed"])
        x = trim(x)
        if x is None:
            continue
        name = f"flite:{t['voice']}"
        clips.append(x)
        rows.append({"kind": "speech", "lang": "en", "word": word, "voice": name, "source": name, "engine": "flite", "stretch": t["stretch"], "f0": t.get("f0"), "speed": t["speed"]})
    return clips, rows


def scheme_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_festival(words, rng, tmp):
    """One festival process for everything: a scheme script synthesises each word into its own wav."""
    lines = [
        "(define (say text stretch out)",
        "  (Parameter.set 'Duration_Stretch stretch)",
        "  (let ((utt (eval (list 'Utterance 'Text text)))) (utt.synth utt) (utt.save.wave utt out 'riff)))",
    ]
    plan = []
    for v, fn in FESTIVAL_HELDOUT.items():
        lines.append(f"({fn})")
        for i, word in enumerate(words):
            for _ in range(HELDOUT_TAKES // len(FESTIVAL_HELDOUT)):
                stretch = round(rng.uniform(0.85, 1.2), 2)
                out = os.path.join(tmp, f"fest-{v}-{len(plan)}.wav")
                lines.append(f"(say {scheme_str(word)} {stretch} {scheme_str(out)})")
                plan.append((word, v, stretch, out))
    script = os.path.join(tmp, "heldout.scm")
    with open(script, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["festival", "-b", script], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clips, rows = [], []
    for word, v, stretch, out in plan:
        x, sr = read_wav(out)
        os.unlink(out)
        x = trim(resample(x, sr))
        if x is None:
            continue
        name = f"festival:{v}"
        clips.append(x)
        rows.append({"kind": "speech", "lang": "en", "word": word, "voice": name, "source": name, "engine": "festival", "stretch": stretch})
    return clips, rows


if __name__ == "__main__":
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".data")
    with open(os.path.join(data_dir, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    words = sorted(corpus["spoken"]["en"])
    rng = random.Random(4321)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        held_clips, held_rows = render_festival(words, rng, tmp)
        print(f"festival (held out): {len(held_clips)} clips in {time.time() - t0:.0f} s", flush=True)
        t1 = time.time()
        train_clips, train_rows = render_flite(flite_plan(words, rng), tmp)
        print(f"flite (train): {len(train_clips)} clips in {time.time() - t1:.0f} s", flush=True)
    train_speakers = {r["voice"] for r in train_rows}
    assert not any(r["engine"] == "festival" for r in train_rows)
    assert "flite:slt" not in train_speakers and not any(r["voice"] == "festival:kal" for r in held_rows)
    save(data_dir, "train", train_clips, train_rows, prefix="speech2")
    save(data_dir, "heldout", held_clips, held_rows, prefix="speech2")
    with open(os.path.join(data_dir, "speech2.json"), "w") as f:
        json.dump({"sampling_rate": SR, "train_voices": sorted(train_speakers), "heldout_voices": sorted({r["voice"] for r in held_rows}), "heldout_engines": ["festival"], "rejected": REJECTED, "render_s": round(time.time() - t0)}, f, indent=1)
    print(f"total {time.time() - t0:.0f} s", flush=True)
