"""What makes the engine fast and usable: the synthesis pipeline over `core.engine`'s models and
the fast paths (int8 GPT, fused/scripted decode step, CUDA-graph decode, chunked and bf16 vocoder,
bf16 BERT), each lossy one gated against the exact path when a voice loads. Imports `core.engine`,
never the reverse. Imports nothing at package level: the GUI reads `core.runtime.gates` without torch."""
