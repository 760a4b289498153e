"""Where one training epoch's time goes: torch.profiler over the default recipe's Trainer.run().

Runs `--steps` training steps of full MNIST (default: one epoch) plus one test evaluation through the real
trainer (the CLI's and the app's code path) under torch.profiler, then prints the operators by self CPU time
and the same time grouped into what it is for: convolutions (forward / backward), pooling, activations, the
linear layers, the loss, the optimizer, batch assembly (gather, scale, pad, normalise, layout copies) and
the test evaluations. Shares are what matters; on a shared machine the absolute times are inflated.

    .venv/bin/python -m bench.training.profile_epoch --data-dir /work/shared/data
    LENET_PRECISION=fp32 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 \\
        .venv/bin/python -m bench.training.profile_epoch --data-dir /work/shared/data   # as an AVX2-only CPU trains
"""
import argparse
import os
import sys
import time
from collections import defaultdict

from bench import common  # noqa: E402  (puts the repository on sys.path)

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile, record_function  # noqa: E402

from lenet.sources.data import load_split  # noqa: E402
from lenet.training.config import TrainConfig
from lenet.training.trainer import Trainer  # noqa: E402

# operator (aten name, without "aten::") -> group
GROUPS = {
    "conv backward": {"convolution_backward", "mkldnn_convolution_backward"},
    "conv forward": {"mkldnn_convolution", "_convolution", "convolution", "conv2d"},
    "pool backward": {"max_pool2d_with_indices_backward"},
    "pool forward": {"max_pool2d_with_indices", "max_pool2d"},
    "activation (relu and its backward)": {"relu", "relu_", "clamp_min", "clamp_min_", "threshold_backward"},
    "linear layers (matmuls, fwd + bwd)": {"mm", "addmm", "linear", "matmul", "t", "sum"},
    "loss (fwd + bwd)": {"cross_entropy", "log_softmax", "_log_softmax", "nll_loss", "nll_loss_forward",
                         "nll_loss_backward", "_log_softmax_backward_data", "nll_loss_nd"},
    "optimizer (fused Adam, zero_grad)": {"_fused_adam_", "_fused_adam"},
    "batch assembly (gather, scale, pad, normalise)": {"index", "div", "div_", "sub", "constant_pad_nd", "pad",
                                                       "_to_copy", "to", "unsqueeze"},
}


def group_of(name: str) -> str:
    op = name.split("::", 1)[-1]
    for group, ops in GROUPS.items():
        if op in ops:
            return group
    return "other: " + name


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("LENET_DATA_DIR"))
    p.add_argument("--steps", type=int, help="training steps to profile (default: one epoch)")
    p.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    p.add_argument("--rows", type=int, default=25)
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice; on a busy machine 1 thread "
                                               "shows the shares best: 2 threads wait for each other)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.data_dir:
        sys.exit("error: full MNIST is needed: pass --data-dir /work/shared/data (or set LENET_DATA_DIR)")
    splits = load_split("mnist", True, args.data_dir), load_split("mnist", False, args.data_dir)
    trainer = Trainer(TrainConfig(dataset="mnist", data_dir=args.data_dir, epochs=2, batch_size=args.batch_size),
                      train=splits[0], test=splits[1])
    steps = args.steps or trainer.steps_per_epoch
    print(f"torch {torch.__version__}; machine: {common.machine(trainer.fast.name)}; load average "
          f"{os.getloadavg()[0]:.1f}")
    run = trainer.run()
    next(run)  # start event; the model is prepared (memory layout)
    # the trainer's own steps, in its own order, each inside a named range; then one test evaluation
    order = torch.randperm(len(trainer.train), generator=trainer.gen)
    from lenet.training.trainer import _Run

    r = _Run(opt=trainer._optimizer(), sched=None, sched_when=None, t0=time.perf_counter(), shown=0.0, good={})
    bs = trainer.cfg.batch_size
    for i in range(3):  # warm-up: oneDNN primitives are created on first use
        trainer._train_step(r, order[i * bs:(i + 1) * bs])
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t = time.perf_counter()
        for i in range(steps):
            idx = order[(i % trainer.steps_per_epoch) * bs:(i % trainer.steps_per_epoch + 1) * bs]
            with record_function("## batch assembly"):
                x, y = trainer._batch(idx)
            with record_function("## forward"):
                with trainer.fast.autocast():
                    out = trainer.model.output_scores(x)
                scores = trainer.model.scores(out.float())
                loss = trainer.model.loss(scores, y, trainer.cfg.label_smoothing)
            with record_function("## backward"):
                r.opt.zero_grad(set_to_none=True)
                loss.backward()
            with record_function("## optimizer"):
                r.opt.step()
        train_s = time.perf_counter() - t
        t = time.perf_counter()
        with record_function("## test evaluation"):
            from lenet.evaluate import evaluate
            evaluate(trainer.model, trainer.test)
        eval_s = time.perf_counter() - t
    run.close()
    print(f"{steps} steps of {bs}: {train_s:.2f} s wall ({steps * bs / train_s:,.0f} images/s); one test evaluation "
          f"(10,000 images): {eval_s:.2f} s wall\n")
    events = prof.key_averages()
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows))
    ranges = {e.key: e.cpu_time_total for e in events if e.key.startswith("## ")}
    total = sum(ranges.values())
    print("by stage (wall inside the profiler, incl. its overhead):")
    for k, v in sorted(ranges.items(), key=lambda kv: -kv[1]):
        print(f"  {k[3:]:<18} {v / 1e6:7.2f} s  {v / total:6.1%}")
    groups = defaultdict(float)
    for e in events:
        if e.key.startswith("## "):
            continue
        groups[group_of(e.key)] += e.self_cpu_time_total
    total = sum(groups.values())
    print("\nby kind of operator (self CPU time, training and evaluation together):")
    for k, v in sorted(groups.items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {k[:60]:<60} {v / 1e6:7.2f} s  {v / total:6.1%}")


if __name__ == "__main__":
    main()
