"""Epoch speed on full MNIST: our trainer vs the seed tutorials' DataLoader pipeline, and the machine's limit.

(a) ours: lenet.training.trainer.Trainer(TrainConfig(dataset="mnist", epochs=1, batch_size=B)) with every other
    setting at its default (the CLI's and the app's recipe, incl. its precision: bf16 autocast + channels-last
    on CPUs with native bfloat16). The clock is the trainer's own: its `elapsed` at the last "step" event of
    epoch 1, i.e. from the start of run() through every training step (all 60,000 images), excluding the
    end-of-epoch test evaluation, which is timed separately. Data loading is outside the clock.
(b) the seed-style baseline: torchvision.datasets.MNIST with transforms.Compose([Resize(32),
    ToTensor(), Normalize((0.1307,), (0.3081,))]) through a DataLoader(batch_size=64, shuffle=True,
    num_workers=0), the same lenet5 model, Adam 1e-3, CrossEntropyLoss, float32.
    With --baseline-fraction F < 1 only the first F of the epoch's batches are timed and extrapolated.
(c) the physical limit: the multiply-adds of one training image (forward: every convolution and full
    connection, counted with hooks; backward: twice that, minus the input gradient of the first layer),
    times our images/s, against the machine's measured matrix-multiply peak (a 2048x2048 matmul in float32,
    and in bfloat16 where the CPU has it natively; same threads). It says how much of what the cores can
    compute the pipeline uses. The first line names the CPU class (bench.common.machine): every figure belongs to it.
    Emulating an AVX2-only CPU, cap MKL too (MKL_ENABLE_INSTRUCTIONS=AVX2): MKL runs the matmuls, the peak's
    included; ONEDNN_MAX_CPU_ISA and ATEN_CPU_CAPABILITY do not reach it.

Command (from the repo root):
    .venv/bin/python -m bench.training.epoch_speed --data-dir /work/shared/data
    .venv/bin/python -m bench.training.epoch_speed --data-dir /work/shared/data --quick   # default batch only, 5% baseline
    LENET_PRECISION=fp32 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
        .venv/bin/python -m bench.training.epoch_speed --data-dir /work/shared/data --quick   # as an AVX2-only CPU trains
"""
import argparse
import math
import os
import sys
import time

from bench import common  # noqa: E402  (puts the repository on sys.path)

import torch  # noqa: E402

from lenet.net.config import preset  # noqa: E402
from lenet.training.device import cpu_has_native_bf16  # noqa: E402
from lenet.net.model import LeNet  # noqa: E402
from lenet.training.config import TrainConfig
from lenet.training.trainer import Trainer  # noqa: E402



def training_flops(model: torch.nn.Module) -> dict:
    """FLOPs (2 x multiply-adds) of one image through the convolutions and full connections: forward, and
    forward + backward (weight gradients everywhere, input gradients everywhere but the first layer)."""
    macs = []

    def hook(module, inp, out):
        if isinstance(module, torch.nn.Conv2d) or type(module).__name__ == "SparseConv2d":
            k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            macs.append(out[0].numel() * module.in_channels * k * k)
        elif isinstance(module, torch.nn.Linear):
            macs.append(module.in_features * module.out_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(torch.zeros(1, 1, model.config.input_size, model.config.input_size))
    for h in handles:
        h.remove()
    forward = 2 * sum(macs)
    return {"forward": forward, "train": 3 * forward - 2 * macs[0]}


def matmul_peak(dtype: torch.dtype, n: int = 2048, seconds: float = 1.5) -> float:
    """Best FLOP/s of an n x n matmul over `seconds` (best of many: the least disturbed by other load)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t))
    return best


def time_ours(data_dir: str, batch_size: int, seed: int) -> dict:
    t = time.perf_counter()
    trainer = Trainer(TrainConfig(dataset="mnist", data_dir=data_dir, batch_size=batch_size, epochs=1, seed=seed))
    load = time.perf_counter() - t
    first_step = last_step = test_eval = epoch = None
    for ev in trainer.run():
        if ev.type == "step" and ev.epoch == 1:
            first_step = first_step if first_step is not None else ev.elapsed
            last_step = ev.elapsed
        elif ev.type == "eval" and ev.split == "test" and ev.epoch == 1:
            test_eval = ev
        elif ev.type == "epoch" and ev.epoch == 1:
            epoch = ev
    return {"batch_size": batch_size, "load": load, "train": last_step, "first_step": first_step,
            "eval": test_eval.elapsed - last_step, "epoch_event": epoch.elapsed,
            "test_accuracy": test_eval.accuracy, "train_loss": epoch.train_loss, "n": len(trainer.train),
            "device": str(trainer.device), "precision": trainer.fast.name, "model": trainer.model.cpu()}


def time_baseline(data_dir: str, fraction: float, seed: int) -> dict:
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    tf = transforms.Compose([transforms.Resize(32), transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    t = time.perf_counter()
    ds = datasets.MNIST(data_dir, train=True, download=False, transform=tf)
    loader = DataLoader(ds, batch_size=64, shuffle=True, num_workers=0)
    load = time.perf_counter() - t
    model = LeNet(preset("lenet5"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n_batches = len(loader)
    limit = n_batches if fraction >= 1 else max(1, math.ceil(fraction * n_batches))
    model.train()
    seen, loss_sum = 0, 0.0
    t0 = time.perf_counter()
    for i, (x, y) in enumerate(loader):
        if i >= limit:
            break
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        seen += len(y)
        loss_sum += loss.item() * len(y)
    timed = time.perf_counter() - t0
    return {"load": load, "timed": timed, "batches": limit, "n_batches": n_batches, "images": seen,
            "epoch": timed * len(ds) / seen, "extrapolated": seen < len(ds), "train_loss": loss_sum / seen}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("LENET_DATA_DIR"),
                   help="torchvision-layout folder with MNIST/raw (env LENET_DATA_DIR)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[TrainConfig().batch_size, 128],
                   help="for our trainer (default: the recipe's, and 128)")
    p.add_argument("--baseline-fraction", type=float, default=1.0,
                   help="time only this fraction of the baseline's epoch and extrapolate")
    p.add_argument("--quick", action="store_true", help="our trainer at bs 256 only; 5%% of the baseline epoch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = p.parse_args()
    if not args.data_dir:
        sys.exit("error: full MNIST is needed: pass --data-dir /work/shared/data (or set LENET_DATA_DIR)")
    if args.quick:
        args.batch_sizes = [TrainConfig().batch_size]
        args.baseline_fraction = min(args.baseline_fraction, 0.05)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, os.cpu_count() {os.cpu_count()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"machine: {common.machine()}")

    ours = []
    for bs in args.batch_sizes:
        r = time_ours(args.data_dir, bs, args.seed)
        ours.append(r)
        print(f"ours     bs {bs:>4}: epoch (train only) {r['train']:6.2f} s = {r['n'] / r['train']:7.0f} images/s"
              f"  | test eval {r['eval']:.2f} s, epoch event at {r['epoch_event']:.2f} s, data load "
              f"{r['load']:.2f} s (outside the clock) | first step event at {r['first_step']:.2f} s"
              f" | test acc {r['test_accuracy']:.2%} on {r['device']}, {r['precision']}", flush=True)
    b = time_baseline(args.data_dir, args.baseline_fraction, args.seed)
    how = (f"EXTRAPOLATED from {b['batches']}/{b['n_batches']} batches ({b['images']} images) timed in "
           f"{b['timed']:.2f} s" if b["extrapolated"] else f"measured over the whole epoch ({b['n_batches']} batches)")
    print(f"baseline bs   64: epoch {b['epoch']:6.2f} s = {b['images'] / b['timed']:7.0f} images/s  | {how}; "
          f"dataset setup {b['load']:.2f} s | mean train loss {b['train_loss']:.3f}")
    print()
    for r in ours:
        speedup = b["epoch"] / r["train"]
        print(f"speed-up, ours bs {r['batch_size']} vs baseline bs 64: {speedup:.1f}x")
    if b["extrapolated"]:
        print("(the baseline's epoch time is extrapolated from part of an epoch)")

    flops = training_flops(ours[0]["model"])
    peaks = {"float32": matmul_peak(torch.float32)}
    if cpu_has_native_bf16():  # emulated bfloat16 has no peak worth comparing with
        peaks["bfloat16"] = matmul_peak(torch.bfloat16)
    print(f"\nthe limit: lenet5 needs {flops['forward'] / 1e6:.2f} MFLOP per image forward, "
          f"{flops['train'] / 1e6:.2f} MFLOP per training image (forward + backward, convolutions and full "
          f"connections)")
    print("matmul peak on this machine, same threads: " +
          ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in peaks.items()))
    for r in ours:
        rate = r["n"] / r["train"]
        used = rate * flops["train"]
        print(f"ours bs {r['batch_size']}: {rate:,.0f} images/s x {flops['train'] / 1e6:.2f} MFLOP = "
              f"{used / 1e9:.1f} GFLOP/s = " + ", ".join(f"{used / v:.1%} of the {k} peak" for k, v in peaks.items())
              + f" (it ran in {r['precision']})")
    base_rate = b["images"] / b["timed"]
    print(f"baseline: {base_rate:,.0f} images/s = {base_rate * flops['train'] / 1e9:.1f} GFLOP/s "
          f"= {base_rate * flops['train'] / peaks['float32']:.1%} of the float32 peak")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
