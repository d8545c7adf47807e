"""GPT-SoVITS v2 as the original defines it, readable top to bottom, and nothing else.

The GPT (text -> 25 Hz semantic tokens): `gpt_layers` (config, embeddings, KV cache, layers,
masks), `gpt_sampling` (the original's sampling chain), `gpt` (the model, loading, its check).
SoVITS (tokens + phones + a reference -> 32 kHz audio): `sovits_modules` (weight norm, encoders,
flow, quantizer), `sovits_style`, `sovits_vocoder` (HiFi-GAN), `sovits`; `sovits_discriminator`
for fine-tuning. Around them: `checkpoint` (safe reading and writing of the original's files),
`official` (its configurations), `features` (HuBERT and BERT), `spectrogram`, and `conformance`
(`python -m core.engine.conformance DIR`: the check against the reference outputs).

What makes it fast (int8, fused decode, CUDA graphs, chunked vocoder) and the synthesis pipeline
are `core.runtime`, which imports this package; this package never imports it.
"""
