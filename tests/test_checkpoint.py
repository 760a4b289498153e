"""Checkpoints: exact round trips, atomic writes, and refusal of pickles and damaged or foreign files."""
from __future__ import annotations

import dataclasses
import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from lenet.net.checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint, load_checkpoint_bytes, save_checkpoint
from lenet.net.config import PRESETS, preset
from lenet.net.model import LeNet
from lenet.sources.mix import learned

META = {"arch": "lenet5", "dataset": "mnist", "classes": [str(i) for i in range(10)],
        "metrics": {"test_accuracy": 0.987, "test_loss": 0.04, "test_n": 10000},
        "history": [{"epoch": 1, "train_loss": 0.3}], "command": "python -m lenet.train --epochs 1"}


def randomised(name: str, seed: int = 0) -> LeNet:
    """A model whose every tensor (BatchNorm statistics included) differs from a fresh model's."""
    torch.manual_seed(seed)
    model = LeNet(preset(name))
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if key.endswith("prototypes"):
                continue  # fixed by design
            if key.endswith("running_var"):
                t.copy_(torch.rand_like(t) + 0.5)
            elif t.is_floating_point():
                t.copy_(torch.randn_like(t) * 0.1)
            else:
                t.fill_(123)  # num_batches_tracked
    return model


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------- round trips ----------

@pytest.mark.parametrize("name", list(PRESETS))
def test_round_trip_is_exact(name, tmp_path):
    model = randomised(name)
    meta = {**META, "arch": name}
    path = save_checkpoint(tmp_path / f"{name}.safetensors", model, meta)
    loaded, got = load_checkpoint(path)
    assert loaded.config == model.config
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for key in original:
        assert original[key].dtype == restored[key].dtype, key
        assert torch.equal(original[key], restored[key]), key
    for key, value in meta.items():
        assert got[key] == value, key
    assert got["config"] == model.config.to_dict()
    assert got["trainable_parameters"] == model.num_parameters()
    assert "torch" in got["versions"] and got["created"]
    assert not loaded.training  # loaded for inference
    x = torch.randn(2, 1, model.config.input_size, model.config.input_size)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_bytes_round_trip_and_created_is_kept():
    model = randomised("lenet5-1998")
    data = checkpoint_bytes(model, {**META, "created": "2026-01-02T03:04:05+00:00"})
    loaded, meta = load_checkpoint_bytes(data, "upload.safetensors")
    assert meta["created"] == "2026-01-02T03:04:05+00:00"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))


# Published / documented parameter counts of every preset (README's table): a shipped checkpoint must match.
PARAMETERS = {"lenet5": 61_706, "lenet5-1998": 60_000, "lenet5-classic": 61_706, "lenet5-bn": 1_007_434,
              "lenet5-28-avg": 44_426, "lenet5-28-max": 44_426}
SHIPPED = sorted((Path(__file__).resolve().parents[1] / "checkpoints").glob("*.safetensors"))


@pytest.mark.parametrize("arch", list(PRESETS))
def test_every_preset_has_its_documented_parameter_count(arch):
    assert LeNet(PRESETS[arch]).num_parameters() == PARAMETERS[arch]


def test_the_modern_lenet5_checkpoint_ships():
    assert "lenet5-mnist.safetensors" in [p.name for p in SHIPPED]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_checkpoints_load(path):
    model, meta = load_checkpoint(path)
    assert meta["arch"] in PRESETS
    # The architecture is the preset's; the training recipe may add how outputs are read: the MAP criterion's
    # "none of these" constant (RBF), or an 11th "not a digit" output (--negatives).
    assert (model.config.rbf_reject is not None) == bool(meta["settings"].get("map_criterion")
                                                         or ("negatives" in learned(meta["settings"])
                                                             and model.config.output == "rbf"))
    assert dataclasses.replace(model.config, rbf_reject=None, reject_class=False) == PRESETS[meta["arch"]]
    assert meta["trainable_parameters"] == model.num_parameters()
    extra = model.config.f6_units + 1 if model.config.reject_class else 0
    assert model.num_parameters() == PARAMETERS[meta["arch"]] + extra
    assert 0.9 < meta["metrics"]["test_accuracy"] <= 1.0


# ---------- atomic writes ----------

def test_save_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "sub" / "m.safetensors"
    save_checkpoint(path, randomised("lenet5"), META)
    save_checkpoint(path, randomised("lenet5", seed=1), META)  # overwrite
    assert listing(path.parent) == ["m.safetensors"]
    loaded, _ = load_checkpoint(path)
    assert torch.equal(loaded.c1[0].weight, randomised("lenet5", seed=1).c1[0].weight)


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, randomised("lenet5"), META)
    old = path.read_bytes()

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_checkpoint(path, randomised("lenet5", seed=1), {**META, "arch": "other"})
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert listing(tmp_path) == ["m.safetensors"]
    _, meta = load_checkpoint(path)
    assert meta["arch"] == "lenet5"


def test_failure_while_writing_data_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, randomised("lenet5"), META)
    old = path.read_bytes()

    def boom(fd):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        save_checkpoint(path, randomised("lenet5", seed=1), META)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert listing(tmp_path) == ["m.safetensors"]


# ---------- pickles are refused and never run ----------

class _Exploit:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_torch_save_pickle_is_refused(tmp_path):
    sd = randomised("lenet5").state_dict()
    for kwargs in ({}, {"_use_new_zipfile_serialization": False}):
        path = tmp_path / "model.pt"
        torch.save(sd, path, **kwargs)
        with pytest.raises(CheckpointError, match="pickle"):
            load_checkpoint(path)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_malicious_pickle_is_refused_and_never_executed(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(marker), protocol=protocol)
    path = tmp_path / "evil.safetensors"
    path.write_bytes(payload)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint_bytes(payload, "evil.safetensors")
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 1])
def test_old_protocol_pickle_is_refused_and_never_executed(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(marker), protocol=protocol)
    with pytest.raises(CheckpointError):
        load_checkpoint_bytes(payload, "evil.pkl")
    assert not marker.exists()


def test_the_exploit_is_real(tmp_path):
    """The payload above does run when unpickled: the refusal tests are guarding against something."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_Exploit(marker)))  # noqa: S301 - deliberately, on our own payload
    assert marker.exists()


# ---------- damaged and foreign files ----------

def test_truncated_file_is_refused():
    data = checkpoint_bytes(randomised("lenet5"), META)
    for cut in (len(data) // 2, len(data) - 1, 100, 9, 5):
        with pytest.raises(CheckpointError, match="truncated"):
            load_checkpoint_bytes(data[:cut], "cut.safetensors")


def test_random_bytes_are_refused():
    g = torch.Generator().manual_seed(0)
    for n in (8, 64, 4096):
        data = bytes(torch.randint(0, 256, (n,), generator=g, dtype=torch.uint8).tolist())
        with pytest.raises(CheckpointError, match="random.safetensors"):
            load_checkpoint_bytes(data, "random.safetensors")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(path)


def test_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_safetensors_without_our_metadata_is_refused():
    sd = {k: v.contiguous() for k, v in randomised("lenet5").state_dict().items()}
    for metadata in (None, {"format": "pt"}):
        data = st_save(sd, metadata=metadata)
        with pytest.raises(CheckpointError, match="not a LeNet-5 Studio checkpoint"):
            load_checkpoint_bytes(data, "foreign.safetensors")


def _ours(tensors: dict, meta: dict) -> bytes:
    return st_save(tensors, metadata={"format": "lenet5-studio/1", "meta": json.dumps(meta)})


def test_missing_or_invalid_config_is_refused():
    model = randomised("lenet5")
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError, match="config"):
        load_checkpoint_bytes(_ours(sd, {"arch": "lenet5"}), "noconfig.safetensors")
    bad = {**model.config.to_dict(), "activation": "gelu"}
    with pytest.raises(CheckpointError, match="config"):
        load_checkpoint_bytes(_ours(sd, {"config": bad}), "badconfig.safetensors")
    unknown = {**model.config.to_dict(), "layers": 7}
    with pytest.raises(CheckpointError, match="config"):
        load_checkpoint_bytes(_ours(sd, {"config": unknown}), "unknown.safetensors")


@pytest.mark.parametrize("overrides", [
    {"c5_units": -1},  # a negative layer size
    {"c1_channels": "6"},  # a string where a number belongs
    {"mean": "x"},
    {"c5_units": 10**12},  # a tiny upload must not make the server allocate terabytes
])
def test_config_with_impossible_sizes_or_types_is_a_checkpoint_error(overrides):
    model = randomised("lenet5")
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    cfg = {**model.config.to_dict(), **overrides}
    with pytest.raises(CheckpointError, match="config"):
        load_checkpoint_bytes(_ours(sd, {"config": cfg}), "crafted.safetensors")


def test_wrong_tensor_shape_is_refused():
    model = randomised("lenet5")
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    sd["c5.0.weight"] = torch.zeros(120, 256)  # a 28x28 model's C5 in a 32x32 config
    meta = {"config": model.config.to_dict()}
    with pytest.raises(CheckpointError, match=r"c5\.0\.weight.*shape"):
        load_checkpoint_bytes(_ours(sd, meta), "shape.safetensors")


def test_tensors_of_another_architecture_are_refused():
    other = {k: v.contiguous() for k, v in randomised("lenet5-1998").state_dict().items()}
    meta = {"config": PRESETS["lenet5"].to_dict()}
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint_bytes(_ours(other, meta), "mixed.safetensors")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_tensors_are_refused(tmp_path, bad):
    model = randomised("lenet5")
    with torch.no_grad():
        model.f6[0].weight[3, 7] = bad
    path = save_checkpoint(tmp_path / "nan.safetensors", model, META)
    with pytest.raises(CheckpointError, match=r"f6\.0\.weight.*NaN"):
        load_checkpoint(path)
