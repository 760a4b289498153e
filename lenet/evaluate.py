"""Evaluation: loss, accuracy, confusion matrix, misclassified indices. Also `python -m lenet.evaluate`."""
from __future__ import annotations

import argparse
import json
import sys

import torch

from lenet.sources.data import Split, to_model_input
from lenet.net.model import LeNet


@torch.inference_mode()
def predict_logits(model: LeNet, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits for (N, 28, 28) images, on the model's device, in batches."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [model(to_model_input(images[i:i + batch_size].to(device), model.config))
           for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, model.config.num_classes, device=device)


def evaluate(model: LeNet, split: Split, batch_size: int = 1000) -> dict:
    logits = predict_logits(model, split.images, batch_size)
    labels = split.labels.to(logits.device)
    pred = logits.argmax(1)
    k = model.config.num_classes
    confusion = torch.bincount(labels * k + pred, minlength=k * k).view(k, k)  # rows: true, cols: predicted
    wrong = (pred != labels).nonzero().flatten()
    n = len(labels)
    return {
        "n": n,
        "loss": model.loss(logits, labels).item() if n else float("nan"),
        "accuracy": (pred == labels).float().mean().item() if n else float("nan"),
        "confusion": confusion.cpu().tolist(),
        "per_class_accuracy": (confusion.diag() / confusion.sum(1).clamp(min=1)).cpu().tolist(),
        "misclassified": wrong.cpu().tolist(),
        "predictions": pred.cpu().tolist(),
    }


def main(argv=None) -> int:
    from lenet.net.checkpoint import CheckpointError, load_checkpoint
    from lenet.sources.data import DATASETS, DatasetUnavailable, default_data_dir, load_split

    p = argparse.ArgumentParser(prog="python -m lenet.evaluate", description="Evaluate a LeNet checkpoint.")
    p.add_argument("checkpoint")
    p.add_argument("--dataset", choices=list(DATASETS), help="default: the dataset the checkpoint was trained on")
    p.add_argument("--data-dir", default=default_data_dir(), help="torchvision-layout folder (env LENET_DATA_DIR)")
    p.add_argument("--split", choices=["test", "train"], default="test")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    try:
        model, meta = load_checkpoint(args.checkpoint)
        dataset = args.dataset or meta.get("dataset", "mnist")
        split = load_split(dataset, train=args.split == "train", data_dir=args.data_dir)
    except (CheckpointError, DatasetUnavailable, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    r = evaluate(model, split)
    summary = {"checkpoint": args.checkpoint, "arch": meta.get("arch"), "dataset": dataset, "split": args.split,
               "n": r["n"], "loss": r["loss"], "accuracy": r["accuracy"], "error_rate": 1 - r["accuracy"],
               "trainable_parameters": model.num_parameters(), "per_class_accuracy": r["per_class_accuracy"],
               "confusion": r["confusion"]}
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{args.checkpoint}: {summary['arch']} on {dataset} {args.split} ({r['n']} images)")
    print(f"accuracy {r['accuracy']:.2%}  error {1 - r['accuracy']:.2%}  loss {r['loss']:.4f}  "
          f"trainable parameters {summary['trainable_parameters']:,}")
    print("per class: " + "  ".join(f"{i}:{a:.1%}" for i, a in enumerate(r["per_class_accuracy"])))
    print("confusion (rows true, columns predicted):")
    for i, row in enumerate(r["confusion"]):
        print(f"  {i} " + " ".join(f"{v:5d}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
