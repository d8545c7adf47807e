"""The official GPT-SoVITS v2 full-size configuration, as the released files hold it.

Sizes of a loaded model always come from its own file; these are for building full-size models
without one (the benchmark) and for checking layouts. Source: the reference README's
"Official full-size configuration" (configs/s1longer-v2.yaml and configs/s2.json of the original).
"""
from __future__ import annotations

import copy

# What a GPT `.ckpt` carries as its "config".
OFFICIAL_GPT_CONFIG = {
    "train": {"seed": 1234, "epochs": 20, "batch_size": 8, "precision": "16-mixed"},
    "data": {"max_eval_sample": 8, "max_sec": 54, "num_workers": 4, "pad_val": 1024},
    "model": {"vocab_size": 1025, "phoneme_vocab_size": 732, "embedding_dim": 512,
              "hidden_dim": 512, "head": 16, "linear_units": 2048, "n_layer": 24, "dropout": 0,
              "EOS": 1024, "random_bert": 0},
    "inference": {"top_k": 15},
}

# What a SoVITS `.pth` carries as its "config" (an HParams with these sections).
OFFICIAL_SOVITS_CONFIG = {
    "train": {"segment_size": 20480},
    "data": {"sampling_rate": 32000, "filter_length": 2048, "hop_length": 640, "win_length": 2048,
             "n_mel_channels": 128, "mel_fmin": 0.0, "mel_fmax": None},
    "model": {"inter_channels": 192, "hidden_channels": 192, "filter_channels": 768, "n_heads": 2,
              "n_layers": 6, "kernel_size": 3, "p_dropout": 0.1, "resblock": "1",
              "resblock_kernel_sizes": [3, 7, 11], "resblock_dilation_sizes": [[1, 3, 5]] * 3,
              "upsample_rates": [10, 8, 2, 2, 2], "upsample_initial_channel": 512,
              "upsample_kernel_sizes": [16, 16, 8, 2, 2], "n_layers_q": 3, "use_spectral_norm": False,
              "gin_channels": 512, "semantic_frame_rate": "25hz", "freeze_quantizer": True},
}


def official_gpt_config() -> dict:
    return copy.deepcopy(OFFICIAL_GPT_CONFIG)


def official_sovits_config() -> dict:
    return copy.deepcopy(OFFICIAL_SOVITS_CONFIG)
