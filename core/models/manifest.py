"""The model manifest: which base files the app needs, where they come from and how to check them.

The manifest is data shipped in `resources/models/manifest.json`; tests load their own. It is
validated strictly because its names become file paths and its hashes decide what is trusted.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from core.paths import resources_dir

SCHEMA = 1
PURPOSES = ("speak", "train")
FORMATS = ("torch", "json", "onnx", "text", "any")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
# File names become path components: one component, no separators, nothing hidden or relative.
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._=+-]{0,199}$")
_MEMBER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._=+/-]{0,299}$")


class ManifestError(ValueError):
    """The manifest file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class ModelFile:
    model: str
    name: str
    repo_path: str
    url: str
    size: int | None
    sha256: str | None
    approx_size: int | None = None
    format: str = "any"
    needed_for: tuple[str, ...] = PURPOSES
    in_archive: str | None = None   # the file is this member of the zip at `url` (e.g. G2PWModel.zip)

    @property
    def key(self) -> str:
        """`<model>/<name>`: the id used in recorded hashes, caches and messages."""
        return f"{self.model}/{self.name}"

    @property
    def display_size(self) -> int | None:
        """Exact size where known, else the estimate (for download totals and disk checks)."""
        return self.size if self.size is not None else self.approx_size


@dataclass(frozen=True)
class ModelSpec:
    id: str
    title: str
    licence: str
    files: tuple[ModelFile, ...]
    upstream: str = ""
    purpose: str = ""
    optional: bool = False   # the app works fully without it (g2pW): never counted as missing

    def file(self, name: str) -> ModelFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"model {self.id!r} has no file {name!r}")


@dataclass(frozen=True)
class Manifest:
    name: str
    repository: str
    revision: str
    models: tuple[ModelSpec, ...]
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def model(self, model_id: str) -> ModelSpec:
        for m in self.models:
            if m.id == model_id:
                return m
        known = ", ".join(m.id for m in self.models)
        raise KeyError(f"unknown model {model_id!r} (known: {known})")

    def file(self, model_id: str, name: str) -> ModelFile:
        return self.model(model_id).file(name)

    def files(self, models: Iterable[str] | None = None, purpose: str | None = None,
              optional: bool = False) -> list[ModelFile]:
        """The files of the given models, optionally only those needed for a purpose. With no
        models named: every required model, and the optional ones too when `optional`."""
        specs = [m for m in self.models if optional or not m.optional] if models is None \
            else [self.model(m) for m in models]
        return [f for spec in specs for f in spec.files if purpose is None or purpose in f.needed_for]


def default_manifest_path() -> Path:
    return resources_dir() / "models" / "manifest.json"


def load_manifest(path: Path | str | None = None) -> Manifest:
    """Load and validate a manifest: the shipped one unless a path is given."""
    p = Path(path) if path is not None else default_manifest_path()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"model manifest not found: {p}") from None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"model manifest {p} cannot be read: {exc}") from None
    return parse_manifest(data, source=str(p))


def _req(obj: dict, key: str, kind: type, where: str) -> Any:
    if key not in obj:
        raise ManifestError(f"{where}: missing {key!r}")
    val = obj[key]
    # bool is an int subclass; a size of `true` is a typo, not a number.
    if not isinstance(val, kind) or (kind is int and isinstance(val, bool)):
        raise ManifestError(f"{where}: {key!r} must be {kind.__name__}, got {type(val).__name__}")
    return val


def _opt_int(obj: dict, key: str, where: str) -> int | None:
    val = obj.get(key)
    if val is None:
        return None
    if not isinstance(val, int) or isinstance(val, bool) or val < 0:
        raise ManifestError(f"{where}: {key!r} must be a non-negative integer or null")
    return val


def parse_manifest(data: Any, source: str = "<manifest>") -> Manifest:
    if not isinstance(data, dict):
        raise ManifestError(f"{source}: the manifest must be a JSON object")
    schema = data.get("schema")
    if schema != SCHEMA:
        raise ManifestError(f"{source}: unsupported manifest schema {schema!r} (this app reads {SCHEMA})")
    models_raw = _req(data, "models", list, source)
    if not models_raw:
        raise ManifestError(f"{source}: no models")
    models: list[ModelSpec] = []
    seen_models: set[str] = set()
    for i, m in enumerate(models_raw):
        where = f"{source}: models[{i}]"
        if not isinstance(m, dict):
            raise ManifestError(f"{where}: must be an object")
        mid = _req(m, "id", str, where)
        if not _MODEL_ID.match(mid):
            raise ManifestError(f"{where}: model id {mid!r} is not a safe folder name")
        if mid in seen_models:
            raise ManifestError(f"{where}: duplicate model id {mid!r}")
        seen_models.add(mid)
        where = f"{source}: model {mid!r}"
        licence = _req(m, "licence", str, where).strip()
        if not licence:
            raise ManifestError(f"{where}: empty licence")
        files_raw = _req(m, "files", list, where)
        if not files_raw:
            raise ManifestError(f"{where}: no files")
        files: list[ModelFile] = []
        seen_files: set[str] = set()
        for j, f in enumerate(files_raw):
            fw = f"{where}: files[{j}]"
            if not isinstance(f, dict):
                raise ManifestError(f"{fw}: must be an object")
            name = _req(f, "name", str, fw)
            if not _FILE_NAME.match(name) or ".." in name:
                raise ManifestError(f"{fw}: file name {name!r} is not a safe file name")
            if name in seen_files:
                raise ManifestError(f"{fw}: duplicate file {name!r}")
            seen_files.add(name)
            fw = f"{where}: file {name!r}"
            url = _req(f, "url", str, fw)
            if not (url.startswith("https://") or url.startswith("http://")):
                raise ManifestError(f"{fw}: url must be http(s)")
            sha = f.get("sha256")
            if sha is not None and (not isinstance(sha, str) or not _SHA256.match(sha)):
                raise ManifestError(f"{fw}: sha256 must be 64 lowercase hex digits or null")
            fmt = f.get("format", "any")
            if fmt not in FORMATS:
                raise ManifestError(f"{fw}: format must be one of {FORMATS}")
            needed = f.get("needed_for", list(PURPOSES))
            if (not isinstance(needed, list) or not needed
                    or any(p not in PURPOSES for p in needed)):
                raise ManifestError(f"{fw}: needed_for must be a non-empty list of {PURPOSES}")
            member = f.get("in_archive")
            if member is not None and (not isinstance(member, str) or not _MEMBER.match(member)
                                       or ".." in member.split("/") or member.rsplit("/", 1)[-1] != name):
                raise ManifestError(f"{fw}: in_archive must be a relative path inside the zip ending in the file name")
            files.append(ModelFile(
                model=mid, name=name, repo_path=str(f.get("repo_path") or name), url=url,
                size=_opt_int(f, "size", fw), sha256=sha, approx_size=_opt_int(f, "approx_size", fw),
                format=fmt, needed_for=tuple(needed), in_archive=member))
        optional = m.get("optional", False)
        if not isinstance(optional, bool):
            raise ManifestError(f"{where}: optional must be true or false")
        models.append(ModelSpec(id=mid, title=str(m.get("title") or mid), licence=licence,
                                files=tuple(files), upstream=str(m.get("upstream") or ""),
                                purpose=str(m.get("purpose") or ""), optional=optional))
    known = {"schema", "models", "name", "repository", "revision"}
    return Manifest(name=str(data.get("name") or ""), repository=str(data.get("repository") or ""),
                    revision=str(data.get("revision") or ""), models=tuple(models), source=source,
                    extra={k: v for k, v in data.items() if k not in known})
