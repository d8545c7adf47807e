"""core.text.onnx_check: the app's own reading of an ONNX file refuses custom operators and
external data, and finds the graph's inputs, checked against files written by the `onnx`
package (a test dependency; the app never imports it)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from core.text.onnx_check import OnnxFileError, inspect_onnx


def _model(nodes, inits=(), opsets=(("", 17),), functions=()):
    graph = helper.make_graph(
        list(nodes), "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])], list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                              functions=list(functions))
    model.ir_version = 8
    return model


def _save(tmp_path, model, name="m.onnx", **kw):
    path = tmp_path / name
    onnx.save_model(model, str(path), **kw)
    return path


def test_inputs_outputs_and_domains(tmp_path):
    w = numpy_helper.from_array(np.ones(2, np.float32), "w")
    path = _save(tmp_path, _model([helper.make_node("Add", ["x", "w"], ["y"])], [w]))
    facts = inspect_onnx(path)
    assert facts.inputs == ["x"] and facts.outputs == ["y"] and facts.domains == {""} and not facts.external


def test_onnxruntime_contrib_ops_are_allowed(tmp_path):
    node = helper.make_node("Gelu", ["x"], ["y"], domain="com.microsoft")
    path = _save(tmp_path, _model([node], opsets=(("", 17), ("com.microsoft", 1))))
    assert inspect_onnx(path).domains == {"com.microsoft"}


def test_a_custom_operator_is_refused(tmp_path):
    node = helper.make_node("RunMe", ["x"], ["y"], domain="evil.ops")
    path = _save(tmp_path, _model([node], opsets=(("", 17), ("evil.ops", 1))))
    with pytest.raises(OnnxFileError, match="custom domain.*evil.ops"):
        inspect_onnx(path)


def test_a_custom_operator_inside_a_subgraph_is_refused(tmp_path):
    inner = helper.make_graph([helper.make_node("RunMe", ["x"], ["z"], domain="evil.ops")], "then", [],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2])])
    plain = helper.make_graph([helper.make_node("Identity", ["x"], ["z2"])], "else", [],
                              [helper.make_tensor_value_info("z2", TensorProto.FLOAT, [2])])
    cond = numpy_helper.from_array(np.array(True), "cond")
    node = helper.make_node("If", ["cond"], ["y"], then_branch=inner, else_branch=plain)
    path = _save(tmp_path, _model([node], [cond], opsets=(("", 17), ("evil.ops", 1))))
    with pytest.raises(OnnxFileError, match="evil.ops"):
        inspect_onnx(path)


def test_a_local_function_is_not_a_custom_operator_but_what_it_calls_is_checked(tmp_path):
    body = [helper.make_node("Relu", ["a"], ["b"])]
    fn = helper.make_function("my.fns", "MyRelu", ["a"], ["b"], body, [helper.make_opsetid("", 17)])
    call = helper.make_node("MyRelu", ["x"], ["y"], domain="my.fns")
    path = _save(tmp_path, _model([call], opsets=(("", 17), ("my.fns", 1)), functions=[fn]))
    inspect_onnx(path)

    bad = helper.make_function("my.fns", "MyRelu", ["a"], ["b"], [helper.make_node("RunMe", ["a"], ["b"], domain="evil.ops")],
                               [helper.make_opsetid("", 17), helper.make_opsetid("evil.ops", 1)])
    path = _save(tmp_path, _model([call], opsets=(("", 17), ("my.fns", 1)), functions=[bad]), "bad.onnx")
    with pytest.raises(OnnxFileError, match="evil.ops"):
        inspect_onnx(path)


def test_external_data_is_refused_wherever_it_points(tmp_path):
    w = numpy_helper.from_array(np.ones(1000, np.float32), "w")
    model = _model([helper.make_node("Add", ["x", "w"], ["y"])], [w])
    path = _save(tmp_path, model, save_as_external_data=True, all_tensors_to_one_file=True,
                 location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").exists()
    with pytest.raises(OnnxFileError, match="weights.bin"):
        inspect_onnx(path)

    t = numpy_helper.from_array(np.ones(2, np.float32), "w")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value="../../../etc/passwd")
    path = _save(tmp_path, _model([helper.make_node("Add", ["x", "w"], ["y"])], [t]), "escape.onnx")
    with pytest.raises(OnnxFileError, match="etc/passwd"):
        inspect_onnx(path)


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"\xff" * 64, "not an ONNX model"),
    (b"PK\x03\x04 this is a zip, not a model", "not an ONNX model"),
])
def test_files_that_are_not_models(tmp_path, content, words):
    path = tmp_path / "x.onnx"
    path.write_bytes(content)
    with pytest.raises(OnnxFileError, match=words):
        inspect_onnx(path)


def test_a_cut_off_model_is_refused(tmp_path):
    w = numpy_helper.from_array(np.ones(5000, np.float32), "w")
    path = _save(tmp_path, _model([helper.make_node("Add", ["x", "w"], ["y"])], [w]))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(OnnxFileError, match="not an ONNX model"):
        inspect_onnx(path)
