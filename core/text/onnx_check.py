"""What an ONNX file must prove before onnxruntime opens it: no custom operators, no external data.

Model files are untrusted input (see the README's "Security"). onnxruntime runs an operator of
an unknown domain only through a library someone registers, and reads "external data" from any
path the file names; this module reads the file's protobuf itself, without onnxruntime or the
`onnx` package, and refuses:
- a node (in the main graph, a subgraph of If/Loop/Scan, or a model-local function) whose
  operator domain is not ONNX's own or onnxruntime's built-in `com.microsoft` kernels, unless it
  calls a function defined in the file;
- any tensor whose bytes live outside the file (external data: a model we load must be the one
  file whose hash was checked, not a file plus whatever path it names);
- a file that is not a well-formed ONNX model (bad wire format, nesting too deep).
It also returns the names of the graph's inputs and outputs so a caller can tell whether the
file is the model it claims to be.

Only the protobuf wire format is decoded, and only the fields that matter here; large tensor
payloads are skipped by their length, so a several-hundred-MB model is checked in milliseconds
from a memory map.
"""
from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from pathlib import Path

# ONNX's own domains, and onnxruntime's contrib kernels (compiled into onnxruntime: its graph
# optimiser writes them when a model is saved optimised). Anything else needs custom code.
ALLOWED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})
MAX_DEPTH = 16          # nested subgraphs; a real model has 0-2 levels

# Field numbers of onnx.proto3 (stable across ONNX versions).
_MODEL_GRAPH, _MODEL_OPSET, _MODEL_TRAINING, _MODEL_FUNCTIONS = 7, 8, 20, 25
_GRAPH_NODE, _GRAPH_INIT, _GRAPH_INPUT, _GRAPH_OUTPUT, _GRAPH_SPARSE_INIT = 1, 5, 11, 12, 15
_NODE_OP, _NODE_ATTR, _NODE_DOMAIN = 4, 5, 7
_ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE, _ATTR_SPARSES = 5, 6, 10, 11, 22, 23
_TENSOR_EXTERNAL, _TENSOR_LOCATION = 13, 14
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_FUNC_NAME, _FUNC_NODE, _FUNC_DOMAIN = 1, 7, 10
_TRAINING_INIT, _TRAINING_ALGO = 1, 2
_VALUE_NAME = 1
_EXTERNAL = 1           # TensorProto.DataLocation.EXTERNAL


class OnnxFileError(ValueError):
    """The file is not an ONNX model this app will open; the message says why, in words."""


@dataclass
class OnnxFacts:
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    domains: set[str] = field(default_factory=set)      # operator domains the nodes use
    external: list[str] = field(default_factory=list)   # where external tensors say they live


# --------------------------------------------------------------------------- wire format
def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise OnnxFileError("it is not an ONNX model (a number runs past its field)")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf, start: int, end: int):
    """(field number, wire type, value) for one message; value is an int for numbers and a
    (start, end) span for length-delimited fields (bytes, strings, sub-messages)."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos, end)
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            if pos + length > end:
                raise OnnxFileError("it is not an ONNX model (a field runs past the end of the file)")
            value, pos = (pos, pos + length), pos + length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            value = 0
        else:   # 3/4: groups, which ONNX never uses; 6/7 do not exist
            raise OnnxFileError("it is not an ONNX model (unknown field encoding)")
        if pos > end:
            raise OnnxFileError("it is not an ONNX model (a field runs past the end of the file)")
        yield number, wire, value


def _text(buf, span: tuple[int, int]) -> str:
    return buf[span[0]:span[1]].decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- messages
class _Walker:
    def __init__(self, buf) -> None:
        self.buf = buf
        self.facts = OnnxFacts()
        self.local_functions: set[tuple[str, str]] = set()
        self.calls: set[tuple[str, str]] = set()

    def model(self, start: int, end: int) -> None:
        graph = None
        for number, wire, value in _fields(self.buf, start, end):
            if wire != 2:
                continue
            if number == _MODEL_GRAPH:
                graph = value
                self.graph(value, 0, top=True)
            elif number == _MODEL_FUNCTIONS:
                self.function(value)
            elif number == _MODEL_TRAINING:
                for n, w, v in _fields(self.buf, *value):
                    if w == 2 and n in (_TRAINING_INIT, _TRAINING_ALGO):
                        self.graph(v, 1)
        if graph is None:
            raise OnnxFileError("it is not an ONNX model (it has no graph)")

    def graph(self, span: tuple[int, int], depth: int, top: bool = False) -> None:
        if depth > MAX_DEPTH:
            raise OnnxFileError("its graphs are nested too deeply")
        for number, wire, value in _fields(self.buf, *span):
            if wire != 2:
                continue
            if number == _GRAPH_NODE:
                self.node(value, depth)
            elif number == _GRAPH_INIT:
                self.tensor(value)
            elif number == _GRAPH_SPARSE_INIT:
                self.sparse(value)
            elif top and number in (_GRAPH_INPUT, _GRAPH_OUTPUT):
                name = next((_text(self.buf, v) for n, w, v in _fields(self.buf, *value)
                             if n == _VALUE_NAME and w == 2), "")
                (self.facts.inputs if number == _GRAPH_INPUT else self.facts.outputs).append(name)

    def node(self, span: tuple[int, int], depth: int) -> None:
        domain = op = ""
        for number, wire, value in _fields(self.buf, *span):
            if wire != 2:
                continue
            if number == _NODE_DOMAIN:
                domain = _text(self.buf, value)
            elif number == _NODE_OP:
                op = _text(self.buf, value)
            elif number == _NODE_ATTR:
                self.attribute(value, depth)
        self.facts.domains.add(domain)
        self.calls.add((domain, op))

    def attribute(self, span: tuple[int, int], depth: int) -> None:
        for number, wire, value in _fields(self.buf, *span):
            if wire != 2:
                continue
            if number in (_ATTR_G, _ATTR_GRAPHS):
                self.graph(value, depth + 1)
            elif number in (_ATTR_T, _ATTR_TENSORS):
                self.tensor(value)
            elif number in (_ATTR_SPARSE, _ATTR_SPARSES):
                self.sparse(value)

    def tensor(self, span: tuple[int, int]) -> None:
        location, external = None, False
        for number, wire, value in _fields(self.buf, *span):
            if number == _TENSOR_LOCATION and wire == 0 and value == _EXTERNAL:
                external = True
            elif number == _TENSOR_EXTERNAL and wire == 2:
                external = True
                entry = dict.fromkeys(("key", "value"), "")
                for n, w, v in _fields(self.buf, *value):
                    if w == 2 and n in (1, 2):
                        entry["key" if n == 1 else "value"] = _text(self.buf, v)
                if entry["key"] == "location":
                    location = entry["value"]
        if external:
            self.facts.external.append(location or "?")

    def sparse(self, span: tuple[int, int]) -> None:
        for number, wire, value in _fields(self.buf, *span):
            if wire == 2 and number in (_SPARSE_VALUES, _SPARSE_INDICES):
                self.tensor(value)

    def function(self, span: tuple[int, int]) -> None:
        name = domain = ""
        for number, wire, value in _fields(self.buf, *span):
            if wire != 2:
                continue
            if number == _FUNC_NAME:
                name = _text(self.buf, value)
            elif number == _FUNC_DOMAIN:
                domain = _text(self.buf, value)
            elif number == _FUNC_NODE:
                self.node(value, 1)
        self.local_functions.add((domain, name))


# --------------------------------------------------------------------------- the check
def inspect_onnx(path: Path | str) -> OnnxFacts:
    """Read what the file's graph uses (see the module docstring). Raises OnnxFileError for a
    file that is not a well-formed ONNX model and for any custom operator or external data."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            if size == 0:
                raise OnnxFileError("the file is empty")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                # mmap is indexed directly (no memoryview), so nothing holds it open after an error
                walker = _Walker(mm)
                walker.model(0, size)
    except OSError as exc:
        raise OnnxFileError(f"it cannot be read ({exc.__class__.__name__})") from None
    facts = walker.facts
    custom = sorted({d for d, op in walker.calls if d not in ALLOWED_DOMAINS
                     and (d, op) not in walker.local_functions})
    if custom:
        raise OnnxFileError(f"it uses operators of the custom domain(s) {', '.join(custom)}, which would "
                            "need code from outside onnxruntime; this app does not run such models")
    if facts.external:
        where = ", ".join(sorted(set(facts.external))[:3])
        raise OnnxFileError(f"its weights are kept in other files ({where}); only a model that is one "
                            "self-contained file is opened")
    return facts
