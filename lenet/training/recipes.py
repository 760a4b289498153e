"""Recipes are files: `recipes/NAME.toml` holds every stage that made a checkpoint (train, fine-tune from the
previous stage, calibrate), and `recipes/default.toml` what the CLI and the Train tab start from.

    python -m lenet.train --recipe recipes/lenet5-fashion-mnist.toml --dry-run     # the stages, resolved
    python -m lenet.train --recipe recipes/lenet5-fashion-mnist.toml --data-dir DIR # replay them

A stage's keys are `lenet.training.config.TrainConfig` fields (kind "train"; `mix = {negatives = 0.25}`, and the
older spellings of its entries, `negatives = true`, as lenet.sources.mix reads them) or `python -m lenet.calibrate`
options (kind "calibrate", applied to the previous stage's checkpoint). `init = "STAGE"` starts from that stage's
output.
Each checkpoint a replay writes records {"file", "stage"} of the recipe it came from.
"""
from __future__ import annotations

import dataclasses
import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lenet.sources import mix

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "recipes"
DEFAULT = RECIPES / "default.toml"
KINDS = ("train", "calibrate")
CALIBRATE_OPTIONS = ("score", "digit_reject", "negatives", "heads", "head_samples", "hand_letters", "small_pictures",
                     "real_hands", "real_digit_reject")


class RecipeError(ValueError):
    """A recipe file that cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class Stage:
    name: str
    kind: str
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    path: Path
    stages: tuple[Stage, ...]
    checkpoint: str | None = None  # the shipped file it made, if any
    arch_overrides: dict = field(default_factory=dict)  # [arch.NAME] tables: an architecture's own settings

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def relative_path(self) -> str:
        try:
            return str(self.path.resolve().relative_to(ROOT))
        except ValueError:
            return str(self.path)


def load(path: str | Path) -> Recipe:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RecipeError(f"{path}: {e}") from None
    raw = data.get("stage")
    if not isinstance(raw, list) or not raw:
        raise RecipeError(f"{path}: no [[stage]] tables")
    stages, names = [], set()
    for i, s in enumerate(raw):
        s = dict(s)
        name, kind = s.pop("name", f"stage{i + 1}"), s.pop("kind", "train")
        if kind not in KINDS:
            raise RecipeError(f"{path}: stage {name!r} has kind {kind!r}; expected one of {KINDS}")
        if name in names:
            raise RecipeError(f"{path}: two stages are named {name!r}")
        if kind == "calibrate" and not stages:
            raise RecipeError(f"{path}: stage {name!r} calibrates, but no stage before it trains a model")
        init = s.get("init")
        if kind == "train" and init is not None and init not in names:
            raise RecipeError(f"{path}: stage {name!r} starts from {init!r}, which is not an earlier stage")
        unknown = set(s) - (set(CALIBRATE_OPTIONS) if kind == "calibrate" else _train_fields())
        if unknown:
            raise RecipeError(f"{path}: stage {name!r} has unknown settings {sorted(unknown)}")
        names.add(name)
        stages.append(Stage(name, kind, s))
    return Recipe(path, tuple(stages), data.get("checkpoint"), dict(data.get("arch", {})))


def _train_fields() -> set[str]:
    from lenet.training.config import TrainConfig

    return {f.name for f in dataclasses.fields(TrainConfig)} | set(mix.OLD_KEYS)


def train_settings(stage: Stage) -> dict:
    """A train stage's TrainConfig keyword arguments (lists become the tuples TrainConfig keeps; the older
    spellings of mix entries join its mix)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in mix.upgrade(stage.settings).items()}


@functools.lru_cache(maxsize=None)
def default_recipe() -> Recipe:
    return load(DEFAULT)


def defaults(arch: str | None = None) -> dict:
    """The default recipe's settings, with `arch`'s own where it has them: where every run starts."""
    r = default_recipe()
    base = train_settings(r.stages[0])
    arch = arch or base.get("arch")
    own = {k: tuple(v) if isinstance(v, list) else v for k, v in r.arch_overrides.get(arch, {}).items()}
    return {**base, "arch": arch, **own}


def resolve(recipe: Recipe, data_dir: str | None, out_dir: Path, device: str | None = None) -> list[dict]:
    """Each stage as it will run: {"stage", "kind", "out", and "config" (a TrainConfig) or "argv" (calibrate's)}.
    Stage outputs go to out_dir/STAGE.safetensors; `init` names an earlier stage's output."""
    from lenet.training.config import TrainConfig

    plan, outputs = [], {}
    for stage in recipe.stages:
        out = out_dir / f"{stage.name}.safetensors"
        if stage.kind == "train":
            settings = train_settings(stage)
            if settings.get("init"):
                settings["init"] = str(outputs[settings["init"]])
            settings.update(data_dir=data_dir, **({"device": device} if device else {}))
            try:
                plan.append({"stage": stage.name, "kind": "train", "out": out, "config": TrainConfig(**settings)})
            except (TypeError, ValueError) as e:
                raise RecipeError(f"{recipe.path}: stage {stage.name!r}: {e}") from None
        else:  # calibrate the previous stage's checkpoint, written to this stage's file
            argv = [str(plan[-1]["out"]), "--out", str(out)] + (["--data-dir", data_dir] if data_dir else [])
            for k, v in stage.settings.items():
                flag = "--" + k.replace("_", "-")
                argv += [flag] if v is True else [] if v is False else [flag, str(v)]
            plan.append({"stage": stage.name, "kind": "calibrate", "out": out, "argv": argv})
        outputs[stage.name] = out
    return plan


def reuse(plan: list[dict], files: dict[str, str]) -> list[dict]:
    """`--reuse STAGE=FILE`: STAGE is not run, FILE stands for its output (e.g. the shipped checkpoint, whose
    weights are the last train stage's: calibration changes only its metadata); the stages only it needed are
    dropped. A fine-tuning stage added to a recipe then replays from the shipped file in minutes."""
    unknown = set(files) - {s["stage"] for s in plan}
    if unknown:
        raise RecipeError(f"--reuse names stages the recipe lacks: {sorted(unknown)}")
    for name, f in files.items():
        if not Path(f).is_file():
            raise RecipeError(f"--reuse {name}={f}: no such file")
    plan = [{**s, "kind": "reuse", "file": files[s["stage"]]} if s["stage"] in files else s for s in plan]
    needed, by_out = set(), {str(s["out"]): i for i, s in enumerate(plan)}
    want = [len(plan) - 1]
    while want:
        i = want.pop()
        if i in needed:
            continue
        needed.add(i)
        s = plan[i]
        if s["kind"] == "train" and s["config"].init and s["config"].init in by_out:
            want.append(by_out[s["config"].init])
        elif s["kind"] == "calibrate":
            want.append(i - 1)
    return [s for i, s in enumerate(plan) if i in needed]


def replay_main(args) -> int:
    """`python -m lenet.train --recipe FILE [--dry-run]`: every stage in order; the last one's checkpoint is copied
    to --out (or left in runs/RECIPE/)."""
    import json
    import shutil
    import sys

    from lenet import calibrate
    from lenet.sources.data import DatasetUnavailable
    from lenet.sources.hand_fonts import FontUnavailable
    from lenet.train import run_and_save
    from lenet.training.trainer import Trainer

    try:
        recipe = load(args.recipe)
        out_dir = ROOT / "runs" / recipe.name
        plan = resolve(recipe, args.data_dir, out_dir, None if args.device == "auto" else args.device)
        plan = reuse(plan, dict(r.split("=", 1) for r in (getattr(args, "reuse", None) or [])))
    except (RecipeError, KeyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for step in plan:
        shown = (dataclasses.asdict(step["config"]) if step["kind"] == "train"
                 else step["file"] if step["kind"] == "reuse" else step["argv"])
        print(json.dumps({"recipe": recipe.relative_path, "stage": step["stage"], "kind": step["kind"],
                          "out": str(step["out"]), "settings": shown}, default=str))
    if args.dry_run:
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for step in plan:
        record = {"recipe": {"file": recipe.relative_path, "stage": step["stage"]}}
        if step["kind"] == "reuse":
            shutil.copyfile(step["file"], step["out"])
            print(f"stage {step['stage']}: {step['file']} (reused)")
        elif step["kind"] == "train":
            command = f"python -m lenet.train --recipe {recipe.relative_path} (stage {step['stage']})"
            try:
                trainer = Trainer(step["config"])
            except (ValueError, DatasetUnavailable, FontUnavailable) as e:
                print(f"error: stage {step['stage']}: {e}", file=sys.stderr)
                return 2
            if not run_and_save(trainer, str(step["out"]), command, args.json, extra_meta=record):
                return 1
        elif calibrate.main(step["argv"], extra_meta=record) != 0:
            return 1
    if args.out:
        shutil.copyfile(plan[-1]["out"], args.out)
        print(f"saved {args.out}")
    return 0
