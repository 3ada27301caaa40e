"""Collect labelled real-world sound effects under permissive licences from installed packages.

    /usr/bin/python3 training/data/collect_sfx.py [dataDir]
      -> dataDir/sfx-{train,heldout}.i16 (16 kHz mono int16, clips back to back, as render_audio.py's save())
         + sfx-{train,heldout}.jsonl (one row per clip) + sfx.json (counts and the licence of each source)

Installs nothing itself. What it reads, and how to get it:

    apt-get update && apt-get install -y ffmpeg supertuxkart-data minetest-data sound-theme-freedesktop \\
        trigger-rally-data freedoom endless-sky-data
    pip download --no-deps -d /tmp/w arcade==3.3.3 pygame==2.6.1
    S=training/.data/sfx-src
    unzip -o /tmp/w/arcade-3.3.3-*.whl 'arcade/resources/assets/sounds/*' -d $S/arcade-3.3.3
    unzip -o /tmp/w/pygame-2.6.1-*.whl 'pygame/examples/data/*' 'pygame/examples/README.rst' -d $S/pygame-2.6.1

Licences: a Debian file is used only when the last matching stanza of its package's machine-readable
/usr/share/doc/<pkg>/copyright names a permissive licence (public domain, CC0, CC-BY, MIT/Expat, BSD, zlib,
Apache; for "A or B" a permissive alternative is chosen); GPL/LGPL, CC-BY-SA, GFDL and non-commercial files
are skipped. PyPI sources carry their own licence notes (arcade's sounds/License.txt: CC0; pygame's examples:
public domain). Labels come from file and lump names: split, stripped of numbering and codec words, then
mapped through LABELS; a name that says nothing recognisable is dropped (printed). Held out: whole source
files whose sha1(source) falls in the lowest 15%, only for labels that keep at least one file in training.
"""

import fnmatch
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import zipfile

import numpy as np

SR = 16000
MIN_S, MAX_S, MAX_CROPS = 0.5, 4.0, 3
PEAK = 10 ** (-3 / 20)
HELDOUT_PERCENT = 15
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from render_audio import save  # noqa: E402  (same clip layout as the rest of the audio data)

PERMISSIVE = re.compile(r"^(CC0(-1\.0)?|CC-BY-[0-9.]+|CC-BY|public-domain|[Zz]lib|MIT|Expat|BSD-[234]-[Cc]lause|Apache-2\.0|freedoom-license)$")

# cleaned name -> (label, more texts, category). Names not here are dropped as unrecognisable.
LABELS = {
    # supertuxkart-data
    "wilhelm scream": ("man screaming", ["scream", "person screaming"], "human"),
    "bowling roll": ("bowling ball rolling", ["ball rolling", "bowling"], "impact"),
    "bubblegum explode": ("bubble gum popping", ["pop", "bubble popping"], "impact"),
    "car accel": ("car engine accelerating", ["car engine", "engine", "car"], "vehicle"),
    "car revup": ("car engine revving", ["car engine", "engine revving", "car"], "vehicle"),
    "clock": ("clock ticking", ["clock", "ticking"], "household"),
    "boing": ("spring boing", ["boing", "bounce", "cartoon sound"], "impact"),
    "explosion": ("explosion", ["blast", "boom"], "explosion"),
    "exotic birds": ("birds singing", ["birds chirping", "bird", "animal"], "animal"),
    "fireworks show": ("fireworks", ["fireworks exploding", "explosion", "celebration"], "explosion"),
    "gnu flute": ("flute", ["flute playing", "woodwind", "music"], "music"),
    "goo": ("goo splat", ["splat", "slime"], "impact"),
    "grab collectable": ("item pickup chime", ["chime", "video game sound"], "ui"),
    "hammer": ("hammer hitting", ["hammer", "hammering", "tool"], "tools"),
    "horn": ("car horn", ["horn", "honk", "car"], "vehicle"),
    "inflate": ("air pump inflating", ["inflating", "air hiss"], "machine"),
    "lenautile restaurant": ("restaurant chatter", ["crowd talking", "people chatting", "restaurant"], "human"),
    "machine": ("machine running", ["machine", "machinery", "mechanical noise"], "machine"),
    "metal clang": ("metal clang", ["metal hit", "clang", "metal"], "impact"),
    "nitro": ("boost whoosh", ["whoosh", "rushing air"], "vehicle"),
    "plopp": ("plop", ["pop", "plopping"], "impact"),
    "rain": ("rain", ["rain falling", "rainfall", "weather"], "weather"),
    "river": ("river flowing", ["running water", "stream", "water"], "water"),
    "skid": ("tyres skidding", ["skid", "tires screeching", "car"], "vehicle"),
    "static radio": ("radio static", ["static noise", "radio", "white noise"], "machine"),
    "swatter": ("fly swatter slap", ["slap", "swat", "hit"], "impact"),
    "thunder": ("thunder", ["thunderclap", "storm", "weather"], "weather"),
    "waterfall": ("waterfall", ["rushing water", "falling water", "water"], "water"),
    "wooden bridge": ("wheels rolling over a wooden bridge", ["wooden planks rattling", "wood", "bridge"], "vehicle"),
    # minetest-data (doors, tnt)
    "door open": ("door opening", ["door", "wooden door opening", "door creak"], "door"),
    "door close": ("door closing", ["door", "door shutting", "door slam"], "door"),
    "steel door open": ("metal door opening", ["door opening", "metal door", "door"], "door"),
    "steel door close": ("metal door closing", ["door closing", "metal door", "door"], "door"),
    "glass door open": ("glass door opening", ["door opening", "glass door", "door"], "door"),
    "glass door close": ("glass door closing", ["door closing", "glass door", "door"], "door"),
    "fencegate open": ("gate opening", ["gate", "fence gate", "gate creaking"], "door"),
    "fencegate close": ("gate closing", ["gate", "fence gate", "gate shutting"], "door"),
    "explode": ("explosion", ["blast", "boom"], "explosion"),
    "ignite": ("fuse igniting", ["ignition", "match striking", "fire"], "fire"),
    "gunpowder burning": ("fuse burning", ["fizzing fuse", "sizzling", "fire"], "fire"),
    # sound-theme-freedesktop
    "bell": ("bell ringing", ["bell", "ding", "chime"], "bell"),
    "complete": ("completion chime", ["chime", "notification sound", "ding"], "ui"),
    "trash empty": ("paper crumpling", ["trash emptying", "crumpling", "rustling paper"], "household"),
    # trigger-rally-data
    "bang": ("crash bang", ["bang", "crash", "impact"], "impact"),
    "gear": ("gear shift clunk", ["gearbox", "clunk", "car"], "vehicle"),
    "wind": ("wind blowing", ["wind", "gusts", "weather"], "weather"),
    "gravel": ("tyres on gravel", ["gravel crunching", "car on a gravel road", "gravel"], "vehicle"),
    # freedoom (WAD sound lumps, "ds" prefix removed)
    "pistol": ("gunshot", ["pistol shot", "gun firing", "gun"], "weapon"),
    "shotgn": ("shotgun blast", ["gunshot", "shotgun", "gun"], "weapon"),
    "dshtgn": ("shotgun blast", ["gunshot", "double barrel shotgun", "gun"], "weapon"),
    "sgcock": ("shotgun reloading", ["gun cocking", "reload", "gun"], "weapon"),
    "dbopn": ("shotgun reloading", ["gun breaking open", "reload", "gun"], "weapon"),
    "dbcls": ("shotgun reloading", ["gun snapping shut", "reload", "gun"], "weapon"),
    "dbload": ("shotgun reloading", ["loading shells", "reload", "gun"], "weapon"),
    "sawup": ("chainsaw starting", ["chainsaw", "power tool", "engine"], "tools"),
    "sawidl": ("chainsaw idling", ["chainsaw", "power tool", "engine"], "tools"),
    "sawful": ("chainsaw revving", ["chainsaw", "power tool", "engine"], "tools"),
    "sawhit": ("chainsaw cutting", ["chainsaw", "power tool", "sawing"], "tools"),
    "rlaunc": ("rocket launch", ["rocket", "whoosh", "launch"], "weapon"),
    "rxplod": ("explosion", ["blast", "boom"], "explosion"),
    "barexp": ("explosion", ["barrel exploding", "blast", "boom"], "explosion"),
    "firxpl": ("explosion", ["fireball exploding", "blast", "boom"], "explosion"),
    "firsht": ("fire whoosh", ["fireball", "flame", "fire"], "fire"),
    "flame": ("fire burning", ["flames", "crackling fire", "fire"], "fire"),
    "flamst": ("flame burst", ["fire whoosh", "flames", "fire"], "fire"),
    "pstart": ("elevator starting", ["lift", "machine", "mechanical hum"], "machine"),
    "pstop": ("elevator stopping", ["lift", "machine", "mechanical clunk"], "machine"),
    "doropn": ("sliding door opening", ["door opening", "heavy door", "door"], "door"),
    "dorcls": ("sliding door closing", ["door closing", "heavy door", "door"], "door"),
    "bdopn": ("sliding door opening", ["door opening", "fast door", "door"], "door"),
    "bdcls": ("sliding door closing", ["door closing", "fast door", "door"], "door"),
    "stnmov": ("stone grinding", ["stone scraping", "rock moving", "grinding"], "impact"),
    "swtchn": ("switch click", ["click", "lever", "switch"], "machine"),
    "swtchx": ("switch click", ["click", "lever", "switch"], "machine"),
    "plpain": ("man grunting in pain", ["grunt", "pain", "person"], "human"),
    "oof": ("grunt", ["man grunting", "oof", "person"], "human"),
    "noway": ("grunt", ["man grunting", "ugh", "person"], "human"),
    "pldeth": ("man screaming", ["scream", "death scream", "person"], "human"),
    "pdiehi": ("man screaming", ["scream", "death scream", "person"], "human"),
    "slop": ("squelch", ["wet splat", "splat", "gore"], "impact"),
    "punch": ("punch", ["fist punch", "hit", "impact"], "impact"),
    "plasma": ("laser shot", ["laser gun", "zap", "sci-fi weapon"], "weapon"),
    "hoof": ("hoof stomp", ["heavy footstep", "stomp", "footsteps"], "footsteps"),
    "metal": ("metal footstep", ["footsteps", "metal clank", "stomp"], "footsteps"),
    "radio": ("radio beep", ["radio", "beep", "walkie talkie"], "machine"),
    "itemup": ("item pickup chime", ["chime", "video game sound"], "ui"),
    # arcade (Kenney sounds, CC0)
    "coin": ("coin pickup chime", ["coin sound", "chime", "video game sound"], "game"),
    "error": ("error beep", ["error sound", "buzzer", "beep"], "ui"),
    "arcade explosion": ("video game explosion", ["explosion", "retro game sound", "8-bit sound"], "game"),
    "fall": ("falling tone", ["descending tone", "falling", "video game sound"], "game"),
    "gameover": ("game over jingle", ["losing jingle", "video game music", "music"], "game"),
    "hit": ("video game hit", ["hit", "impact", "retro game sound"], "game"),
    "hurt": ("video game hurt sound", ["damage sound", "hit", "retro game sound"], "game"),
    "jump": ("video game jump", ["jump sound", "boing", "retro game sound"], "game"),
    "laser": ("laser shot", ["laser", "zap", "sci-fi weapon"], "weapon"),
    "lose": ("game over jingle", ["losing jingle", "video game music", "music"], "game"),
    "rock hit": ("rock hit", ["stone impact", "thud", "rock"], "impact"),
    "secret": ("secret found jingle", ["discovery jingle", "video game music", "chime"], "game"),
    "upgrade": ("power up jingle", ["power up", "level up", "video game sound"], "game"),
    # endless-sky-data (sounds/*: public domain, from freesound.org)
    "explosion tiny": ("explosion", ["small explosion", "blast", "boom"], "explosion"),
    "explosion small": ("explosion", ["small explosion", "blast", "boom"], "explosion"),
    "explosion medium": ("explosion", ["blast", "boom"], "explosion"),
    "explosion large": ("explosion", ["big explosion", "blast", "boom"], "explosion"),
    "explosion nuke": ("huge explosion", ["explosion", "nuclear blast", "boom"], "explosion"),
    "final explosion small": ("explosion", ["blast", "boom"], "explosion"),
    "final explosion medium": ("explosion", ["blast", "boom"], "explosion"),
    "final explosion large": ("explosion", ["big explosion", "blast", "boom"], "explosion"),
    "alarm": ("alarm beeping", ["alarm", "warning beeps", "beep"], "machine"),
    "machinery": ("machine running", ["machine", "machinery", "mechanical noise"], "machine"),
    "rocket": ("rocket launch", ["rocket", "whoosh", "launch"], "weapon"),
    "flamethrower": ("flamethrower", ["fire whoosh", "flames", "fire"], "fire"),
    "afterburner": ("jet engine roar", ["engine roar", "jet engine", "rocket engine"], "vehicle"),
    "takeoff": ("spaceship taking off", ["rocket engine", "engine roar", "takeoff"], "vehicle"),
    "landing": ("spaceship landing", ["engine", "landing", "rocket engine"], "vehicle"),
    "crunch": ("crunch", ["crunching", "crushing"], "impact"),
    "blaster": ("laser shot", ["laser gun", "zap", "sci-fi weapon"], "weapon"),
    "heavy laser": ("laser beam", ["laser", "zap", "sci-fi weapon"], "weapon"),
    # pygame examples
    "boom": ("explosion", ["blast", "boom"], "explosion"),
    "car door": ("car door closing", ["car door", "door slam", "car"], "door"),
    "whiff": ("whoosh", ["swish", "swoosh", "air"], "impact"),
}

CODEC_WORDS = {"ogg", "oga", "wav", "mp3", "flac", "loop", "lo", "hi", "mono", "stereo", "sfx", "snd", "sound"}


def clean_name(stem, strip_prefix=""):
    """'doors_steel_door_open.1' -> 'steel door open'; 'rockHit2' -> 'rock hit'; 'DSDOROPN' -> 'doropn'."""
    s = stem
    if strip_prefix and s.lower().startswith(strip_prefix):
        s = s[len(strip_prefix):]
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", s)
    s = re.sub(r"[_\-.~\s]+", " ", s)
    words = [w for w in re.sub(r"\d+", " ", s).lower().split() if w not in CODEC_WORDS]
    return " ".join(words)


# ---------- licences from Debian machine-readable copyright files ----------

def parse_dep5(path):
    stanzas, cur = [], {}
    key = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if cur:
                    stanzas.append(cur)
                cur, key = {}, None
                continue
            if line[0] in " \t":
                if key == "Files":
                    cur[key] += " " + line.strip()
                continue
            k, _, v = line.partition(":")
            key = k.strip()
            cur[key] = v.strip()
    if cur:
        stanzas.append(cur)
    # a one-line Files value may be a single name with spaces in it ("sounds/explosion huge.wav")
    return [(s["Files"].split() + [s["Files"].strip()], s.get("License", ""), s.get("Copyright", "")) for s in stanzas if "Files" in s]


def dep5_licence(stanzas, relpath):
    """Licence of relpath: the last matching Files stanza wins. Returns the permissive choice or None."""
    lic = None
    for patterns, l, _ in stanzas:
        if any(fnmatch.fnmatchcase(relpath, p) for p in patterns):
            lic = l
    if lic is None:
        return None, None
    for alt in re.split(r"\s+or\s+", lic):
        parts = re.split(r"\s+and\s+", alt.strip())
        if all(PERMISSIVE.match(p) for p in parts):
            return alt.strip(), lic
    return None, lic


# ---------- sources: each yields (source id, licence, name to label, audio bytes) ----------

def debian_files(pkg, root, globs, rel_prefix, strip_prefix=""):
    stanzas = parse_dep5(f"/usr/share/doc/{pkg}/copyright")
    for g in globs:
        for dirpath, _, files in sorted(os.walk(root)):
            for fn in sorted(files):
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, root)
                if not fnmatch.fnmatchcase(rel, g):
                    continue
                chosen, declared = dep5_licence(stanzas, rel_prefix + rel)
                src = f"{pkg}:{rel}"
                if chosen is None:
                    REJECTED.append((src, declared))
                    continue
                stem = os.path.splitext(fn)[0]
                if strip_prefix == "<dir>":  # minetest names each sound "<mod>_<what>" inside mods/<mod>/
                    prefix = rel.split(os.sep)[1] + "_"
                else:
                    prefix = strip_prefix
                with open(path, "rb") as f:
                    yield src, chosen, clean_name(stem, prefix), f.read()


def trigger_rally():
    pkg = "trigger-rally-data"
    stanzas = parse_dep5(f"/usr/share/doc/{pkg}/copyright")
    with zipfile.ZipFile("/usr/share/games/trigger-rally/data.zip") as z:
        for name in sorted(z.namelist()):
            if not name.endswith(".wav") or "codriver/" in name:  # codriver: spoken pace notes, not effects
                continue
            chosen, declared = dep5_licence(stanzas, "data/data.zip/" + name)
            src = f"{pkg}:data.zip/{name}"
            if chosen is None:
                REJECTED.append((src, declared))
                continue
            yield src, chosen, clean_name(os.path.splitext(os.path.basename(name))[0]), z.read(name)


def dmx_to_wav(lump):
    """Doom DMX sound lump (format 3: rate, count, 16 pad bytes, unsigned 8-bit samples, 16 pad) -> WAV bytes."""
    if len(lump) < 8:
        return None
    fmt, rate, n = struct.unpack("<HHI", lump[:8])
    if fmt != 3 or n < 32 or len(lump) < 8 + n:
        return None
    pcm = lump[8 + 16:8 + n - 16]
    hdr = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate, 1, 8)
    return hdr + b"data" + struct.pack("<I", len(pcm)) + pcm


def freedoom():
    pkg = "freedoom"
    stanzas = parse_dep5(f"/usr/share/doc/{pkg}/copyright")
    seen = set()
    for wad in ("freedoom2.wad", "freedoom1.wad"):
        with open(f"/usr/share/games/doom/{wad}", "rb") as f:
            d = f.read()
        n, off = struct.unpack("<ii", d[4:12])
        for i in range(n):
            pos, size, raw = struct.unpack("<ii8s", d[off + 16 * i:off + 16 * i + 16])
            name = raw.rstrip(b"\0").decode("ascii", "replace")
            if not name.startswith("DS"):
                continue
            lump = d[pos:pos + size]
            h = hashlib.sha1(lump).hexdigest()
            if h in seen:  # the two WADs share most sounds
                continue
            seen.add(h)
            chosen, declared = dep5_licence(stanzas, wad)
            src = f"{pkg}:{wad}/{name}"
            if chosen is None:
                REJECTED.append((src, declared))
                continue
            wav = dmx_to_wav(lump)
            if wav:
                yield src, "BSD-3-Clause (freedoom-license)", clean_name(name, "ds"), wav


def pypi_files(pkg, root, subdir, licence, rename=None):
    base = os.path.join(root, subdir)
    if not os.path.isdir(base):
        print(f"missing {base}: see the install commands at the top", file=sys.stderr)
        return
    stems = set()
    for fn in sorted(os.listdir(base)):
        stem, ext = os.path.splitext(fn)
        if ext.lower() not in (".wav", ".ogg") or stem in stems:  # same sound shipped as .wav and .ogg
            continue
        stems.add(stem)
        name = clean_name(stem)
        if rename:
            name = rename.get(name, name)
        with open(os.path.join(base, fn), "rb") as f:
            yield f"{pkg}:{os.path.join(subdir, fn)}", licence, name, f.read()


def sources(src_dir):
    yield from debian_files("supertuxkart-data", "/usr/share/games/supertuxkart", ["data/sfx/*.ogg", "data/tracks/*.ogg", "data/karts/*.ogg", "data/library/*.ogg"], "")
    yield from debian_files("minetest-data", "/usr/share/games/minetest/games/minetest_game", ["mods/*/sounds/*.ogg"], "mtg/", "<dir>")
    yield from debian_files("sound-theme-freedesktop", "/usr/share/sounds/freedesktop", ["stereo/*.oga"], "")
    yield from debian_files("endless-sky-data", "/usr/share/games/endless-sky", ["sounds/*.wav", "sounds/*.mp3"], "")
    yield from trigger_rally()
    yield from freedoom()
    yield from pypi_files("arcade-3.3.3", os.path.join(src_dir, "arcade-3.3.3"), "arcade/resources/assets/sounds", "CC0-1.0 (arcade/resources/assets/sounds/License.txt: Kenney, CC0)", {"explosion": "arcade explosion"})
    yield from pypi_files("pygame-2.6.1", os.path.join(src_dir, "pygame-2.6.1"), "pygame/examples/data", "public-domain (pygame examples; Debian python3-pygame copyright: Files: examples/* public-domain)")


# ---------- audio ----------

def decode(data):
    """Any container ffmpeg reads -> float32 mono at 16 kHz, resampled with soxr (band-limited)."""
    p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", "pipe:0", "-af", "aresample=resampler=soxr",
                        "-ac", "1", "-ar", str(SR), "-f", "s16le", "pipe:1"], input=data, capture_output=True, check=True)
    return np.frombuffer(p.stdout, dtype="<i2").astype(np.float32) / 32768.0


def frame_rms(x, hop):
    n = len(x) // hop
    return np.sqrt(np.mean(x[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)


def trim_silence(x, db=-40.0):
    hop = SR // 50
    r = frame_rms(x, hop)
    if len(r) == 0:
        return x[:0]
    loud = np.nonzero(r > max(r.max() * 10 ** (db / 20), 1e-4))[0]
    if len(loud) == 0:
        return x[:0]
    return x[loud[0] * hop:min(len(x), (loud[-1] + 1) * hop)]


def crops(x):
    """Up to MAX_CROPS non-overlapping windows of MAX_S, loudest first, each at least a quarter as loud as the best."""
    w, hop = int(MAX_S * SR), SR // 4
    if len(x) <= w:
        return [x]
    e = np.cumsum(np.concatenate([[0.0], x.astype(np.float64) ** 2]))
    starts = np.arange(0, len(x) - w + 1, hop)
    energy = e[starts + w] - e[starts]
    want = min(MAX_CROPS, len(x) // w)
    picked = []
    for i in np.argsort(-energy):
        if energy[i] < 0.25 * energy.max():
            break
        s = starts[i]
        if all(abs(s - p) >= w for p in picked):
            picked.append(s)
        if len(picked) == want:
            break
    return [x[s:s + w] for s in sorted(picked)]


def clips_of(data):
    x = trim_silence(decode(data))
    if len(x) < SR // 10:
        return []
    out = []
    for c in crops(x):
        c = trim_silence(c)
        if len(c) < SR // 10:
            continue
        if len(c) < int(MIN_S * SR):  # short hits (punch, click) keep their length of silence after them
            c = np.concatenate([c, np.zeros(int(MIN_S * SR) - len(c), np.float32)])
        peak = np.abs(c).max()
        if peak > 0:
            out.append((c * (PEAK / peak)).astype(np.float32))
    return out


# ---------- split and save ----------

def heldout_files(rows_by_file):
    """Whole files with sha1(source) % 100 < HELDOUT_PERCENT, only where the label keeps a file in training."""
    files_by_label = {}
    for src, label in rows_by_file.items():
        files_by_label.setdefault(label, []).append(src)
    held = set()
    for label, srcs in files_by_label.items():
        cand = [s for s in srcs if int(hashlib.sha1(s.encode()).hexdigest(), 16) % 100 < HELDOUT_PERCENT]
        if len(cand) == len(srcs):
            cand = cand[1:]
        held.update(cand)
    return held


def package_of(row):
    return row["source"].split(":", 1)[0]


def count(rows, key):
    out = {}
    for r in rows:
        out[key(r)] = out.get(key(r), 0) + 1
    return dict(sorted(out.items()))


REJECTED = []

if __name__ == "__main__":
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".data")
    os.makedirs(data_dir, exist_ok=True)
    src_dir = os.path.join(data_dir, "sfx-src")
    per_file, dropped, shown = [], [], 0
    for src, licence, name, data in sources(src_dir):
        if name not in LABELS:
            dropped.append((src, name))
            continue
        label, more, category = LABELS[name]
        if shown < 45:
            print(f"  {src.split(':', 1)[1].rsplit('/', 1)[-1]:32s} -> {name!r:26s} -> {label!r} {more} [{category}]")
            shown += 1
        try:
            cs = clips_of(data)
        except subprocess.CalledProcessError as e:
            print(f"cannot decode {src}: {e.stderr.decode(errors='replace').strip()}", file=sys.stderr)
            continue
        row = {"kind": "sfx", "label": label, "texts": [label] + more, "category": category, "source": src, "licence": licence}
        per_file.append((src, row, cs))
    held = heldout_files({src: row["label"] for src, row, cs in per_file if cs})
    split = {"train": ([], []), "heldout": ([], [])}
    for src, row, cs in per_file:
        clips, rows = split["heldout" if src in held else "train"]
        for c in cs:
            clips.append(c)
            rows.append(dict(row))
    train_labels = {r["label"] for r in split["train"][1]}
    assert all(r["label"] in train_labels for r in split["heldout"][1])
    assert not ({r["source"] for r in split["train"][1]} & {r["source"] for r in split["heldout"][1]})
    for name, (clips, rows) in split.items():
        save(data_dir, name, clips, rows, prefix="sfx")
    print(f"dropped {len(dropped)} unrecognisable names: {sorted({n for _, n in dropped})}")
    print(f"rejected {len(REJECTED)} files for their licence, e.g. {REJECTED[:8]}")
    summary = {"sampling_rate": SR, "heldout_percent": HELDOUT_PERCENT, "licences": {}}
    for _, row, _ in per_file:
        summary["licences"].setdefault(package_of(row), set()).add(row["licence"])
    summary["licences"] = {k: sorted(v) for k, v in sorted(summary["licences"].items())}
    for name, (clips, rows) in split.items():
        summary[name] = {
            "clips": len(rows), "seconds": round(sum(len(c) for c in clips) / SR, 1),
            "files": len({r["source"] for r in rows}),
            "per_category": count(rows, lambda r: r["category"]),
            "per_source": count(rows, package_of),
            "per_label": count(rows, lambda r: r["label"]),
        }
    with open(os.path.join(data_dir, "sfx.json"), "w") as f:
        json.dump(summary, f, indent=1)
