"""Watching it learn: the pinned digit's reading, C1's kernels and the confusion matrix at any snapshot of a
run, and the test images behind a confusion cell."""
from __future__ import annotations

import html

import numpy as np

from lenet.sources.data import Split, dataset_info, load_split
from lenet.reading.inference import LoadedModel, frame
from lenet.present.render import confusion_html, gray, maps_html, percent, png_data_url, prob_bars_html, upscale
from lenet.present.train_view import WATCH_DRAWING
from lenet.present.watch import EvalSnapshot, Pinned, RunHistory


def pinned_digit(choice: str, canvas, test_class: str, dataset: str) -> Pinned | None:
    """The digit the Train tab reads at every model update: the visitor's drawing, or the first test image
    of a class from the run's own test set (the bundled sample's, so it is there at once)."""
    if choice == WATCH_DRAWING:
        digit = frame(canvas)  # as read() frames it
        return None if digit is None else Pinned(digit, "your drawing")
    info = dataset_info(dataset)
    sample = load_split(dataset if info.sample else f"{dataset}-sample", train=False)
    classes = list(info.classes)
    k = classes.index(test_class) if test_class in classes else 0
    hits = (sample.labels == k).nonzero().flatten()
    index = int(hits[0]) if len(hits) else 0
    return Pinned(sample.images[index].numpy().astype(np.float32) / 255, f"test image #{index}",
                  classes[int(sample.labels[index])])


def class_names(dataset: str) -> list[str]:
    return list(dataset_info(dataset).classes)


def kernels_of(lm: LoadedModel) -> np.ndarray:
    return lm.model.c1[0].weight.detach()[:, 0].numpy()


def watch_html(history: RunHistory | None, index: int | None = None) -> str:
    """One snapshot: the pinned digit's ten probabilities and the C1 kernels at that moment."""
    if history is None or not history.snapshots:
        return ('<div class="watch-empty">While a run trains, the digit you pin here is read again at every model '
                'update, and C1’s kernels are drawn as they change.</div>')
    index = len(history.snapshots) - 1 if index is None else int(np.clip(index, 0, len(history.snapshots) - 1))
    snap = history.snapshots[index]
    when = "final model" if snap.final else f"epoch {snap.epoch:.2f} · step {snap.step:,}"
    parts = [f'<p class="watch-when">{when}</p><div class="watch">']
    pin = history.pinned
    if pin is None:
        parts.append('<p class="fmap-note watch-digit">No digit pinned: nothing was drawn in Draw when this run '
                     'started. Pick “a test digit of class” to watch one being read.</p>')
    if pin is not None and snap.probs is not None:
        top = int(snap.probs.argmax())
        truth = f" · true class <b>{html.escape(pin.label)}</b>" if pin.label is not None else ""
        parts.append(
            f'<figure class="watch-digit"><img class="px" src="{png_data_url(upscale(gray(pin.image), 3))}" '
            f'width="84" height="84" alt="the pinned digit: {html.escape(pin.title)}">'
            f'<figcaption>{html.escape(pin.title)}{truth}<br>reads <b class="big">{html.escape(history.classes[top])}'
            f'</b> {percent(float(snap.probs[top]))}</figcaption></figure>'
            + prob_bars_html(snap.probs, history.classes, top))
    parts.append('<div class="watch-kernels">' + maps_html(
        "k1", snap.kernels, f"C1 kernels · the {len(snap.kernels)} 5×5 weight patterns (red +, blue −)", tile_px=44)
        + "</div></div>")
    return "".join(parts)


def snapshot_at(history: RunHistory, epoch: float) -> int:
    """The index of the snapshot nearest `epoch` (the latest of equally near ones: the final model at the end)."""
    gaps = [abs(s.epoch - epoch) for s in history.snapshots]
    best = min(gaps)
    return max(i for i, g in enumerate(gaps) if g <= best + 1e-9)


def _evaluation_at(history: RunHistory | None, index: int | None) -> tuple[EvalSnapshot | None, bool]:
    """(the test evaluation shown at a snapshot, whether it is the final model's). index None: the latest
    evaluation, which may be newer than the latest snapshot (it arrives just before the epoch's weights)."""
    if history is None:
        return None, False
    snaps = history.snapshots
    if index is None:
        last = snaps[-1] if snaps else None
        return history.evaluation, last is not None and last.final and last.evaluation is history.evaluation
    if not snaps:
        return None, False
    snap = snaps[int(np.clip(index, 0, len(snaps) - 1))]
    return snap.evaluation, snap.final


def confusion_view(history: RunHistory | None, index: int | None = None,
                   selected: tuple[int, int] | None = None) -> str:
    ev, final = _evaluation_at(history, index)
    if ev is None:
        return '<p class="fmap-note">The confusion matrix appears at the first test evaluation (end of epoch 1).</p>'
    when = "the final model" if final else f"epoch {ev.epoch:g}"
    return confusion_html(ev.confusion, history.classes, f"Test set, {when}: {ev.accuracy:.2%} read right",
                          clickable=ev.predictions is not None, selected=selected)


def gallery_caption(index: int, true: str, read: str) -> str:
    """A gallery image's caption, what matters first (a narrow tile cuts the end): "9 → 4 · #57"."""
    return f"{true} → {read} · #{index}"


def cell_images(history: RunHistory, split: Split, index: int | None, true: int, read: int,
                limit: int = 40) -> tuple[list, list[int], str]:
    """The test images of one confusion cell at a snapshot: (gallery items, their indices, a caption)."""
    ev, _ = _evaluation_at(history, index)
    if ev is None or ev.predictions is None:
        return [], [], "No per-image readings were kept for this evaluation."
    labels = split.labels.numpy()
    hits = np.flatnonzero((labels == true) & (ev.predictions[:len(labels)] == read))
    classes = history.classes
    images = f"{len(hits)} test image{'' if len(hits) == 1 else 's'} of a {classes[true]}"
    what = f"{images} read as {classes[read]}" if true != read else f"{images} read right"
    shown = hits[:limit]
    items = [(upscale(gray(split.images[i].numpy() / 255), 4), gallery_caption(i, classes[true], classes[read]))
             for i in shown]
    more = f" (first {limit} shown)" if len(hits) > limit else ""
    tip = " Click one to open it in Inspect." if len(shown) else ""
    return items, [int(i) for i in shown], f"**{what}**{more}.{tip}"


def misread_images(history: RunHistory, split: Split, limit: int = 30) -> tuple[list, list, str]:
    """Every misread test image of the final evaluation (the first `limit`), as cell_images gives one cell."""
    ev, _ = _evaluation_at(history, None)
    if ev is None or ev.predictions is None:
        return [], [], ""
    labels = split.labels.numpy()
    wrong = np.flatnonzero(ev.predictions[:len(labels)] != labels)
    classes = history.classes
    items = [(upscale(gray(split.images[i].numpy() / 255), 4),
              gallery_caption(i, classes[labels[i]], classes[ev.predictions[i]])) for i in wrong[:limit]]
    return (items, [int(i) for i in wrong[:limit]],
            f"**{len(wrong)} misread test images** (first {min(limit, len(wrong))} shown). Click a cell of the "
            "matrix to list one kind of mistake; click an image to open it in Inspect.")


def inspect_pick(history: RunHistory, split: Split, test_index: int) -> dict:
    """What Inspect needs to open one test image of `split` (the run's test split): {"image", "label", "title"}."""
    label = history.classes[int(split.labels[test_index])]
    return {"image": split.images[test_index].numpy().astype(np.float32) / 255, "label": label,
            "title": f"test image #{test_index} of the {dataset_info(history.dataset).title} (from your run)"}
