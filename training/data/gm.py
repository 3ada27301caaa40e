"""General MIDI level 1: the 128 program names, their 16 families, and the percussion key map (channel 10)."""

PROGRAMS = [
    "acoustic grand piano", "bright acoustic piano", "electric grand piano", "honky-tonk piano", "electric piano 1", "electric piano 2", "harpsichord", "clavinet",
    "celesta", "glockenspiel", "music box", "vibraphone", "marimba", "xylophone", "tubular bells", "dulcimer",
    "drawbar organ", "percussive organ", "rock organ", "church organ", "reed organ", "accordion", "harmonica", "tango accordion",
    "acoustic guitar nylon", "acoustic guitar steel", "electric guitar jazz", "electric guitar clean", "electric guitar muted", "overdriven guitar", "distortion guitar", "guitar harmonics",
    "acoustic bass", "electric bass finger", "electric bass pick", "fretless bass", "slap bass 1", "slap bass 2", "synth bass 1", "synth bass 2",
    "violin", "viola", "cello", "contrabass", "tremolo strings", "pizzicato strings", "orchestral harp", "timpani",
    "string ensemble 1", "string ensemble 2", "synth strings 1", "synth strings 2", "choir aahs", "voice oohs", "synth voice", "orchestra hit",
    "trumpet", "trombone", "tuba", "muted trumpet", "french horn", "brass section", "synth brass 1", "synth brass 2",
    "soprano sax", "alto sax", "tenor sax", "baritone sax", "oboe", "english horn", "bassoon", "clarinet",
    "piccolo", "flute", "recorder", "pan flute", "blown bottle", "shakuhachi", "whistle", "ocarina",
    "square lead", "sawtooth lead", "calliope lead", "chiff lead", "charang lead", "voice lead", "fifths lead", "bass and lead",
    "new age pad", "warm pad", "polysynth pad", "choir pad", "bowed pad", "metallic pad", "halo pad", "sweep pad",
    "rain effect", "soundtrack effect", "crystal effect", "atmosphere effect", "brightness effect", "goblins effect", "echoes effect", "sci-fi effect",
    "sitar", "banjo", "shamisen", "koto", "kalimba", "bagpipe", "fiddle", "shanai",
    "tinkle bell", "agogo", "steel drums", "woodblock", "taiko drum", "melodic tom", "synth drum", "reverse cymbal",
    "guitar fret noise", "breath noise", "seashore", "bird tweet", "telephone ring", "helicopter", "applause", "gunshot",
]

FAMILIES = [
    "piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
    "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic", "percussive", "sound effects",
]

DRUMS = {
    35: "acoustic bass drum", 36: "bass drum", 37: "side stick", 38: "acoustic snare", 39: "hand clap", 40: "electric snare",
    41: "low floor tom", 42: "closed hi-hat", 43: "high floor tom", 44: "pedal hi-hat", 45: "low tom", 46: "open hi-hat",
    47: "low-mid tom", 48: "hi-mid tom", 49: "crash cymbal", 50: "high tom", 51: "ride cymbal", 52: "chinese cymbal",
    53: "ride bell", 54: "tambourine", 55: "splash cymbal", 56: "cowbell", 57: "crash cymbal 2", 58: "vibraslap",
    59: "ride cymbal 2", 60: "hi bongo", 61: "low bongo", 62: "mute hi conga", 63: "open hi conga", 64: "low conga",
    65: "high timbale", 66: "low timbale", 67: "high agogo", 68: "low agogo", 69: "cabasa", 70: "maracas",
    71: "short whistle", 72: "long whistle", 73: "short guiro", 74: "long guiro", 75: "claves", 76: "hi wood block",
    77: "low wood block", 78: "mute cuica", 79: "open cuica", 80: "mute triangle", 81: "open triangle",
}

assert len(PROGRAMS) == 128 and len(FAMILIES) == 16
