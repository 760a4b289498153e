"""Checkpoints: weights in safetensors, metadata (config, dataset, metrics, command, versions) inside it.

Written atomically (temporary file + fsync + rename). Loading rebuilds the model from the saved
config, checks every tensor's name and shape, and never unpickles anything.
"""
from __future__ import annotations

import atexit
import datetime as _dt
import io
import json
import os
import pickletools
import platform
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from lenet.net.config import LeNetConfig
from lenet.net.model import LeNet

FORMAT = "lenet5-studio/1"
MAX_BYTES = 64 * 1024 * 1024  # the largest preset is ~4 MB; anything far bigger is not ours


class CheckpointError(ValueError):
    """The file is not a usable LeNet-5 Studio checkpoint; the message says why."""


def versions() -> dict:
    import safetensors
    return {"torch": torch.__version__, "safetensors": safetensors.__version__,
            "python": platform.python_version()}


def checkpoint_bytes(model: LeNet, meta: dict) -> bytes:
    meta = {**meta, "config": model.config.to_dict(), "trainable_parameters": model.num_parameters(),
            "versions": versions(), "created": meta.get("created") or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return save(tensors, metadata={"format": FORMAT, "meta": json.dumps(meta)})


def save_checkpoint(path: str | os.PathLike, model: LeNet, meta: dict) -> Path:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = checkpoint_bytes(model, meta)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a checkpoint is an ordinary, shareable file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


_downloads: Path | None = None
_downloads_lock = threading.Lock()


def downloads_dir() -> Path:
    """A private temporary folder for files visitors download, made on first use (not on import) and removed
    when the process exits."""
    global _downloads
    with _downloads_lock:
        if _downloads is None or not _downloads.is_dir():
            _downloads = Path(tempfile.mkdtemp(prefix="lenet5-studio-"))
            atexit.register(shutil.rmtree, _downloads, ignore_errors=True)
        return _downloads


def write_download(model: LeNet, meta: dict, name: str, folder: str | os.PathLike | None = None,
                   keep_seconds: float = 3600) -> Path:
    """Save a checkpoint for download under a unique sub-folder (so the file keeps its friendly name);
    downloads older than keep_seconds are deleted on the way."""
    folder = Path(folder) if folder is not None else downloads_dir()
    for old in folder.glob("*/*.safetensors"):
        if time.time() - old.stat().st_mtime > keep_seconds:
            old.unlink(missing_ok=True)
            shutil.rmtree(old.parent, ignore_errors=True)
    return save_checkpoint(folder / uuid.uuid4().hex[:12] / name, model, meta)


def _looks_like_pickle(data: bytes) -> bool:
    """Parse (never execute) the first opcodes: torch.save zips and pickles of any protocol."""
    if data[:2] == b"PK":
        return True
    try:
        ops = pickletools.genops(io.BytesIO(data[:256]))
        for _ in range(2):
            next(ops)
        return True
    except Exception:  # not pickle opcodes: some other kind of file
        return False


def _explain_bad_header(data: bytes) -> str:
    if _looks_like_pickle(data):
        return ("it looks like a pickle / torch.save file; those are refused because loading one can run "
                "arbitrary code. Convert it to a LeNet-5 Studio .safetensors checkpoint")
    return "it is not a safetensors file, or it is truncated or corrupt"


def load_checkpoint_bytes(data: bytes, name: str = "checkpoint") -> tuple[LeNet, dict]:
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"{name}: {len(data) / 1e6:.0f} MB is far larger than any LeNet checkpoint")
    if len(data) < 8:
        raise CheckpointError(f"{name}: the file is empty or truncated")
    try:
        tensors = load(data)  # parses a JSON header and raw tensor bytes; nothing is executed
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_len])
    except (SafetensorError, ValueError, json.JSONDecodeError, UnicodeDecodeError, MemoryError):
        raise CheckpointError(f"{name}: {_explain_bad_header(data)}") from None
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{name}: a safetensors file, but not a LeNet-5 Studio checkpoint (format "
                              f"{metadata.get('format')!r}, expected {FORMAT!r})")
    try:
        meta = json.loads(metadata["meta"])
        model = LeNet(LeNetConfig.from_dict(meta["config"]))
    except (KeyError, TypeError, ValueError, RuntimeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{name}: its model config is missing or invalid ({e})") from None
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{name}: tensors do not match its config (missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]})")
    for key, value in tensors.items():
        if value.shape != expected[key].shape:
            raise CheckpointError(f"{name}: tensor {key} has shape {tuple(value.shape)}, "
                                  f"the config needs {tuple(expected[key].shape)}")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(f"{name}: tensor {key} holds NaN or infinite values")
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model, meta


def load_checkpoint(path: str | os.PathLike) -> tuple[LeNet, dict]:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise CheckpointError(f"{path.name}: {size / 1e6:.0f} MB is far larger than any LeNet checkpoint")
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror or e}") from None
    return load_checkpoint_bytes(data, path.name)
