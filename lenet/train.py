"""`python -m lenet.train`: train a LeNet, or replay a recipe's stages, and save a checkpoint.

    python -m lenet.train --dataset mnist --out my.safetensors
    python -m lenet.train --recipe recipes/lenet5-fashion-mnist.toml [--dry-run]

One JSON event per line with --json (lenet.training.events, as to_json() gives them), a progress bar otherwise.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from lenet.net.config import PRESETS
from lenet.sources.augment import AFFINE_PRESETS
from lenet.sources.data import DATASETS, default_data_dir
from lenet.sources.hand_fonts import FontUnavailable
from lenet.sources.mix import GROUPS, OLD_FLAGS, SOURCES
from lenet.training.config import OPTIMIZERS, SCHEDULES, TrainConfig, recipe
from lenet.training.device import PRECISIONS
from lenet.training.events import Done, EpochEnd, Failed, Step
from lenet.training.trainer import Trainer


def mix_entries(text: str) -> dict:
    """`negatives=0.25,optdigits` -> {"negatives": 0.25, "optdigits": True} (True: the source's default share)."""
    entries = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, share = item.partition("=")
        try:
            entries[name.strip().replace("-", "_")] = float(share) if share.strip() else True
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r}: a share is a number, as in negatives=0.25") from None
    return entries


class AddToMix(argparse.Action):
    """--mix and the older flags that spell one of its entries (--negatives, --style-share ...) add to one mix. A
    share given wins over a bare name in either order: `--style-share 0.05 --styles` is styles at 0.05."""

    def __call__(self, parser, namespace, values, option_string=None):
        mix = dict(getattr(namespace, self.dest, None) or {})
        mix.update((k, v) for k, v in (values or self.const).items() if v is not True or k not in mix)
        setattr(namespace, self.dest, mix)


def mix_help() -> str:
    sources = "; ".join(f"{s.name}={s.default:g} ({s.unit}): {s.described}" for s in SOURCES.values())
    groups = "; ".join(f"{name} = {', '.join(names)}" for name, names in GROUPS.items())
    return (f"what to learn from beyond the dataset (none by default): NAME=SHARE pairs, and a bare NAME for its "
            f"default share. The sources, at their default shares: {sources}. Groups: {groups}").replace("%", "%%")


def build_parser() -> argparse.ArgumentParser:
    d = recipe()
    p = argparse.ArgumentParser(prog="python -m lenet.train", description="Train a LeNet and save a checkpoint.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--recipe", metavar="TOML", help="replay a recipe file's stages (recipes/*.toml); with it only "
                                                    "--data-dir, --device, --out, --json and --dry-run apply")
    p.add_argument("--dry-run", action="store_true", help="with --recipe: print the stages' resolved settings")
    p.add_argument("--reuse", action="append", metavar="STAGE=FILE",
                   help="with --recipe: take STAGE's output from FILE instead of running it (and the stages only it "
                        "needed), e.g. styles-and-writers=checkpoints/lenet5-mnist.safetensors")
    p.add_argument("--arch", choices=list(PRESETS), default=d.arch)
    p.add_argument("--dataset", choices=list(DATASETS), default=d.dataset)
    p.add_argument("--data-dir", default=default_data_dir(), help="torchvision-layout folder (env LENET_DATA_DIR)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, help=f"learning rate (the peak for onecycle); default {d.lr:g}, "
                                            "or the architecture's own (recipes/default.toml)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    p.add_argument("--betas", type=float, nargs=2, metavar=("B1", "B2"),
                   help=f"Adam's betas; default {d.betas[0]:g} {d.betas[1]:g}, or the architecture's own")
    p.add_argument("--momentum", type=float, default=d.momentum)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    p.add_argument("--warmup", type=float, default=d.warmup, help="onecycle: share of the steps rising to the peak")
    p.add_argument("--label-smoothing", type=float,
                   help=f"default {d.label_smoothing:g}, or the architecture's own")
    p.add_argument("--augment", action="store_true", help="random affine distortions, as in the paper")
    p.add_argument("--affine", choices=list(AFFINE_PRESETS), default=d.affine,
                   help="with --augment: 'paper' = translation, scaling, squeezing, shear, no rotation")
    p.add_argument("--val-split", type=float, default=d.val_split)
    p.add_argument("--early-stopping", type=int, default=d.early_stopping, metavar="PATIENCE")
    p.add_argument("--no-keep-best", dest="keep_best", action="store_false")
    p.add_argument("--map-criterion", action="store_true",
                   help="RBF models: the paper's MAP loss (Eq. 9) with a 'none of these' class")
    p.add_argument("--mix", type=mix_entries, action=AddToMix, metavar="NAME[=SHARE],...", help=mix_help(),
                   default=argparse.SUPPRESS)
    p.add_argument("--init", metavar="CHECKPOINT", help="start from this checkpoint's weights (same --arch)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda or mps")
    p.add_argument("--final-evals", type=int, default=d.final_evals,
                   help="test evaluations in the last epoch, evenly spaced")
    p.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                   help="auto: bfloat16 autocast on CPUs with native bfloat16, float32 otherwise")
    p.add_argument("--out", help="checkpoint path (.safetensors)")
    p.add_argument("--json", action="store_true", help="print one JSON object per event")
    old = p.add_argument_group("older spellings of --mix entries")
    for name in OLD_FLAGS:
        old.add_argument("--" + name.replace("_", "-"), action=AddToMix, nargs=0, dest="mix", const={name: True},
                         default=argparse.SUPPRESS, help=f"--mix {name}")
    old.add_argument("--style-share", type=lambda v: {"styles": float(v)}, action=AddToMix, dest="mix",
                     metavar="SHARE", default=argparse.SUPPRESS, help="--mix styles=SHARE")
    old.add_argument("--canvas-augment", nargs="?", type=lambda v: mix_entries("canvas" if v == "all" else v),
                     const={"canvas": True}, action=AddToMix, dest="mix", metavar="LIST", default=argparse.SUPPRESS,
                     help="--mix canvas (all four distortions), or --mix LIST")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The options given, and the architecture's defaults (recipes/default.toml) for those that were not."""
    opts = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}
    opts = {k: v for k, v in opts.items() if v is not None}  # not given: recipe() or TrainConfig decides
    if "betas" in opts:
        opts["betas"] = tuple(opts["betas"])
    return recipe(**opts)


def run_and_save(trainer: Trainer, out: str | None, command: str, json_events: bool = False,
                 extra_meta: dict | None = None) -> bool:
    """Run a trainer to its end, printing its events (JSON lines, or a progress bar and one line per epoch),
    and save the checkpoint to `out` unless the run failed. True when it succeeded."""
    from lenet.net.checkpoint import save_checkpoint

    bar = None
    if not json_events:
        from tqdm import tqdm
        bar = tqdm(total=trainer.steps_per_epoch * trainer.cfg.epochs, unit="step", dynamic_ncols=True)
    failed = False
    for ev in trainer.run():
        if json_events:
            print(json.dumps(ev.to_json()), flush=True)
        elif isinstance(ev, Step):
            bar.update(ev.step - bar.n)
            bar.set_postfix(epoch=ev.epoch, loss=f"{ev.loss:.4f}", acc=f"{ev.accuracy:.3f}",
                            img_s=f"{ev.images_per_s:.0f}")
        elif isinstance(ev, EpochEnd):
            extra = f"  val {ev.val_accuracy:.2%}" if ev.val_accuracy is not None else ""
            bar.write(f"epoch {ev.epoch}: train loss {ev.train_loss:.4f} acc {ev.train_accuracy:.2%}"
                      f"{extra}  test {ev.test_accuracy:.2%}  ({ev.elapsed:.1f}s)")
        elif isinstance(ev, (Done, Failed)):
            if bar:
                bar.close()
            failed = isinstance(ev, Failed) or ev.failed
            msg = ev.message if isinstance(ev, Failed) else ev.failure or (
                f"done ({ev.reason}): test accuracy {ev.test_accuracy:.2%}, "
                f"error {1 - ev.test_accuracy:.2%}, {ev.elapsed:.1f}s")
            if failed and out:
                msg += f" Not saved to {out}."
            print(msg, file=sys.stderr if failed else sys.stdout)
    if out and not failed:
        path = save_checkpoint(out, trainer.model.cpu(), {**trainer.meta(command), **(extra_meta or {})})
        if not json_events:
            print(f"saved {path}")
    return not failed


def main(argv=None) -> int:
    from lenet.sources.data import DatasetUnavailable

    args = build_parser().parse_args(argv)
    if args.recipe:
        from lenet.training.recipes import replay_main

        return replay_main(args)
    command = "python -m lenet.train " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        trainer = Trainer(config_from_args(args))
    except (ValueError, DatasetUnavailable, FontUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if run_and_save(trainer, args.out, command, args.json) else 1


if __name__ == "__main__":
    sys.exit(main())
