"""The model store: the manifest of base files, download, import, and what is installed.

`core.models.store` answers "what is installed / missing" and is cheap to call repeatedly;
`download` and `importer` are the only ways files get into the models folder, and both install a
file only once it has been verified.
"""
from core.models.manifest import Manifest, ManifestError, ModelFile, ModelSpec, load_manifest
from core.models.store import (Cancelled, FileStatus, ModelStoreError, is_ready, missing, model_dir,
                               path_of, status)

__all__ = [
    "Cancelled", "FileStatus", "Manifest", "ManifestError", "ModelFile", "ModelSpec", "ModelStoreError",
    "is_ready", "load_manifest", "missing", "model_dir", "path_of", "status",
]
