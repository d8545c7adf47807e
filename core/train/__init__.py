"""Fine-tuning a personal GPT-SoVITS v2 voice from a speaker's bank.

    dataset.py       bank takes -> cached training features (audio, SSL, phones, BERT, codes)
    sovits_train.py  SoVITS (VITS GAN) fine-tuning from the base G and D
    gpt_train.py     GPT (text-to-semantic) fine-tuning from the base GPT
    device.py        device, precision, batch size, out-of-memory handling
    checkpoints.py   atomic, resumable training checkpoints
    build.py         the public API: check_ready, build_voice, make_zero_shot_voice, list_voices

Heavy imports stay inside these modules; `import core.train` alone is cheap.
"""
