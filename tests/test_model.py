"""LeNet models: shapes, parameter counts, the paper's C3 table, and each 1998 building block against a reference."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lenet.net.config import PRESETS, LeNetConfig, preset
from lenet.net.model import (C3_TABLE, LAYERS, LeNet, RBFOutput, ScaledTanh, SparseConv2d, Subsample,
                         c3_connection_matrix)

# The 1998 paper's Table I, written out here independently of lenet.net.model: which S2 maps each C3 map reads.
PAPER_C3_ROWS = [
    {0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {0, 4, 5}, {0, 1, 5},
    {0, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 5}, {0, 3, 4, 5}, {0, 1, 4, 5}, {0, 1, 2, 5},
    {0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5},
    {0, 1, 2, 3, 4, 5},
]

# Spatial size after c1, s2, c3, s4 (5x5 valid convs, 2x2 pooling) for each input size.
SPATIAL = {32: (28, 14, 10, 5), 28: (24, 12, 8, 4)}


def layer_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# ---------- shapes ----------

@pytest.mark.parametrize("input_size", [32, 28])
@pytest.mark.parametrize("name", list(PRESETS))
def test_every_named_activation_has_the_expected_shape(name, input_size):
    cfg = preset(name, input_size=input_size)
    model = LeNet(cfg).eval()
    b = 3
    x = torch.randn(b, 1, input_size, input_size)
    with torch.no_grad():
        acts = model.activations(x)
    c1, s2, c3, s4 = SPATIAL[input_size]
    expected = {
        "c1": (b, cfg.c1_channels, c1, c1),
        "s2": (b, cfg.c1_channels, s2, s2),
        "c3": (b, cfg.c3_channels, c3, c3),
        "s4": (b, cfg.c3_channels, s4, s4),
        "c5": (b, cfg.c5_units),
        "f6": (b, cfg.f6_units),
        "output": (b, cfg.num_classes),
    }
    assert tuple(acts) == LAYERS == ("c1", "s2", "c3", "s4", "c5", "f6", "output")
    assert {k: tuple(v.shape) for k, v in acts.items()} == expected
    assert all(torch.isfinite(v).all() for v in acts.values())


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_native_input_size(name):
    cfg = PRESETS[name]
    model = LeNet(cfg).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 1, cfg.input_size, cfg.input_size))
    assert out.shape == (2, 10)
    wrong = 60 - cfg.input_size  # 28 <-> 32
    with pytest.raises(RuntimeError):
        model(torch.zeros(2, 1, wrong, wrong))


@pytest.mark.parametrize("name", list(PRESETS))
def test_forward_is_the_logits_of_the_output_activation(name):
    torch.manual_seed(0)
    model = LeNet(PRESETS[name]).eval()
    x = torch.randn(4, 1, model.config.input_size, model.config.input_size)
    with torch.no_grad():
        out = model(x)
        acts = model.activations(x)
    # forward takes output_scores' short cut (the activation after the max pool): the same numbers
    torch.testing.assert_close(out, model.logits(acts["output"]), rtol=0, atol=1e-6)
    if model.config.output == "rbf":  # RBF distances are penalties: the class score is the negative distance
        torch.testing.assert_close(out, -acts["output"], rtol=0, atol=1e-6)
        assert (acts["output"] >= 0).all()
    else:
        torch.testing.assert_close(out, acts["output"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", list(PRESETS))
def test_output_scores_give_the_output_activation_and_its_gradients(name):
    torch.manual_seed(0)
    model = LeNet(PRESETS[name]).train()
    x = torch.randn(8, 1, model.config.input_size, model.config.input_size)
    grads = []
    for output in (lambda: model.activations(x)["output"], lambda: model.output_scores(x)):
        model.zero_grad()
        torch.manual_seed(1)  # the same dropout masks
        out = output()
        out.pow(2).sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    (a, ga), (b, gb) = grads
    torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    assert len(ga) == len(gb) > 0
    for g1, g2 in zip(ga, gb):
        torch.testing.assert_close(g2, g1, rtol=1e-4, atol=1e-6)


# ---------- parameter counts ----------

def test_modern_lenet5_has_61706_parameters():
    model = LeNet(preset("lenet5"))
    assert model.num_parameters() == 61_706
    assert model.num_parameters(trainable_only=False) == 61_706
    per_layer = {name: layer_params(getattr(model, name)) for name in LAYERS}
    assert per_layer == {"c1": 156, "s2": 0, "c3": 2_416, "s4": 0, "c5": 48_120, "f6": 10_164, "output": 850}


def test_lenet5_1998_has_the_papers_60000_trainable_parameters():
    model = LeNet(preset("lenet5-1998"))
    per_layer = {name: layer_params(getattr(model, name)) for name in LAYERS}
    assert per_layer == {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164, "output": 0}
    assert model.num_parameters() == 60_000
    assert sum(p.numel() for p in model.parameters()) == 60_000  # nothing frozen hides in there


def test_rbf_prototypes_are_buffers_not_parameters():
    model = LeNet(preset("lenet5-1998"))
    param_names = {n for n, _ in model.named_parameters()}
    buffer_names = {n for n, _ in model.named_buffers()}
    assert not any(n.startswith("output.") for n in param_names)
    assert "output.prototypes" in buffer_names
    assert "output.prototypes" in model.state_dict()  # saved with the model
    protos = model.output.prototypes
    assert protos.shape == (10, 84)
    assert set(protos.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(r) for r in protos.tolist()}) == 10  # one distinct bitmap per class


# ---------- the C3 connection table ----------

def test_c3_table_matches_the_paper():
    assert len(C3_TABLE) == 16
    assert [set(row) for row in C3_TABLE] == PAPER_C3_ROWS
    assert sum(len(row) for row in C3_TABLE) == 60


def test_c3_connection_matrix_matches_the_paper():
    m = c3_connection_matrix()
    assert m.shape == (16, 6) and m.dtype == torch.bool
    expected = torch.tensor([[i in row for i in range(6)] for row in PAPER_C3_ROWS])
    assert torch.equal(m, expected)
    assert int(m.sum()) == 60
    assert m.sum(1).tolist() == [3] * 6 + [4] * 9 + [6]


def test_paper_c3_output_maps_ignore_unconnected_s2_maps():
    torch.manual_seed(0)
    conv = SparseConv2d(c3_connection_matrix())
    x = torch.randn(2, 6, 14, 14)
    base = conv(x).detach()
    for i in range(6):
        bumped = x.clone()
        bumped[:, i] += torch.randn(2, 14, 14)
        diff = (conv(bumped).detach() - base).abs().amax((0, 2, 3))  # per C3 map
        for j, row in enumerate(PAPER_C3_ROWS):
            if i in row:
                assert diff[j] > 1e-4, (i, j)
            else:
                assert diff[j] == 0, (i, j)


def _reference_sparse_c3(x, weight, bias, rows):
    """Slow reference: per (C3 map, S2 map) pair one single-channel conv, summed, plus the bias.

    `weight` holds the connected kernels in row-major order of the table (map 0's inputs, then map 1's, ...).
    """
    outs, k = [], 0
    for j, row in enumerate(rows):
        acc = 0
        for i in sorted(row):
            acc = acc + F.conv2d(x[:, i:i + 1], weight[k][None, None])
            k += 1
        outs.append(acc + bias[j])
    assert k == len(weight)
    return torch.cat(outs, 1)


def test_sparse_c3_matches_a_slow_per_connection_reference_outputs_and_gradients():
    torch.manual_seed(1)
    conv = SparseConv2d(c3_connection_matrix()).double()
    assert conv.weight.shape == (60, 5, 5) and conv.bias.shape == (16,)
    assert layer_params(conv) == 1_516
    x = torch.randn(3, 6, 14, 14, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    w_ref = conv.weight.detach().clone().requires_grad_(True)
    b_ref = conv.bias.detach().clone().requires_grad_(True)

    out = conv(x)
    ref = _reference_sparse_c3(x_ref, w_ref, b_ref, PAPER_C3_ROWS)
    assert out.shape == ref.shape == (3, 16, 10, 10)
    torch.testing.assert_close(out, ref)

    upstream = torch.randn_like(ref)
    (out * upstream).sum().backward()
    (ref * upstream).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)
    torch.testing.assert_close(conv.weight.grad, w_ref.grad)
    torch.testing.assert_close(conv.bias.grad, b_ref.grad)


def test_lenet5_1998_c3_uses_the_sparse_table():
    model = LeNet(preset("lenet5-1998"))
    conv = model.c3[0]
    assert isinstance(conv, SparseConv2d)
    dense = conv.dense_weight().detach()
    connected = dense.abs().amax((2, 3)) > 0  # (16, 6)
    assert torch.equal(connected, c3_connection_matrix())


# ---------- the 1998 building blocks ----------

def test_scaled_tanh_is_1_7159_tanh_two_thirds_a():
    a = torch.linspace(-6, 6, 241, dtype=torch.float64)
    expected = 1.7159 * np.tanh(2.0 * a.numpy() / 3.0)
    np.testing.assert_allclose(ScaledTanh()(a).numpy(), expected, rtol=0, atol=1e-12)
    # The paper chose the constants so that f(1) = 1 and f(-1) = -1.
    f = ScaledTanh()(torch.tensor([1.0, -1.0], dtype=torch.float64))
    np.testing.assert_allclose(f.numpy(), [1.0, -1.0], atol=1e-3)


def test_subsample_is_a_2x2_sum_times_a_coefficient_plus_a_bias_per_map():
    torch.manual_seed(2)
    layer = Subsample(3)
    assert layer_params(layer) == 6  # 2 per map
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.5, -2.0, 3.0]))
        layer.bias.copy_(torch.tensor([0.1, 0.0, -1.0]))
    x = torch.randn(2, 3, 6, 8)
    out = layer(x).detach().numpy()
    xn = x.numpy()
    expected = np.empty((2, 3, 3, 4))
    for b in range(2):
        for c in range(3):
            for r in range(3):
                for q in range(4):
                    s = xn[b, c, 2 * r:2 * r + 2, 2 * q:2 * q + 2].sum()
                    expected[b, c, r, q] = s * layer.weight[c].item() + layer.bias[c].item()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_rbf_output_is_the_squared_distance_to_each_prototype():
    torch.manual_seed(3)
    rbf = RBFOutput()
    x = torch.randn(5, 84, dtype=torch.float64)
    protos = rbf.prototypes.double()
    rbf = rbf.double()
    out = rbf(x)
    assert out.shape == (5, 10)
    for b in range(5):
        for i in range(10):
            expected = sum((x[b, j].item() - protos[i, j].item()) ** 2 for j in range(84))
            assert out[b, i].item() == pytest.approx(expected, rel=1e-12)
    # At a prototype the distance to it is zero and it is the nearest.
    at_proto = rbf(protos[7:8])
    assert at_proto[0, 7].item() == 0.0
    assert int(at_proto.argmin()) == 7


def test_rbf_loss_with_rbf_reject_is_the_papers_map_criterion():
    """Eq. 9: E = y_D + log(exp(-j) + sum_i exp(-y_i)) for RBF distances y and the constant penalty j."""
    from lenet.net.model import MAP_REJECT_PENALTY

    torch.manual_seed(5)
    j = MAP_REJECT_PENALTY
    model = LeNet(preset("lenet5-1998", rbf_reject=j))
    y = torch.rand(4, 10, dtype=torch.float64) * 20  # RBF distances
    target = torch.tensor([0, 3, 9, 3])
    loss = model.loss(model.logits(y), target)
    per_sample = [y[b, target[b]].item() + np.log(np.exp(-j) + np.exp(-y[b].numpy()).sum()) for b in range(4)]
    assert loss.item() == pytest.approx(float(np.mean(per_sample)), rel=1e-9)
    assert model.with_reject(model.logits(y)).shape == (4, 11)


def test_rbf_loss_without_rbf_reject_is_cross_entropy_on_negative_distances():
    model = LeNet(preset("lenet5-1998"))
    y = torch.rand(4, 10) * 20
    target = torch.tensor([1, 2, 3, 4])
    assert model.with_reject(model.logits(y)).shape == (4, 10)
    torch.testing.assert_close(model.loss(model.logits(y), target), F.cross_entropy(-y, target))


def test_rbf_reject_needs_an_rbf_output():
    with pytest.raises(ValueError, match="rbf_reject"):
        preset("lenet5", rbf_reject=10.0)


def test_linear_output_loss_is_cross_entropy():
    model = LeNet(preset("lenet5"))
    logits = torch.randn(6, 10)
    target = torch.randint(0, 10, (6,))
    assert model.with_reject(logits) is logits
    torch.testing.assert_close(model.loss(logits, target), F.cross_entropy(logits, target))


def test_lecun98_init_is_within_2_4_over_fan_in():
    torch.manual_seed(4)
    model = LeNet(preset("lenet5-1998"))
    checked = 0
    for module in (model.c1[0], model.c5[0], model.f6[0]):
        fan_in = module.weight[0].numel()
        bound = 2.4 / fan_in
        for p in (module.weight, module.bias):
            assert p.abs().max().item() <= bound + 1e-7
            assert p.abs().max().item() > 0.5 * bound  # really drawn from that range, not left at a default
            checked += 1
    conv = model.c3[0]
    k = 0
    for j, row in enumerate(PAPER_C3_ROWS):
        bound = 2.4 / (len(row) * 25)  # a C3 unit of map j reads len(row) 5x5 fields
        for _ in row:
            assert conv.weight[k].abs().max().item() <= bound + 1e-7, (j, k)
            k += 1
        assert abs(conv.bias[j].item()) <= bound + 1e-7, j
    assert conv.weight.abs().max().item() > 0.5 * 2.4 / 150
    assert checked == 6


def test_default_init_is_not_lecun98():
    """The bound test above can fail: PyTorch's default init exceeds 2.4 / fan_in on C5."""
    model = LeNet(preset("lenet5"))
    assert model.c5[0].weight.abs().max().item() > 2.4 / model.c5[0].weight[0].numel()


# ---------- the config ----------

@pytest.mark.parametrize("overrides, word", [
    ({"activation": "swish"}, "activation"),
    ({"pooling": "median"}, "pooling"),
    ({"input_size": 30}, "input_size"),
    ({"c3_table": "paper", "c1_channels": 8}, "table"),
    ({"c3_table": "paper", "c3_channels": 32}, "table"),
    ({"output": "rbf", "f6_units": 100}, "84"),
    ({"dropout": 1.0}, "dropout"),
    ({"std": 0.0}, "std"),
])
def test_config_rejects_invalid_settings(overrides, word):
    with pytest.raises(ValueError, match=word):
        LeNetConfig(**overrides)


def test_paper_table_with_the_right_channels_is_accepted():
    cfg = LeNetConfig(c3_table="paper")
    assert (cfg.c1_channels, cfg.c3_channels) == (6, 16)


@pytest.mark.parametrize("name", list(PRESETS))
def test_config_dict_round_trip(name):
    cfg = PRESETS[name]
    d = cfg.to_dict()
    assert json.loads(json.dumps(d)) == d  # plain JSON values: it is stored inside checkpoints
    assert LeNetConfig.from_dict(d) == cfg
    assert LeNetConfig.from_dict(json.loads(json.dumps(d))) == cfg


def test_config_from_dict_rejects_unknown_keys():
    d = PRESETS["lenet5"].to_dict()
    d["hidden_layers"] = 3
    with pytest.raises(ValueError, match="hidden_layers"):
        LeNetConfig.from_dict(d)


def test_config_is_frozen_and_preset_overrides():
    cfg = preset("lenet5", dropout=0.25)
    assert cfg.dropout == 0.25 and PRESETS["lenet5"].dropout == 0.0
    with pytest.raises(Exception):
        cfg.dropout = 0.5  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown architecture"):
        preset("alexnet")


def test_lenet5_1998_normalisation_is_the_papers():
    cfg = PRESETS["lenet5-1998"]
    background, ink = (0.0 - cfg.mean) / cfg.std, (1.0 - cfg.mean) / cfg.std
    assert background == pytest.approx(-0.1)
    assert ink == pytest.approx(1.175)
