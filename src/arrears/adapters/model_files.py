"""Model files: each trained model is written as `<dir>/<model_id>.json` (dir: ARREARS_MODELS_DIR, default
./models), and read back with its content hash checked against the one the store recorded."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from arrears.domain.errors import InputError

DEFAULT_DIR = "models"


def models_dir() -> Path:
    return Path(os.environ.get("ARREARS_MODELS_DIR") or DEFAULT_DIR)


def save_model(model_id: str, content: bytes, directory: Path | None = None) -> str:
    """Write the file atomically (a temporary name, then a rename) and return its path."""
    folder = directory or models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{model_id}.json"
    partial = path.with_suffix(".json.partial")
    partial.write_bytes(content)
    partial.replace(path)
    return str(path)


def read_model(path: str, content_hash: str) -> bytes:
    """The file's bytes, refused if they no longer hash to what was recorded."""
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model file ({exc.strerror})", field="path") from None
    if hashlib.sha256(content).hexdigest() != content_hash:
        raise InputError(f"{path}: the file changed since it was recorded (SHA-256 differs)", field="path")
    return content
