"""The Draw tab's in-browser reader: the model payload (lenet/reading/webread.py), the resize both sides share, and the
page's reader (lenet/static/reader.js) run in Node against the core for every preset (no browser needed)."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lenet.net.config import PRESETS
from lenet.reading.inference import LoadedModel, load_shipped, read
from lenet.net.model import LeNet
from lenet.reading.preprocess import _aa_taps, _resize
from lenet.reading.webread import export_payload, model_tensors, payload_bytes
from helpers import TWO_CLOSE, calibrated, clothes_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench.common.varied_drawings import varied_drawings  # noqa: E402

READER = ROOT / "lenet" / "static" / "reader.js"


@pytest.fixture(scope="module")
def shipped() -> dict[str, LoadedModel]:
    return load_shipped(ROOT / "checkpoints")


def _floats(spec) -> np.ndarray:
    return np.frombuffer(base64.b64decode(spec["data"]), "<f4").reshape(spec["shape"])


def _random_model(arch: str, seed: int = 0, **overrides) -> LoadedModel:
    torch.manual_seed(seed)
    net = LeNet(replace(PRESETS[arch], **overrides))
    for m in net.modules():  # BatchNorm with running statistics that are not the identity
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return LoadedModel.from_model(net, {"arch": arch, "dataset": "mnist"}, source="trained")


def test_the_payload_holds_config_thresholds_and_every_tensor(shipped):
    for key, lm in shipped.items():
        p = export_payload(lm)
        assert p["version"] == 1 and len(p["key"]) == 16
        assert p["config"] == lm.model.config.to_dict() and p["classes"] == lm.classes
        assert p["thresholds"] == lm.thresholds.to_dict()
        assert {"temperature", "lookalike", "letter_scale", "letter_bias"} <= set(p["thresholds"])
        assert p["reads_digits"] == (key != "lenet5-fashion-mnist")
        for name, t in model_tensors(lm).items():
            assert np.array_equal(_floats(p["tensors"][name]), t.numpy()), (key, name)
        assert payload_bytes(p) < 1_000_000, "a shipped model is well under a megabyte for the page"
    assert "output.prototypes" in export_payload(shipped["lenet5-1998-mnist"])["tensors"]
    assert "s2.weight" in export_payload(shipped["lenet5-1998-mnist"])["tensors"]


def test_the_payload_is_made_once_per_model_and_differs_between_models(shipped):
    lm = shipped["lenet5-mnist"]
    assert export_payload(lm) is export_payload(lm)
    keys = {export_payload(m)["key"] for m in shipped.values()}
    assert len(keys) == len(shipped)
    other = _random_model("lenet5")
    assert export_payload(other)["key"] not in keys


def test_sparse_c3_is_sent_as_its_dense_kernel(shipped):
    lm = shipped["lenet5-1998-mnist"]
    w = model_tensors(lm)["c3.weight"]
    assert w.shape == (16, 6, 5, 5)
    assert torch.equal(w, lm.model.c3[0].dense_weight())


def test_batchnorm_is_folded_into_the_layer_before_it():
    lm = _random_model("lenet5-bn")
    t = model_tensors(lm)
    assert not any("running" in k for k in t)
    x = torch.randn(3, 1, 32, 32)
    with torch.inference_mode():
        ref = lm.model.c1[1](lm.model.c1[0](x))
        folded = F.conv2d(x, t["c1.weight"], t["c1.bias"])
        assert torch.allclose(ref, folded, atol=1e-5)
        h = torch.randn(3, lm.model.config.c3_channels * 25)
        ref = lm.model.c5[1](lm.model.c5[0](h))
        assert torch.allclose(ref, F.linear(h, t["c5.weight"], t["c5.bias"]), atol=1e-4)


def test_the_shared_resize_has_torchs_weights_and_values():
    rng = np.random.default_rng(0)
    for _ in range(60):
        n_in, n_out = int(rng.integers(2, 200)), int(rng.integers(1, 81))
        eye = torch.eye(n_in)[None, None]  # one-hot rows: torch's output is its weights, exactly
        w_torch = F.interpolate(eye, size=(n_in, n_out), mode="bilinear", antialias=True,
                                align_corners=False)[0, 0].numpy().T
        index, weight = _aa_taps(n_in, n_out)
        mine = np.zeros((n_out, n_in), np.float32)
        for i in range(n_out):
            for j, w in zip(index[i], weight[i]):
                mine[i, j] += w
        assert np.array_equal(mine, w_torch), (n_in, n_out)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(2, 200, 2))
        oh, ow = (int(v) for v in rng.integers(2, 81, 2))  # a 1-wide output is where torch's own kernel errs
        a = torch.from_numpy((rng.integers(0, 256, (h, w)) / 255).astype(np.float32))
        ref = F.interpolate(a[None, None], size=(oh, ow), mode="bilinear", antialias=True, align_corners=False)[0, 0]
        assert torch.allclose(_resize(a, (oh, ow)), ref, atol=1e-6)


NODE_RUN = r"""
const R = require(process.argv[1]);
const data = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = data.drawings.map((d) => {
  const res = R.read(d, data.payload);
  if (res.empty) return {empty: true};
  return {empty: false, text: R.markdown(res.reading.verdict), kind: res.reading.verdict.kind,
          entries: R.labelEntries(res.model, res.reading)};
});
process.stdout.write(JSON.stringify(out));
"""


def node_read(drawings: list[dict], payload: dict) -> list[dict]:
    run = subprocess.run(["node", "-e", NODE_RUN, str(READER)], input=json.dumps({"drawings": drawings, "payload": payload}),
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(run.stdout)


def assert_same_reading(lm: LoadedModel, drawings: list[dict], page: list[dict], tol: float = 1e-3) -> float:
    """The page's readings against the core's (lenet.present.draw_view, as the server renders them); the largest difference."""
    from lenet.present import draw_view

    worst = 0.0
    for d, mine in zip(drawings, page):
        reading = read(lm, json.dumps(d))
        text, label, _ = draw_view.draw_view(lm, json.dumps(d))
        assert mine["empty"] == (reading is None) == (label is None), d
        if reading is None:
            continue
        assert mine["text"] == text, (d, mine["text"], text)
        assert mine["kind"] == reading.verdict.kind == draw_view.read_json(lm, reading)["verdict"]
        got = dict(mine["entries"])
        assert set(got) == set(label)
        worst = max(worst, max(abs(got[c] - p) for c, p in label.items()))
    assert worst <= tol, worst
    return worst


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_reader_matches_the_core_for_every_preset(shipped):
    """The page's reader, run in Node, against the core for every architecture the config allows (random
    weights: every layer kind, BatchNorm folded, the sparse C3 and the RBF output, a reject class, a MAP
    'none of these') and the shipped checkpoints with their calibrated verdicts."""
    drawings = [d for _, d in varied_drawings(16, seed=3)]
    models = [(k, lm) for k, lm in shipped.items()]
    models += [(arch, _random_model(arch, i)) for i, arch in enumerate(PRESETS)]
    models += [("reject class", _random_model("lenet5", 7, reject_class=True)),
               ("rbf map", _random_model("lenet5-1998", 8, rbf_reject=10.0))]
    for name, lm in models:
        some = drawings if name in shipped else drawings[:8]
        assert_same_reading(lm, some, node_read(some, export_payload(lm)))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_reader_follows_a_calibrated_checkpoint(shipped):
    """A checkpoint calibrated on real hands (temperature, lookalike head with letter_scale and letter_bias, the
    wider "unsure"): the page states the same tempered probabilities, the same P(letter)-scaled digit probability,
    the same verdicts and words as the core, for every kind of reject score and output the verdict handles."""
    from lenet.present import draw_view

    drawings = [d for _, d in varied_drawings(40, seed=5)]
    models = [("lenet5-mnist", calibrated(shipped["lenet5-mnist"], drawings, temperature=3.0)),  # some "unsure"
              ("lenet5-1998-mnist", calibrated(shipped["lenet5-1998-mnist"], drawings))]
    models += [("reject class", calibrated(_random_model("lenet5", 7, reject_class=True), drawings, temperature=0.6)),
               ("rbf map", calibrated(_random_model("lenet5-1998", 8, rbf_reject=10.0), drawings, temperature=2.5)),
               ("energy", calibrated(_random_model("lenet5", 9), drawings, temperature=0.8, letter_bias=-3.0))]
    kinds, texts = set(), []
    for name, lm in models:
        payload = export_payload(lm)
        assert payload["thresholds"]["temperature"] == lm.thresholds.temperature != 1.0
        assert payload["thresholds"]["lookalike"] == lm.thresholds.lookalike is not None
        page = node_read(drawings, payload)
        assert_same_reading(lm, drawings, page)
        kinds |= {r["kind"] for r in page if not r.get("empty")}
        if name == "lenet5-mnist":
            assert {r["kind"] for r in page if not r.get("empty")} == {"digit", "unsure", "not a digit"}
        texts += [r["text"] for r in page if not r.get("empty")]
        if name in shipped:  # random networks seldom read a digit
            verdicts = [draw_view.read_json(lm, read(lm, json.dumps(d))) for d in drawings]
            assert any(v["verdict"] == "digit" and "letter or symbol" in v["reason"] for v in verdicts), name
    assert kinds == {"digit", "unsure", "not a digit"}, kinds
    assert any("may also be a letter or symbol" in t for t in texts)
    assert any(t.startswith("### I read") and "letter or symbol" not in t for t in texts)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_reader_has_the_one_unsure_rule_for_a_class_model():
    """Clothes models: two close classes are "unsure" in the page as on the server, in the same words; the model's
    own thresholds decide (lowered, both read the top class); a MAP "none of these" never makes it "not a digit"."""
    from lenet.reading.verdict import Thresholds

    drawings = [d for _, d in varied_drawings(6, seed=4)]
    models = {"unsure": clothes_model(TWO_CLOSE), "map": clothes_model([], rbf_reject=1.0),
              "digit": clothes_model(TWO_CLOSE, Thresholds("energy", None, 0.3, 0.05))}
    for name, lm in models.items():
        page = node_read(drawings, export_payload(lm))
        assert_same_reading(lm, drawings, page)
        kinds = {r["kind"] for r in page if not r["empty"]}
        assert kinds == ({"unsure"} if name == "map" else {name}), (name, kinds)
