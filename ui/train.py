"""The Train tab: settings, a live run (curves, the watched digit, C1's kernels, the confusion matrix), Stop,
the run's snapshots afterwards, and the visitor's model to download.

The walk of one run: Train -> `reset_stop` (unqueued) -> `queued_run` waits its turn in the training queue
(lenet.training.run_queue; the page is told the runs ahead and when its own starts) -> `run` pulls the trainer's events from
a background thread (lenet.training.background) and yields {component: value} updates -> `finish` computes nothing the
done event already measured except the bundled test images' drill-down, and selects the new model.
"""
from __future__ import annotations

import asyncio
import dataclasses
import html
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio
import gradio as gr

from lenet.present import selectors, train_view, watch_view
from lenet.training.background import in_background
from lenet.net.checkpoint import CheckpointError, write_download
from lenet.evaluate import evaluate
from lenet.sources.data import DatasetUnavailable, cached_test_split, dataset_info
from lenet.present.icons import STOP, WARN
from lenet.reading.inference import LoadedModel, read
from lenet.reading.preprocess import CanvasError
from lenet.training.run_queue import AlreadyQueued
from lenet.training.config import TrainConfig, recipe
from lenet.training.events import Done, Eval, Event, Start, Step
from lenet.training.stream import train_stream
from ui.common import DEFAULT_MODEL, SHIPPED, Page, gpu, static_text
from ui.train_queue import (DURATIONS, END, POLL, QUEUE, RUN_TAIL, TELL_EVERY, WAITING, StopSignal, failed,
                                  leave_queue, next_or_end, queue_status, request_stop, started_note)
from ui.train_settings import (DEFAULT_DATASET, DEFAULTS, MAX_EPOCHS, READERS_FIRST, TRAIN_NICE,
                                     TRAIN_THREADS, Settings, build_settings, whole_number)
from lenet.present.watch import RunHistory


# A run lives in the page that started it (closing the page cancels its queue events). The page notes that a
# run is going; if it reloads before the run ends, the new page says what happened (components/reload_note.js).
MARK_RUN_JS = "() => { try { localStorage.setItem('lenet5-run', String(Date.now())); } catch (e) {} }"
UNMARK_RUN_JS = "() => { try { localStorage.removeItem('lenet5-run'); } catch (e) {} }"
@gpu
def _train_on_device(cfg: TrainConfig):
    yield from train_stream(cfg)  # events and CPU state dicts only: safe to cross from a GPU worker


@dataclass
class TrainTab:
    page: Page
    settings: Settings
    train_btn: gr.Button
    stop_btn: gr.Button
    upload: gr.UploadButton
    status: gr.Markdown
    reload_note: gr.Markdown
    queue_box: gr.HTML
    loss_chart: gr.HTML
    error_chart: gr.HTML
    watch: gr.HTML
    snap_slider: gr.Slider
    results: gr.Markdown
    download: gr.DownloadButton
    confusion: gr.HTML
    drill_caption: gr.Markdown
    drill_gallery: gr.Gallery
    stop_signal: gr.State  # Gradio deep-copies this per visitor on first use
    run_history: gr.State  # this visitor's last run: bounded snapshots (lenet/present/watch.py)
    previous_curves: gr.State  # this visitor's previous run's curves, drawn dashed for comparison
    shown_snapshot: gr.State  # the snapshot the slider shows; None = the latest
    drill_indices: gr.State  # test-set indices of the images in the drill-down gallery
    run_view: gr.State  # this visitor's last run's curves (a TrainView), redrawn with the slider's epoch marked

    # ---- a run ----

    def reset_stop(self, signal: StopSignal) -> dict:
        """Runs unqueued when Train is clicked: a Stop pressed from now on (even while queued) ends this run.
        Train is disabled and Stop enabled until the run's last step (end_of_run)."""
        signal.requested = False
        signal.failure = ""
        return {self.train_btn: gr.update(interactive=False), self.stop_btn: gr.update(interactive=True),
                self.reload_note: "", self.status: WAITING, self.queue_box: ""}

    def end_of_run(self) -> dict:
        return {self.train_btn: gr.update(interactive=True), self.stop_btn: gr.update(interactive=False)}

    def after_failure(self, signal: StopSignal) -> dict:
        """A run that raised: buttons back, the reason in the status line, and the progress box redrawn (which
        clears Gradio's "Error" badge, otherwise left on it after the toast closes)."""
        why = html.escape(signal.failure or "see the message in the corner")
        return {**self.end_of_run(), self.queue_box: "",
                self.status: f"### {WARN} The run did not complete\n{why}\n\nFix it and press **Train** again."}

    def run(self, arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed, device,
            watch_what=train_view.WATCH_DRAWING, watch_class="7", canvas=None, previous: train_view.Curves | None = None,
            negatives=False, styles=False, signal: StopSignal | None = None, report=None):
        """The training generator: one {component: value} update per batch of trainer events. `report`, if given,
        sees every trainer event (the queue hears the run's own time left from it)."""
        cfg = _config(arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed, device,
                      negatives, styles, signal)
        if signal is not None and signal.requested:  # Stop pressed while this run waited in the queue
            yield {self.status: f"### {STOP} Stopped before it started\nPress **Train** to start a run."}
            return
        view = train_view.TrainView(cfg, previous=previous if isinstance(previous, train_view.Curves) else None)
        try:
            pinned = watch_view.pinned_digit(watch_what, canvas, str(watch_class), cfg.dataset)
        except (CanvasError, ValueError):
            pinned = None
        history = RunHistory(cfg.dataset, list(dataset_info(cfg.dataset).classes), pinned)

        def charts() -> dict:
            return {self.status: view.status(), self.loss_chart: view.loss_html(),
                    self.error_chart: view.error_html()}

        # "Loading data…" before the first batch; the previous run's snapshots and drill-down are cleared.
        yield {**charts(), self.watch: watch_view.watch_html(history), self.confusion: watch_view.confusion_view(history),
               self.snap_slider: gr.update(visible=False, value=0), self.shown_snapshot: None,
               self.run_history: history, self.drill_gallery: gr.update(value=None, visible=False),
               self.drill_caption: "", self.drill_indices: [], self.results: "",
               self.download: gr.update(visible=False), self.run_view: None}  # None: no stale done event
        added = False
        try:
            # In its own low-priority thread: visitors' readings go first, and training never waits for the UI.
            stream = in_background(lambda: _train_on_device(cfg), threads=TRAIN_THREADS, nice=TRAIN_NICE,
                                   readers_first=READERS_FIRST)
            for batch in stream:
                if signal is not None and signal.requested:  # Stop: end cleanly, keeping the last yielded model
                    stream.close()
                    view.stopped()
                    yield {**charts(), self.previous_curves: view.curves(), self.run_view: view}
                    return
                weights, evaluated = None, False
                for ev, w in batch:
                    view.add(ev)
                    if report is not None:
                        report(ev)
                    if isinstance(ev, Eval) and ev.confusion is not None:
                        history.add_eval(ev.epochs_done, ev.accuracy, ev.confusion, ev.predictions.numpy())
                        evaluated = True
                    weights = w if w is not None else weights
                out = charts()
                if weights is not None:  # a model update: the pinned digit is read again, the kernels redrawn
                    model = view.model(weights)
                    probs = read(model, pinned.image).probs if pinned is not None else None
                    history.add(view.epoch, view.last.step if view.last else 0, watch_view.kernels_of(model), probs)
                    out |= {self.page.my_model: model, self.watch: watch_view.watch_html(history)}
                    if not added:  # "your model" appears as soon as there is one
                        added = True
                        out[self.page.model_dd] = gr.update(choices=selectors.model_choices(SHIPPED, model))
                if evaluated:
                    out[self.confusion] = watch_view.confusion_view(history)
                yield out
            # drawn under the visitor's next run; kept to mark the snapshot the slider shows
            yield {**charts(), self.previous_curves: view.curves(), self.run_view: view}
        except DatasetUnavailable as e:
            raise failed(signal, str(e)) from None
        except ValueError as e:
            raise failed(signal, f"Training could not start: {e}") from None

    async def queued_run(self, arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed,
                         device, watch_what=train_view.WATCH_DRAWING, watch_class="7", canvas=None,
                         previous: train_view.Curves | None = None, negatives=False, styles=False,
                         signal: StopSignal | None = None, request: gr.Request = None):
        """Train, taking turns (the /train endpoint). The run joins the queue, one place per visitor; while it
        waits, the page is told every second how many runs are ahead and when it should start, and Stop (or
        closing the page) leaves the queue; once it holds a slot, the page says so and `run` streams as ever.
        Async: a waiting page holds no worker thread. The run itself is iterated in one, as Gradio would."""
        args = (arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed, device)
        cfg = _config(*args, negatives, styles, signal)  # bad settings are refused before queueing
        settings = dataclasses.asdict(cfg)
        visitor = getattr(request, "session_hash", None) or uuid.uuid4().hex  # no session: a place of its own
        try:
            entry = QUEUE.join(visitor, DURATIONS.estimate(settings), label=cfg.arch)
        except AlreadyQueued as e:
            raise failed(signal, f"This run was not queued: {e}.") from None
        outcome, gen = {}, None
        try:
            t0 = told = time.monotonic()
            first = True
            while not QUEUE.has_slot(entry):
                if signal is not None and signal.requested:  # Stop while queued: leave the queue
                    yield {self.status: f"### {STOP} Stopped before it started\nYou left the queue. Press **Train** to "
                                        "queue again.", self.queue_box: ""}
                    return
                if first or time.monotonic() - told >= TELL_EVERY:
                    first, told = False, time.monotonic()
                    QUEUE.revise(entry, DURATIONS.estimate(settings))  # at the pace measured so far
                    yield {self.status: queue_status(QUEUE.place(entry), QUEUE.slots), self.queue_box: ""}
                await asyncio.sleep(POLL)
            yield {self.queue_box: started_note(time.monotonic() - t0)}

            def report(ev: Event) -> None:  # in the run's thread: the queue hears the run's own time left
                if isinstance(ev, Start):
                    outcome["steps"] = ev.total_steps
                if isinstance(ev, Step):
                    DURATIONS.observe_rate(cfg.arch, ev.images_per_s)
                    QUEUE.report(entry, ev.eta + RUN_TAIL, ev.step / max(outcome.get("steps", 0), 1),
                                 DURATIONS.estimate(settings))
                else:
                    QUEUE.report(entry)
                outcome["done"] = outcome.get("done") or isinstance(ev, Done)

            gen = self.run(*args, watch_what, watch_class, canvas, previous, negatives, styles, signal, report=report)
            while (item := await anyio.to_thread.run_sync(next_or_end, gen)) is not END:
                yield item
        finally:
            # However it ended (done, Stop, an error, a cancel, the page gone): the run's thread is told to end and
            # waited for, then the place is given up, so the next run never shares the cores with this one. In a
            # thread of its own: a stopped run finishes its current step or evaluation first, and the server's
            # event loop must not wait for that.
            threading.Thread(target=leave_queue, args=(gen, entry, settings, outcome), daemon=True,
                             name="lenet-leave-queue").start()

    def finish(self, mine: LoadedModel | None, history: RunHistory | None, current: str | None = None,
               view: train_view.TrainView | None = None) -> dict:
        """After a run ends or is stopped: test figures, the final snapshot, mistakes, download; select the model."""
        if mine is None or mine.source != "trained" or mine.finalized:
            return {self.results: gr.update()}  # nothing to finish (e.g. stopped while queued): nothing changes
        try:
            split = cached_test_split(mine.dataset)
            # a run that ended has measured its final model; one stopped (or diverged) is measured here
            done = view.done if isinstance(view, train_view.TrainView) else None
            r = done.evaluation if done is not None else evaluate(mine.model, split)
        except DatasetUnavailable as e:
            raise gr.Error(str(e)) from None
        md, final = train_view.finish_view(mine, r)
        history = history if history is not None else RunHistory(final.dataset, final.classes)
        last = history.snapshots[-1] if history.snapshots else None
        history.add_eval(last.epoch if last else 0, r["accuracy"], r["confusion"], r["predictions"])
        pinned = history.pinned
        history.add(last.epoch if last else 0, last.step if last else 0, watch_view.kernels_of(final),
                    read(final, pinned.image).probs if pinned is not None else None, final=True)
        path = write_download(final.model, final.meta, train_view.download_name(final))
        items, indices, caption = watch_view.misread_images(history, split)
        n = len(history)
        return {self.results: md, self.page.my_model: final, self.run_history: history, self.shown_snapshot: None,
                self.page.model_dd: gr.update(choices=selectors.model_choices(SHIPPED, final),
                                              value=selectors.after_run(final, current, SHIPPED, DEFAULT_MODEL)),
                self.watch: watch_view.watch_html(history), self.confusion: watch_view.confusion_view(history),
                self.snap_slider: gr.update(visible=n > 1, minimum=0, maximum=max(history.snapshots[-1].epoch, 0.01),
                                            value=history.snapshots[-1].epoch),
                self.drill_gallery: gr.update(value=items, visible=bool(items)), self.drill_indices: indices,
                self.drill_caption: caption, self.download: gr.update(value=str(path), visible=True)}

    # ---- afterwards ----

    def show_snapshot(self, epoch, history: RunHistory | None, view: train_view.TrainView | None = None) -> dict:
        """The snapshot slider (in epochs): the pinned digit's reading, the kernels and the confusion matrix at the
        snapshot nearest that moment (the latest of equals: the final model at the end), marked on the curves."""
        if history is None or not len(history):
            return {}
        index = watch_view.snapshot_at(history, float(epoch))
        out = {self.shown_snapshot: index, self.watch: watch_view.watch_html(history, index),
               self.confusion: watch_view.confusion_view(history, index)}
        if isinstance(view, train_view.TrainView):
            at = history.snapshots[index].epoch
            out |= {self.loss_chart: view.loss_html(marker=at), self.error_chart: view.error_html(marker=at)}
        return out

    def show_cell(self, history: RunHistory | None, index, evt: gr.EventData) -> dict:
        """A click on a confusion-matrix cell: list those test images (each opens in Inspect)."""
        cell = (getattr(evt, "_data", None) or {}).get("cell") if evt is not None else None
        if history is None or not len(history) or not cell:
            return {}
        true, read = (int(v) for v in str(cell).split(","))
        items, indices, caption = watch_view.cell_images(history, cached_test_split(history.dataset), index, true,
                                                          read)
        return {self.drill_gallery: gr.update(value=items, visible=True, selected_index=None),
                self.drill_indices: indices, self.drill_caption: caption,
                self.confusion: watch_view.confusion_view(history, index, selected=(true, read))}

    def open_in_inspect(self, history: RunHistory | None, indices: list, evt: gr.SelectData) -> dict:
        if history is None or evt is None or not indices or evt.index is None or evt.index >= len(indices):
            return {}
        return {self.page.inspect_pick: watch_view.inspect_pick(history, cached_test_split(history.dataset),
                                                                         indices[evt.index]),
                self.page.tabs: gr.Tabs(selected="inspect")}

    def load_upload(self, path) -> dict:
        if not path:
            return {}
        try:
            lm = LoadedModel.from_file(path, source="uploaded")
        except CheckpointError as e:
            raise gr.Error(f"That file was not loaded: {e}. Your current model is unchanged.") from None
        return {self.page.my_model: lm,
                self.page.model_dd: gr.update(choices=selectors.model_choices(SHIPPED, lm), value=selectors.YOURS),
                self.results: f"### Loaded {html.escape(Path(path).stem)}\n**{selectors.model_name(lm)}** is now your "
                              "model in Draw and Inspect."}

    # ---- wiring ----

    def outputs(self) -> list:
        return [self.status, self.loss_chart, self.error_chart, self.watch, self.confusion, self.page.my_model,
                self.page.model_dd, self.run_history, self.previous_curves, self.snap_slider, self.shown_snapshot,
                self.drill_gallery, self.drill_caption, self.drill_indices, self.results, self.download, self.run_view,
                self.queue_box]

    def wire(self, pad: gr.HTML) -> None:
        s, page = self.settings, self.page
        private = dict(api_visibility="private")
        self.train_btn.click(None, js=MARK_RUN_JS)
        run = self.train_btn.click(self.reset_stop, self.stop_signal,
                                   [self.train_btn, self.stop_btn, self.status, self.reload_note, self.queue_box],
                                   queue=False,
                                   **private).then(
            self.queued_run, s.inputs() + [pad, self.previous_curves, s.negatives, s.styles, self.stop_signal],
            self.outputs(), api_name="train", concurrency_limit=None, concurrency_id="train",
            # the queue is ours (QUEUE): a waiting page is told its place in the status. Gradio's own tracker (a
            # timer) stays in the queue box, where a failure's "Error" badge is redrawn away (after_failure).
            show_progress="minimal", show_progress_on=[self.queue_box])
        # `.then` runs only after success in Gradio 6.31: a failed run has its own follow-up.
        finished = run.then(self.finish, [page.my_model, self.run_history, page.model_dd, self.run_view],
                            self.outputs(), show_progress="hidden", **private)
        for done in (finished.then, finished.failure):
            done(self.end_of_run, None, [self.train_btn, self.stop_btn], queue=False, **private).then(
                None, js=UNMARK_RUN_JS)
        run.failure(self.after_failure, self.stop_signal, [self.train_btn, self.stop_btn, self.status, self.queue_box],
                    queue=False, **private).then(None, js=UNMARK_RUN_JS)
        # A cooperative Stop (not Gradio's cancel): the run ends at its next event, its curves stay, finish() runs.
        self.stop_btn.click(request_stop, self.stop_signal, None, queue=False, **private)
        self.snap_slider.input(self.show_snapshot, [self.snap_slider, self.run_history, self.run_view],
                               [self.shown_snapshot, self.watch, self.confusion, self.loss_chart, self.error_chart],
                               show_progress="hidden",
                               trigger_mode="always_last", **private)
        self.confusion.click(self.show_cell, [self.run_history, self.shown_snapshot],
                             [self.drill_gallery, self.drill_indices, self.drill_caption, self.confusion],
                             show_progress="hidden", **private)
        self.drill_gallery.select(self.open_in_inspect, [self.run_history, self.drill_indices],
                                  [page.inspect_pick, page.tabs], **private)
        s.dataset.change(train_view.suggested_epochs, s.dataset, s.epochs, **private)
        s.dataset.change(lambda ds: gr.update(choices=watch_view.class_names(ds), value=watch_view.class_names(ds)[7]),
                         s.dataset, s.watch_class, queue=False, **private)
        # each architecture starts from its own learning rate (recipes/default.toml)
        s.arch.change(lambda a: {s.arch: gr.update(info=selectors.arch_info(a)), s.lr: recipe(a).lr}, s.arch,
                      [s.arch, s.lr], **private)
        self.upload.upload(self.load_upload, self.upload, [page.my_model, page.model_dd, self.results], **private)


def _config(arch, dataset, epochs, batch_size, lr, optimizer, schedule, augment, val_split, seed, device, negatives,
            styles, signal: StopSignal | None) -> TrainConfig:
    try:
        return recipe(arch, dataset=dataset, epochs=whole_number(epochs, "epochs", MAX_EPOCHS),
                      batch_size=whole_number(batch_size, "batch size"), lr=float(lr), optimizer=optimizer,
                      schedule=schedule, augment=bool(augment), val_split=float(val_split),
                      seed=whole_number(seed, "seed"), device=device,
                      mix={"negatives": bool(negatives), "styles": bool(styles)})  # a box left empty: not in it
    except (TypeError, ValueError) as e:
        raise failed(signal, f"Please fix the settings: {e}") from None


def build(page: Page) -> TrainTab:
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            settings = build_settings()
            upload = gr.UploadButton("Load a model you downloaded", file_types=[".safetensors"],
                                     type="filepath", size="sm", elem_id="upload")
        with gr.Column(scale=2, min_width=300):
            # Train and Stop above the run they control: on a laptop the settings column runs below the fold.
            with gr.Row(elem_id="run-buttons"):
                train_btn = gr.Button("Train", variant="primary", elem_id="train-btn")
                stop_btn = gr.Button("Stop", variant="stop", elem_id="stop-btn", interactive=False)
            status = gr.Markdown(f"Pick settings and press **Train**. On full MNIST the default settings reach about "
                                 f"99% test accuracy in {DEFAULTS.epochs} epochs. A run belongs to this page: "
                                 "reloading or closing the page stops it.", elem_id="train-status")
            reload_note = gr.Markdown("", elem_id="reload-note")
            # "Your run has started" (after how long a wait) once the queue gives the run its slot.
            queue_box = gr.HTML("", elem_id="train-queue", min_height=44, padding=False)
            empty_run = train_view.TrainView(dataclasses.replace(DEFAULTS, dataset=DEFAULT_DATASET,
                                                            epochs=train_view.suggested_epochs(DEFAULT_DATASET)))
            # The curves side by side and "Watch it learn" under them: at 1280x900 both are in view during a run.
            with gr.Row(equal_height=False, elem_id="curves"):
                loss_chart = gr.HTML(empty_run.loss_html(), elem_id="loss-plot", padding=False, min_width=300)
                error_chart = gr.HTML(empty_run.error_html(), elem_id="error-plot", padding=False, min_width=300)
            gr.Markdown("#### Watch it learn", elem_id="watch-title")
            watch = gr.HTML(watch_view.watch_html(None), elem_id="watch", padding=False)
            snap_slider = gr.Slider(0, 1, value=0, step=0.01, visible=False, elem_id="snap-slider",
                                    label="Scrub through the run (epochs): the reading, kernels and confusion "
                                          "matrix at that moment, marked on the curves")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=300):
            results = gr.Markdown(elem_id="train-results")
            download = gr.DownloadButton("Download your model", visible=False, elem_id="download")
        with gr.Column(min_width=300):
            confusion = gr.HTML(watch_view.confusion_view(None), elem_id="confusion", padding=False,
                                js_on_load=static_text("components/confusion_click.js"))
            drill_caption = gr.Markdown("", elem_id="drill-caption")
            drill_gallery = gr.Gallery(label="Test images (true → read); click one to open it in Inspect",
                                       show_label=False, columns=6, height=300, elem_id="wrong", object_fit="contain",
                                       visible=False, allow_preview=False, fit_columns=False, buttons=[])
    return TrainTab(page, settings, train_btn, stop_btn, upload, status, reload_note, queue_box, loss_chart,
                    error_chart, watch, snap_slider, results, download, confusion, drill_caption, drill_gallery,
                    stop_signal=gr.State(StopSignal()), run_history=gr.State(None), previous_curves=gr.State(None),
                    shown_snapshot=gr.State(None), drill_indices=gr.State([]), run_view=gr.State(None))
