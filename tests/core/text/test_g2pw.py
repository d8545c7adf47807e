"""g2pW, the optional polyphone model (core.text.g2pw), through the real code path: a tiny
g2pW-shaped ONNX model built at test time (core.bench.g2pw_model, with the `onnx` package),
tiny label tables and a tiny vocabulary, run by onnxruntime on the CPU.

The model is made to answer what a test needs (a large per-character bias on one reading), so
each test can tell the model's reading from the rules'."""
from __future__ import annotations

import logging
import shutil
import sys

import numpy as np
import onnx
import pytest
from onnx import helper

from core.bench.g2pw_model import TINY, build_g2pw_folder
from core.paths import models_dir
from core.text import g2pw
from core.text.frontend import phonemize


@pytest.fixture(autouse=True)
def installed_folder_again():
    g2pw.reset()
    yield
    g2pw.reset()


def make(tmp_path, chars, prefer, name="G2PWModel", vocab_chars=""):
    return build_g2pw_folder(tmp_path / name, chars, TINY, prefer=prefer, vocab_chars=vocab_chars)


def phones(text, **kw):
    return " ".join(phonemize(text, **kw).phones)


def words(text):
    return [(w.text, w.syllables, w.source) for s in phonemize(text).segments for w in s.words]


# --------------------------------------------------------------------------- deciding
def test_without_the_model_the_rules_read(tmp_path):
    st = g2pw.status()
    assert st.state == "not installed" and "rules" in st.message and g2pw.get() is None
    assert "b u4 x ing2" in phones("他每天步行回家")


def test_the_model_decides_polyphones_over_the_rules(tmp_path):
    rule = phones("他每天步行回家，我还有钱")
    assert "b u4 x ing2" in rule and "h ai2 y ou3" in rule
    g2pw.use(make(tmp_path, "行还", {"行": "hang2", "还": "huan2"}))
    assert g2pw.status().state == "ready"
    got = phones("他每天步行回家，我还有钱")
    assert "b u4 h ang2" in got and "h uan2 y ou3" in got          # the model's readings, said
    assert ("步行", ("bu4", "hang2"), "context") in words("他每天步行回家")
    assert len(got.split()) == len(rule.split())                   # two phones a character still


def test_characters_the_model_does_not_cover_keep_the_rule_reading(tmp_path):
    texts = ["我还有钱，孩子长大了。", "今天天气很好，我们一起去公园散步吧！", "他觉得很重要"]
    before = [phonemize(t) for t in texts]
    g2pw.use(make(tmp_path, "行", {"行": "hang2"}))     # a table of one character, not in these texts
    for text, old in zip(texts, before):
        new = phonemize(text)
        assert (new.phones, new.word2ph, new.norm_text, new.ids) == (old.phones, old.word2ph, old.norm_text, old.ids)


def test_explicit_fixes_and_the_users_dictionary_still_win(tmp_path):
    g2pw.use(make(tmp_path, "行还子", {"行": "xing2", "还": "hai2", "子": "zi5"}))
    assert "y in2 h ang2" in phones("我在银行工作")         # the project's word table: 银行
    assert "g ui1 h uan2" in phones("请按时归还")           # the word table: 归还
    assert "y van2 z i03" in phones("这是原子")             # 子 read zi3 in 原子
    assert "b u4 h ang2" in phones("他每天步行回家", userdict={"步行": "bu4 hang2"})


def test_one_batched_run_for_the_whole_text(tmp_path, monkeypatch):
    g2pw.use(make(tmp_path, "行还长", {"行": "hang2", "还": "huan2", "长": "chang2"}))
    model = g2pw.get()
    runs = []
    real = model.session.run
    monkeypatch.setattr(model.session, "run", lambda out, feed: runs.append(feed) or real(out, feed),
                        raising=False)
    text = "我还有钱，他每天步行回家。你还好吗？长城很美"
    got = phones(text)
    assert len(runs) == 1 and runs[0]["input_ids"].shape[0] == 4
    assert got.count("h uan2") == 2 and "h ang2" in got and "ch ang2" in got


def test_the_inputs_are_the_originals(tmp_path, monkeypatch):
    """[CLS] + one token a character + [SEP], the polyphone's place after [CLS], the mask on its
    candidate readings only, its index among the table's sorted characters."""
    g2pw.use(make(tmp_path, "行还", {"还": "huan2"}, vocab_chars="還有钱我"))
    model = g2pw.get()
    feeds = []
    real = model.session.run
    monkeypatch.setattr(model.session, "run", lambda out, feed: feeds.append(feed) or real(out, feed),
                        raising=False)
    assert model.predict([("我还有钱,", [0, 1, 3])]) == [{1: "huan2"}]    # 我, 钱: not polyphones here
    feed = feeds[0]
    text = model._convert("我还有钱,")
    assert feed["input_ids"].tolist() == [model.vocab.encode(text)]
    assert feed["attention_mask"].tolist() == [[1] * 7] and not feed["token_type_ids"].any()
    assert feed["position_ids"].tolist() == [2]
    assert feed["char_ids"].tolist() == [sorted(model.candidates).index("还")]
    assert np.flatnonzero(feed["phoneme_mask"][0]).tolist() == sorted(model.candidates["还"])
    assert feed["phoneme_mask"].dtype == np.float32 and feed["input_ids"].dtype == np.int64


def test_the_context_window_and_padding(tmp_path, monkeypatch):
    g2pw.use(make(tmp_path, "还", {"还": "huan2"}))
    model = g2pw.get()
    feeds = []
    real = model.session.run
    monkeypatch.setattr(model.session, "run", lambda out, feed: feeds.append(feed) or real(out, feed),
                        raising=False)
    long = "一" * 40 + "还" + "二" * 40
    model.predict([(long, [40]), ("还", [0])])
    feed = feeds[0]
    assert feed["input_ids"].shape == (2, 2 * g2pw.WINDOW + 1 + 2)     # ±16 characters, [CLS], [SEP]
    assert feed["position_ids"].tolist() == [g2pw.WINDOW + 1, 1]
    assert feed["attention_mask"][1].tolist() == [1, 1, 1] + [0] * (2 * g2pw.WINDOW)


def test_a_model_whose_classes_are_character_reading_pairs(tmp_path):
    """config.py's use_char_phoneme, told from the model's output size instead of running it."""
    from core.bench.g2pw_model import G2PWShape, build_onnx, polyphone_tables

    folder = make(tmp_path, "还的地", {})      # 的 and 地 share readings: fewer readings than pairs
    rows, _ = polyphone_tables("还的地")
    pairs = sorted({f"{c} {b}" for c, b in rows})
    chars = sorted({c for c, _ in rows})
    bias = np.zeros((len(chars), len(pairs)), np.float32)
    bias[chars.index("还"), pairs.index("还 ㄏㄨㄢ2")] = 50.0
    vocab = len((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())
    build_onnx(folder / g2pw.MODEL_FILE, G2PWShape(**{**TINY.__dict__, "vocab": vocab}), len(pairs), len(chars),
               char_bias=bias)
    g2pw.use(folder, precision="fp32")
    assert g2pw.get().labels == pairs
    assert "h uan2 y ou3" in phones("我还有钱")


def test_a_simplified_character_finds_its_traditional_row(tmp_path):
    pytest.importorskip("opencc")
    g2pw.use(make(tmp_path, "還", {"還": "huan2"}))    # the table lists the traditional form only
    assert "h uan2 y ou3" in phones("我还有钱")


def test_the_vocabulary_is_berts_tokeniser_for_normalised_text(tmp_path):
    from transformers import BertTokenizerFast

    folder = make(tmp_path, "行还", {}, vocab_chars="我有钱在银工作")
    tok = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True)
    vocab = g2pw.Vocab.from_file(folder / "vocab.txt")
    for text in ("我还有钱,", "银行在工作…", "行-还.钱!?", "没有的字"):
        assert vocab.encode(text) == tok(text)["input_ids"]
    tok.save_pretrained(str(tmp_path / "tok"))
    assert g2pw.Vocab.from_file(tmp_path / "tok" / "tokenizer.json").encode("我还有钱") == tok("我还有钱")["input_ids"]


@pytest.mark.parametrize("label, pinyin", [
    ("ㄏㄤ2", "hang2"), ("ㄌㄩ4", "lv4"), ("ㄐㄩ4", "ju4"), ("ㄌㄜ5", "le5"), ("ㄓ1", "zhi1"), ("ㄦ2", "er2"),
])
def test_bopomofo_to_the_engines_pinyin(label, pinyin):
    table = {"ㄏㄤ": "hang", "ㄌㄩ": "lü", "ㄐㄩ": "jü", "ㄌㄜ": "le", "ㄓ": "zhi", "ㄦ": "er"}
    assert g2pw.to_tone3(label, table) == pinyin
    assert g2pw.to_tone3("ㄅㄚ1", table) is None


def test_the_installed_folder_and_the_roberta_tokenizer(tmp_path):
    from transformers import BertTokenizerFast

    built = make(tmp_path, "行", {"行": "hang2"}, vocab_chars="他每天步回家")
    BertTokenizerFast(vocab=str(built / "vocab.txt")).save_pretrained(str(models_dir() / g2pw.TOKENIZER_FOLDER))
    (models_dir() / g2pw.TOKENIZER_FOLDER / "vocab.txt").unlink(missing_ok=True)   # its tokenizer.json, as shipped
    installed = shutil.copytree(built, models_dir() / g2pw.FOLDER_NAME)
    (installed / "vocab.txt").unlink()                                   # G2PWModel ships no vocabulary
    assert g2pw.status().state == "ready"
    assert g2pw.get().vocab.encode("他") == g2pw.Vocab.from_file(built / "vocab.txt").encode("他")
    assert "b u4 h ang2" in phones("他每天步行回家")


# --------------------------------------------------------------------------- failing safely
def _custom_op(folder):
    m = onnx.load(str(folder / g2pw.MODEL_FILE))
    m.graph.node.append(helper.make_node("RunMe", ["probs"], ["unused"], domain="evil.ops"))
    m.opset_import.append(helper.make_opsetid("evil.ops", 1))
    onnx.save_model(m, str(folder / g2pw.MODEL_FILE))


def _external_data(folder):
    m = onnx.load(str(folder / g2pw.MODEL_FILE))
    onnx.save_model(m, str(folder / g2pw.MODEL_FILE), save_as_external_data=True, location="weights.bin",
                    size_threshold=0)


def _other_inputs(folder):
    m = onnx.load(str(folder / g2pw.MODEL_FILE))
    m.graph.input[0].name = "tokens"
    onnx.save_model(m, str(folder / g2pw.MODEL_FILE))


def _fewer_rows(folder):
    rows = (folder / g2pw.CHARS_FILE).read_text(encoding="utf-8").splitlines()
    (folder / g2pw.CHARS_FILE).write_text("\n".join(rows[:-1]) + "\n", encoding="utf-8")


@pytest.mark.parametrize("damage, state, words", [
    (lambda f: (f / g2pw.MODEL_FILE).write_bytes(np.random.default_rng(0).bytes(5000)), "failed", "refused"),
    (lambda f: (f / g2pw.MODEL_FILE).write_bytes((f / g2pw.MODEL_FILE).read_bytes()[:3000]), "failed", "refused"),
    (_custom_op, "failed", "custom domain(s) evil.ops"),
    (_external_data, "failed", "weights.bin"),
    (_other_inputs, "failed", "not a g2pW model"),
    (_fewer_rows, "failed", "do not belong together"),
    (lambda f: (f / g2pw.CHARS_FILE).write_text("行 ㄏㄤ\n", encoding="utf-8"), "failed", "not a g2pW character table"),
    (lambda f: (f / g2pw.PINYIN_FILE).write_text("[1, 2]", encoding="utf-8"), "failed", "bopomofo -> pinyin"),
    (lambda f: (f / g2pw.CHARS_FILE).unlink(), "not installed", "POLYPHONIC_CHARS.txt is missing"),
    (lambda f: (f / g2pw.MODEL_FILE).unlink(), "not installed", "not installed"),
])
def test_a_broken_model_falls_back_to_the_rules_with_a_clear_message(tmp_path, caplog, damage, state, words):
    expected = phonemize("他每天步行回家，我还有钱")
    folder = make(tmp_path, "行还", {"行": "hang2", "还": "huan2"})
    damage(folder)
    g2pw.use(folder)
    with caplog.at_level(logging.WARNING, logger="voicebank.text"):
        got = phonemize("他每天步行回家，我还有钱")
        phonemize("我还有钱")
    assert got.phones == expected.phones
    st = g2pw.status()
    assert st.state == state and words in st.message and "rules" in st.message
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == (1 if state == "failed" else 0)          # said once, not per sentence
    assert all(r.exc_info is None for r in warnings)                 # a line, no traceback


def test_without_onnxruntime_the_rules_read(tmp_path, monkeypatch):
    expected = phones("我还有钱")
    g2pw.use(make(tmp_path, "还", {"还": "huan2"}))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert phones("我还有钱") == expected
    assert "onnxruntime is not available" in g2pw.status().message


def test_a_run_that_fails_switches_to_the_rules(tmp_path, monkeypatch, caplog):
    expected = phones("我还有钱")
    g2pw.use(make(tmp_path, "还", {"还": "huan2"}))
    model = g2pw.get()

    def boom(*a, **k):
        raise RuntimeError("bad allocation\nmore lines")

    monkeypatch.setattr(model.session, "run", boom, raising=False)
    with caplog.at_level(logging.WARNING, logger="voicebank.text"):
        assert phones("我还有钱") == expected
    assert g2pw.status().state == "failed" and "stopped working (bad allocation)" in g2pw.status().message
    assert g2pw.get() is None and len(caplog.records) == 1


def test_turned_off(tmp_path):
    g2pw.use(None)
    assert g2pw.status().state == "off" and g2pw.get() is None
