"""The ClapFeatureExtractor settings xmodal-mini is trained with (written to clap/preprocessor_config.json)."""

SAMPLING_RATE = 16000
FFT = 512
HOP = 160
MELS = 64
MAX_LENGTH_S = 2
NB_MAX_SAMPLES = SAMPLING_RATE * MAX_LENGTH_S
FRAMES = 1 + NB_MAX_SAMPLES // HOP  # centred STFT with reflect padding

PREPROCESSOR_CONFIG = {
    "feature_extractor_type": "ClapFeatureExtractor",
    "feature_size": MELS,
    "sampling_rate": SAMPLING_RATE,
    "hop_length": HOP,
    "fft_window_size": FFT,
    "nb_frequency_bins": FFT // 2 + 1,
    "max_length_s": MAX_LENGTH_S,
    "nb_max_samples": NB_MAX_SAMPLES,
    "frequency_min": 50,
    "frequency_max": 8000,
    "padding": "repeatpad",
    "truncation": "rand_trunc",
    "padding_side": "right",
    "padding_value": 0.0,
    "return_attention_mask": False,
    "top_db": None,
}
