"""Held-out numbers for a trained run (torch towers; the ONNX export matches them, see data/verify-export.mjs).

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 training/evaluate.py --run training/.data/run  -> RUN/eval.json

Held out: OpenMoji art (1,903 base emoji), the TimGM6mb soundfont, espeak-ng voices en-gb-scotland/en-us-nyc
and one in six voice variants. None of it was seen in training (the data scripts assert it).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from train_audio import AudioSet, embed_clips, extra_heldout_eval, word_retrieval  # noqa: E402
from train_image import extra_eval  # noqa: E402
from xmodal.audio_features import load_filters  # noqa: E402
from xmodal.data import ImageSet, Texts, normalise, to_tensor  # noqa: E402
from xmodal.metrics import embed_in_batches, retrieval, zero_shot  # noqa: E402
from xmodal.models import AUDIO_WIDTHS, AudioTower, ImageTower, TextTower  # noqa: E402

SPEECH_SAMPLE_WORDS = 300
TARGETS = {"t2i_en.recall@10": 0.7, "t2i_it.recall@10": 0.6, "category_9.accuracy": 0.6, "gm_family_16_timgm6mb.accuracy": 0.5, "speech_en_a2t.recall@1": 0.6, "speech_en_a2t_300.recall@1": 0.6}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(HERE, ".data"))
    p.add_argument("--run", default=os.path.join(HERE, ".data", "run"))
    p.add_argument("--text", help="checkpoint whose text tower to use (default RUN/image.pt)")
    p.add_argument("--image", help="checkpoint whose image tower to use (default RUN/image.pt)")
    p.add_argument("--audio", help="checkpoint whose audio tower to use (default RUN/audio.pt)")
    p.add_argument("--out", help="where to write the JSON (default RUN/eval.json)")
    p.add_argument("--langs", default="en,it,de,fr,es,ja,zh,ru")
    p.add_argument("--extra-images", default="", help="held-out slices of more picture sources (e.g. clipart): title -> picture")
    p.add_argument("--extra-audio", default="", help="more held-out clip sets (e.g. speech2-heldout-vorbis,sfx-heldout)")
    args = p.parse_args()
    texts = Texts(args.data)
    corpus = texts.corpus
    s1 = torch.load(args.image or os.path.join(args.run, "image.pt"), map_location="cpu")
    st = torch.load(args.text or os.path.join(args.run, "image.pt"), map_location="cpu")
    txt = TextTower(st["vocab_size"])
    txt.load_state_dict(st["text"])
    img = ImageTower(tuple(s1.get("image_widths", (32, 64, 128, 192, 256))))
    img.load_state_dict(s1["image"])
    txt.eval()
    img.eval()
    audio_ckpt = args.audio or os.path.join(args.run, "audio.pt")
    has_audio = os.path.exists(audio_ckpt)

    @torch.no_grad()
    def embed_text(strings):
        return embed_in_batches(lambda s: txt(*texts.batch([texts.sid[x] for x in strings[s]])), len(strings))

    res = {}
    held = ImageSet(args.data, "heldout", texts)
    with torch.no_grad():
        I = embed_in_batches(lambda s: img(normalise(to_tensor(held.pixels[s]))), len(held.rows))
    hexes = np.array([r["hexcode"] for r in held.rows])
    emoji = corpus["emoji"]
    for lang in args.langs.split(","):
        q = [h for h in hexes if lang in emoji[h]["texts"]]
        labels = [emoji[h]["texts"][lang]["label"] for h in q]
        all_labels = np.array([emoji[h]["texts"].get(lang, {}).get("label", "") for h in hexes])
        res[f"t2i_{lang}"] = retrieval(embed_text(labels), I, torch.from_numpy(np.array(labels)[:, None] == all_labels[None, :]))
    groups = sorted({emoji[h]["group"] for h in hexes})
    G = embed_text([corpus["groups"][str(g)]["en"] for g in groups])
    res["category_9"] = zero_shot(I, G, [groups.index(emoji[h]["group"]) for h in hexes])
    G_it = embed_text([corpus["groups"][str(g)]["it"] for g in groups])
    res["category_9_it"] = zero_shot(I, G_it, [groups.index(emoji[h]["group"]) for h in hexes])
    res["i2t_en"] = retrieval(I, embed_text([emoji[h]["texts"]["en"]["label"] for h in hexes]), torch.eye(len(hexes), dtype=torch.bool))
    extra = [e for e in args.extra_images.split(",") if e]
    if extra:
        he = ImageSet(args.data, "heldout", texts, extra, base=False)
        with torch.no_grad():
            res.update(extra_eval(img, txt, texts, he, "cpu"))

    if has_audio:
        s2 = torch.load(audio_ckpt, map_location="cpu")
        aud = AudioTower(tuple(s2.get("widths", AUDIO_WIDTHS)))
        aud.load_state_dict(s2["audio"])
        aud.eval()
        mel, window = load_filters(os.path.join(args.data, "clap-reference.json"))
        ha = AudioSet(args.data, ["audio-heldout"] + [e for e in args.extra_audio.split(",") if e])
        ha.load_features(args.data, mel, window)
        gm = [i for i, r in enumerate(ha.rows) if r["kind"] == "gm" and r["set"] == "audio-heldout"]
        A = embed_clips(aud, ha, gm, "cpu")
        res["gm_family_16_timgm6mb"] = zero_shot(A, embed_text(corpus["gm_families"]), [ha.rows[i]["program"] // 8 for i in gm])
        res["gm_program_128_timgm6mb"] = zero_shot(A, embed_text(corpus["gm_programs"]), [ha.rows[i]["program"] for i in gm])
        dr = [i for i, r in enumerate(ha.rows) if r["kind"] == "drum" and r["set"] == "audio-heldout"]
        drum_names = sorted(set(corpus["gm_drums"].values()))
        res["drum_47_timgm6mb"] = zero_shot(embed_clips(aud, ha, dr, "cpu"), embed_text(drum_names), [drum_names.index(corpus["gm_drums"][str(ha.rows[i]["key"])]) for i in dr])
        for lang in ("en", "it"):
            sp = [i for i, r in enumerate(ha.rows) if r["kind"] == "speech" and r["lang"] == lang and r["set"] == "audio-heldout"]
            A = embed_clips(aud, ha, sp, "cpu")
            spoken = np.array([ha.rows[i]["word"] for i in sp])
            res[f"speech_{lang}_a2t"] = word_retrieval(A, spoken, embed_text)
            # the floor: 300 words (a seeded sample, every held-out clip of each) instead of all of them
            res[f"speech_{lang}_a2t_{SPEECH_SAMPLE_WORDS}"] = word_retrieval(A, spoken, embed_text, SPEECH_SAMPLE_WORDS)
            # audio -> image through the shared text space only: the spoken name of an emoji finds its OpenMoji picture
            word_hex = corpus["spoken"][lang]
            keep = [k for k, w in enumerate(spoken) if word_hex.get(w) in set(hexes)]
            match = torch.from_numpy(np.array([word_hex[spoken[k]] for k in keep])[:, None] == hexes[None, :])
            r = retrieval(A[keep], I, match)
            r["chance@10"] = float(match.sum(1).float().mean() * 10 / len(hexes))
            res[f"speech_{lang}_a2i"] = r
        res.update(extra_heldout_eval(aud, ha, embed_text, "cpu", SPEECH_SAMPLE_WORDS))
    summary = {}
    for key, floor in TARGETS.items():
        name, metric = key.split(".", 1)
        if name in res:
            summary[key] = {"value": round(res[name][metric], 4), "target": floor, "met": res[name][metric] >= floor}
    if "speech_en_a2i" in res:
        r = res["speech_en_a2i"]
        summary["speech_en_a2i.recall@10"] = {"value": round(r["recall@10"], 4), "target": f"> 5x chance ({5 * r['chance@10']:.4f})", "met": r["recall@10"] > 5 * r["chance@10"]}
    out = {"results": res, "targets": summary}
    with open(args.out or os.path.join(args.run, "eval.json"), "w") as f:
        json.dump(out, f, indent=2)
    for k, v in res.items():
        print(f"{k:28s} " + " ".join(f"{m}={x:.3f}" if isinstance(x, float) else f"{m}={x}" for m, x in v.items()))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
