"""Fine-tuning a personal GPT-SoVITS v2 voice from a speaker's bank.

    dataset.py       bank takes -> cached training features (audio, SSL, phones, BERT, codes)
    sovits_train.py  SoVITS (VITS GAN) fine-tuning from the base G and D
    gpt_train.py     GPT (text-to-semantic) fine-tuning from the base GPT
    stage.py         the loop both stages share: resume, steps, cancel, OOM retry, progress, checkpoints
    finetune.py      SoVITS then GPT, from features to trained weights (one process or each rank)
    distributed.py   several GPUs: DDP helpers for a rank, and the torchrun launch from the build
    rank_main.py     one training process under torchrun (`-m core.train.rank_main JOB_DIR`)
    device.py        device, precision, batch size, out-of-memory handling
    checkpoints.py   atomic, resumable training checkpoints
    ready.py         what a build starts from and whether it can: BuildConfig, base files, usable
                     audio, the reference take, epochs, check_ready
    build.py         the public API: check_ready, build_voice, make_zero_shot_voice, list_voices
    build_cli.py     `voicebank build`
    errors.py        BuildError, BuildCancelled and the shared "get the base models" advice

Heavy imports stay inside these modules; `import core.train` alone is cheap.
"""
