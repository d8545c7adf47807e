"""A g2pW-shaped model folder with seeded random weights, for the benchmark and the tests.

The real G2PWModel cannot be downloaded on the build machines, so this writes a folder that
core.text.g2pw loads exactly as it loads the real one:
- `g2pW.onnx`: a BERT encoder (bert-base-chinese size by default: 12 layers, hidden 768, 12
  heads, FFN 3072, vocabulary 21128, 512 positions) and g2pW's head: the hidden state at the
  polyphone (position_ids) -> one logit per label, plus a per-character bias (char_ids), with
  the labels outside the character's candidates masked (phoneme_mask), then softmax. Inputs and
  output carry g2pW's names, types and shapes; the operators are the ones torch.onnx writes for
  BERT (MatMul, LayerNormalization, Softmax, the Erf form of GELU), so onnxruntime fuses and
  runs it as it would the real file;
- `POLYPHONIC_CHARS.txt` (character TAB bopomofo with a tone digit) and
  `bopomofo_to_pinyin_wo_tune_dict.json`, made from pypinyin's readings of the given characters;
- `vocab.txt`: a BERT vocabulary (the special tokens, the characters, padding up to the size).

The graph is written with the `onnx` package's helper API (a test/bench dependency only: the app
reads ONNX files through onnxruntime and core.text.onnx_check). `char_bias` lets a test decide
what the model answers: a large bias on one label makes that label win whatever the encoder says.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_TONE_MARKS = {"ˊ": "2", "ˇ": "3", "ˋ": "4", "˙": "5"}


@dataclass(frozen=True)
class G2PWShape:
    layers: int = 12
    hidden: int = 768
    heads: int = 12
    ffn: int = 3072
    vocab: int = 21128
    positions: int = 512


TINY = G2PWShape(layers=1, hidden=16, heads=2, ffn=32, vocab=0, positions=64)   # vocab 0: just the tokens


def _bopomofo_with_digit(text: str) -> str:
    """pypinyin's bopomofo ('ㄏㄤˊ', 'ㄌㄜ˙', 'ㄉㄧ') -> g2pW's label form ('ㄏㄤ2', 'ㄌㄜ5', 'ㄉㄧ1')."""
    for mark, digit in _TONE_MARKS.items():
        if mark in text:
            return text.replace(mark, "") + digit
    return text + "1"


def polyphone_tables(chars: str | dict[str, list[str]]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(POLYPHONIC_CHARS rows, bopomofo -> pinyin without tone) for the characters that have
    more than one reading: every reading pypinyin lists for them, or, given character ->
    tone3 readings, only those."""
    from pypinyin import Style, pinyin

    rows: list[tuple[str, str]] = []
    to_pinyin: dict[str, str] = {}
    for ch in dict.fromkeys(chars):
        keep = chars[ch] if isinstance(chars, dict) else None
        tone3 = pinyin(ch, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]
        bopo = pinyin(ch, style=Style.BOPOMOFO, heteronym=True)[0]
        pairs = [(s, b) for s, b in zip(tone3, bopo) if keep is None or s in keep]
        if len(pairs) < 2 or len(tone3) != len(bopo):
            continue
        for syl, b in pairs:
            label = _bopomofo_with_digit(b)
            rows.append((ch, label))
            to_pinyin[label[:-1]] = syl[:-1]
    return rows, to_pinyin


def common_polyphones(n: int = 620) -> dict[str, list[str]]:
    """A stand-in for g2pW's table of 623 characters: the `n` most frequent characters (jieba's
    dictionary counts) with at least two readings that words of pypinyin's phrase dictionary
    use (行: xing2 in 步行, hang2 in 银行), each with those readings."""
    from pypinyin.contrib.tone_convert import to_tone3

    from core.text.zh_context import phrase_dict
    from core.text.zh_sandhi import load_jieba

    used: dict[str, dict[str, int]] = {}
    for word, readings in phrase_dict().items():
        if len(word) == len(readings):
            for ch, r in zip(word, readings):
                syl = to_tone3(r[0], neutral_tone_with_five=True)
                used.setdefault(ch, {})[syl] = used.get(ch, {}).get(syl, 0) + 1
    jieba, _ = load_jieba()
    freq: dict[str, int] = {}
    for word, count in jieba.dt.FREQ.items():
        for ch in word:
            freq[ch] = freq.get(ch, 0) + count
    out: dict[str, list[str]] = {}
    for ch in sorted(used, key=lambda c: freq.get(c, 0), reverse=True):
        readings = [syl for syl, k in used[ch].items() if k >= 2]
        if len(readings) >= 2:
            out[ch] = readings
            if len(out) == n:
                break
    return out


# --------------------------------------------------------------------------- the graph
class _Graph:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.nodes: list = []
        self.inits: list = []
        self.n = 0

    def name(self, hint: str) -> str:
        self.n += 1
        return f"{hint}_{self.n}"

    def const(self, hint: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, hint: str, *shape: int) -> str:
        return self.const(hint, (self.rng.standard_normal(shape, dtype=np.float32) * 0.02))

    def op(self, op_type: str, inputs: list[str], hint: str = "", **attrs) -> str:
        from onnx import helper

        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x: str, n_in: int, n_out: int, hint: str) -> str:
        y = self.op("MatMul", [x, self.weight(f"{hint}_w", n_in, n_out)])
        return self.op("Add", [y, self.const(f"{hint}_b", np.zeros(n_out, np.float32))])

    def layer_norm(self, x: str, size: int, hint: str) -> str:
        return self.op("LayerNormalization", [x, self.const(f"{hint}_g", np.ones(size, np.float32)),
                                              self.const(f"{hint}_b", np.zeros(size, np.float32))],
                       axis=-1, epsilon=1e-12)


def _encoder_layer(g: _Graph, x: str, mask_bias: str, shape: G2PWShape, i: int) -> str:
    h, nh = shape.hidden, shape.heads
    dh = h // nh
    split = g.const("split_shape", np.array([0, 0, nh, dh], np.int64))
    merge = g.const("merge_shape", np.array([0, 0, h], np.int64))
    q = g.op("Transpose", [g.op("Reshape", [g.linear(x, h, h, f"l{i}_q"), split])], perm=[0, 2, 1, 3])
    k = g.op("Transpose", [g.op("Reshape", [g.linear(x, h, h, f"l{i}_k"), split])], perm=[0, 2, 3, 1])
    v = g.op("Transpose", [g.op("Reshape", [g.linear(x, h, h, f"l{i}_v"), split])], perm=[0, 2, 1, 3])
    scores = g.op("Div", [g.op("MatMul", [q, k]), g.const("sqrt_dh", np.array(np.sqrt(dh), np.float32))])
    probs = g.op("Softmax", [g.op("Add", [scores, mask_bias])], axis=-1)
    ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge])
    x = g.layer_norm(g.op("Add", [x, g.linear(ctx, h, h, f"l{i}_o")]), h, f"l{i}_ln1")
    up = g.linear(x, h, shape.ffn, f"l{i}_ffn1")
    erf = g.op("Erf", [g.op("Div", [up, g.const("sqrt2", np.array(np.sqrt(2.0), np.float32))])])
    gelu = g.op("Mul", [g.op("Mul", [up, g.op("Add", [erf, g.const("one", np.array(1.0, np.float32))])]),
                        g.const("half", np.array(0.5, np.float32))])
    return g.layer_norm(g.op("Add", [x, g.linear(gelu, shape.ffn, h, f"l{i}_ffn2")]), h, f"l{i}_ln2")


def build_onnx(path: Path, shape: G2PWShape, n_labels: int, n_chars: int, seed: int = 0,
               char_bias: np.ndarray | None = None) -> Path:
    """Write a g2pW-shaped ONNX model (see the module docstring) to `path`."""
    import onnx
    from onnx import TensorProto, helper

    g = _Graph(np.random.default_rng(seed))
    h = shape.hidden
    words = g.op("Gather", [g.weight("word_emb", shape.vocab, h), "input_ids"])
    types = g.op("Gather", [g.weight("type_emb", 2, h), "token_type_ids"])
    seq = g.op("Shape", ["input_ids"], start=1, end=2)          # [sequence length], 1-D
    # the first `seq` rows of the position table, as torch.onnx writes BERT's position ids
    pos = g.op("Slice", [g.weight("pos_emb", shape.positions, h), g.const("zero", np.array([0], np.int64)), seq,
                         g.const("axis0", np.array([0], np.int64))])
    x = g.layer_norm(g.op("Add", [g.op("Add", [words, types]), pos]), h, "emb_ln")
    mask = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT),
                              g.const("axes12", np.array([1, 2], np.int64))])
    one = g.const("one", np.array(1.0, np.float32))
    mask_bias = g.op("Mul", [g.op("Sub", [one, mask]), g.const("neg", np.array(-10000.0, np.float32))])
    for i in range(shape.layers):
        x = _encoder_layer(g, x, mask_bias, shape, i)
    # g2pW's head: the polyphone's hidden state (one-hot over the sequence picks it) -> labels,
    # conditioned on the character, restricted to the character's candidate readings.
    pick = g.op("OneHot", ["position_ids", seq, g.const("onehot_values", np.array([0.0, 1.0], np.float32))], axis=-1)
    picked = g.op("Squeeze", [g.op("MatMul", [g.op("Unsqueeze", [pick, g.const("axes1", np.array([1], np.int64))]), x]),
                              g.const("axes1", np.array([1], np.int64))])
    bias = char_bias if char_bias is not None else g.rng.standard_normal((n_chars, n_labels), dtype=np.float32) * 0.02
    logits = g.op("Add", [g.linear(picked, h, n_labels, "cls"), g.op("Gather", [g.const("char_bias", bias.astype(np.float32)), "char_ids"])])
    masked = g.op("Add", [logits, g.op("Mul", [g.op("Sub", ["phoneme_mask", one]), g.const("big", np.array(1e4, np.float32))])])
    g.nodes.append(helper.make_node("Softmax", [masked], ["probs"], axis=-1))

    def io(name: str, elem: int, dims: list) -> "onnx.ValueInfoProto":
        return helper.make_tensor_value_info(name, elem, dims)

    i64, f32 = TensorProto.INT64, TensorProto.FLOAT
    inputs = [io("input_ids", i64, ["batch", "seq"]), io("token_type_ids", i64, ["batch", "seq"]),
              io("attention_mask", i64, ["batch", "seq"]), io("phoneme_mask", f32, ["batch", n_labels]),
              io("char_ids", i64, ["batch"]), io("position_ids", i64, ["batch"])]
    graph = helper.make_graph(g.nodes, "g2pw", inputs, [io("probs", f32, ["batch", n_labels])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="voicebank-bench")
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    return path


def write_vocab(path: Path, chars: str, size: int = 0) -> list[str]:
    """A BERT vocab.txt: special tokens, the marks the front end keeps, the characters, then
    unused entries up to `size` (bert-base-chinese has 21128)."""
    vocab = list(SPECIAL)
    for ch in ",.!?…-" + chars:
        if ch not in vocab:
            vocab.append(ch)
    vocab += [f"[unused{i}]" for i in range(max(0, size - len(vocab)))]
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return vocab


def build_g2pw_folder(folder: Path, chars: str | dict[str, list[str]], shape: G2PWShape = G2PWShape(),
                      seed: int = 0, prefer: dict[str, str] | None = None, vocab_chars: str = "") -> Path:
    """Write a whole G2PWModel-like folder for the polyphonic characters of `chars` (see
    polyphone_tables).

    `prefer`: character -> tone3 syllable the model must answer for it (a large per-character
    bias on that label); other characters get what the random weights say.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows, to_pinyin = polyphone_tables(chars)
    (folder / "POLYPHONIC_CHARS.txt").write_text("".join(f"{c}\t{b}\n" for c, b in rows), encoding="utf-8")
    (folder / "bopomofo_to_pinyin_wo_tune_dict.json").write_text(json.dumps(to_pinyin, ensure_ascii=False),
                                                                encoding="utf-8")
    vocab = write_vocab(folder / "vocab.txt", "".join(chars) + vocab_chars, shape.vocab)
    labels = sorted({b for _, b in rows})
    poly = sorted({c for c, _ in rows})
    bias = None
    if prefer:
        bias = np.zeros((len(poly), len(labels)), np.float32)
        from_pinyin = {to_pinyin[b[:-1]] + b[-1]: b for b in labels}
        for ch, syl in prefer.items():
            bias[poly.index(ch), labels.index(from_pinyin[syl])] = 50.0
    shape = G2PWShape(**{**shape.__dict__, "vocab": max(shape.vocab, len(vocab))})
    build_onnx(folder / "g2pW.onnx", shape, len(labels), len(poly), seed, bias)
    return folder
