// The Draw tab's drawing surface: the body of a gr.HTML js_on_load (it is given `element`, `props`, `trigger`).
// Mouse, pen and finger through Pointer Events; strokes are kept as points in a SIZE x SIZE space and put in
// props.value as a small JSON text (lenet/reading/strokes.py's format), which fires the component's .change event:
// a browser-only event (ui/draw.py) that calls LenetPad.read below, which reads the drawing in the page
// with lenet/static/reader.js and the selected model's payload -- no request. While the pen is down the value
// says so ("down": true) and the verdict is a quiet best guess; the full verdict comes at pen-up.
// If the reader cannot run here, the surface says so (a small note) and fires its "input" event on every
// change instead: the server reads the strokes, as it did before (lenet/reading/strokes.py draws them back).
// Every value carries a sequence number that the reading echoes into #read-seq, so the surface knows when the
// reading on screen is of an older drawing (CSS dims it until the newest answer arrives).
const SIZE = 280, WIDTH = 22, EVERY_MS = 30, SERVER_EVERY_MS = 60, MIN_STEP = 1.5;
const canvas = element.querySelector("canvas");
const ctx = canvas.getContext("2d");
const undoBtn = element.querySelector(".pad-undo");
const clearBtn = element.querySelector(".pad-clear");
const root = element.closest("#pad") || element;
let strokes = [];      // finished and current strokes: flat [x0, y0, x1, y1, ...] in SIZE space
let current = null;    // the stroke under the pen
let pointer = null;    // the pointer drawing it (a second finger is ignored)
let seq = 0, lastSent = 0, timer = null;
const reader = window.LenetReader;
// The page reads when its reader loaded and this browser has what it needs; else the server does.
let onServer = !(reader && reader.version === 1 && typeof Math.fround === "function" && typeof Float32Array === "function"
                 && typeof Map === "function" && typeof atob === "function");
const note = element.querySelector(".pad-server-note");

function serverMode(why) {
  if (!onServer) console.warn("LeNet-5 Studio: reading on the server:", why);
  onServer = true;
  if (note) note.hidden = false;
}
if (onServer) serverMode("the in-page reader is not available in this browser");

window.LenetPad = {
  // The browser-only event's body: [verdict, probabilities, what the network sees, sequence number]
  read(value, payload) {
    if (onServer) throw new Error("reading on the server");
    if (!payload || !payload.key) throw new Error("no model for the page's reader");
    const res = reader.read(value, payload);
    const out = reader.outputsOf(res);
    let down = false;
    try { down = !!JSON.parse(value || "{}").down; } catch (e) { /* not a drawing: the reader said so already */ }
    const quiet = down && !res.empty;
    if (quiet) out[0] = reader.quietText(res);
    root.classList.toggle("pad-quiet", quiet);
    Object.assign(window.LenetPad, { payload, last: value, lastOutputs: out });  // for tests and benchmarks
    return out;
  },
  fallback(error) {  // the page could not read this drawing: the server reads it, and every one after it
    serverMode(error && error.message ? error.message : String(error));
    root.classList.remove("pad-quiet");
    trigger("input");
  },
};

try {  // the surface is re-mounted when Gradio re-renders it: keep what was drawn
  const saved = JSON.parse(props.value || "{}");
  if (Array.isArray(saved.strokes)) strokes = saved.strokes;
  if (Number.isFinite(saved.seq)) seq = saved.seq;
} catch (e) { /* an empty value */ }

function ink() { return getComputedStyle(canvas).color || "#111"; }

function fit() {  // backing store = CSS size x device pixels, so strokes are sharp on a phone
  const px = Math.max(1, Math.round(canvas.getBoundingClientRect().width * (window.devicePixelRatio || 1)));
  if (canvas.width !== px || canvas.height !== px) { canvas.width = px; canvas.height = px; redraw(); }
}

function pen() {
  const k = canvas.width / SIZE;
  ctx.setTransform(k, 0, 0, k, 0, 0);
  ctx.lineWidth = WIDTH; ctx.lineCap = "round"; ctx.lineJoin = "round";
  ctx.strokeStyle = ctx.fillStyle = ink();
}

function paint(s, from) {  // the part of stroke s from point index `from` on
  if (s.length === 2) { ctx.beginPath(); ctx.arc(s[0], s[1], WIDTH / 2, 0, 2 * Math.PI); ctx.fill(); return; }
  const i = Math.max(0, from - 1);
  ctx.beginPath(); ctx.moveTo(s[2 * i], s[2 * i + 1]);
  for (let j = i + 1; 2 * j < s.length; j++) ctx.lineTo(s[2 * j], s[2 * j + 1]);
  ctx.stroke();
}

function redraw() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  pen();
  for (const s of strokes) paint(s, 0);
  const empty = strokes.length === 0;
  undoBtn.disabled = clearBtn.disabled = empty;
  root.classList.toggle("pad-empty", empty);
}

function point(e) {
  const r = canvas.getBoundingClientRect();
  const x = Math.min(SIZE, Math.max(0, (e.clientX - r.left) * SIZE / r.width));
  const y = Math.min(SIZE, Math.max(0, (e.clientY - r.top) * SIZE / r.height));
  return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
}

function send() {
  clearTimeout(timer); timer = null;
  lastSent = performance.now();
  seq += 1;
  root.dataset.seq = seq;
  pending();
  const down = current !== null;
  props.value = JSON.stringify({ seq, size: SIZE, width: WIDTH, strokes, down });  // fires .change -> LenetPad.read
}

function sendSoon() {  // throttled while the pen moves
  const wait = (onServer ? SERVER_EVERY_MS : EVERY_MS) - (performance.now() - lastSent);
  if (wait <= 0) send();
  else if (!timer) timer = setTimeout(send, wait);
}

function answered() {
  const out = document.querySelector("#read-seq [data-seq]");
  return out ? Number(out.dataset.seq) : -1;
}

function pending() {  // the reading on screen is older than the drawing, and the pen is up
  const behind = answered() < seq;
  root.classList.toggle("pad-pending", current === null && behind);
  // Screen readers hear the verdict once the pen is up and its answer is in, not every reading on the way.
  const verdict = document.getElementById("verdict");
  if (verdict) verdict.setAttribute("aria-busy", String(current !== null || behind));
}
new MutationObserver(pending).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-seq"] });

canvas.addEventListener("pointerdown", (e) => {
  if (pointer !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
  e.preventDefault();
  pointer = e.pointerId;
  canvas.setPointerCapture(e.pointerId);
  current = point(e);
  strokes.push(current);
  pen(); paint(current, 0);
  root.classList.remove("pad-empty");
  undoBtn.disabled = clearBtn.disabled = false;
  sendSoon();
});

canvas.addEventListener("pointermove", (e) => {
  if (e.pointerId !== pointer || current === null) return;
  e.preventDefault();
  const n = current.length / 2;
  const coalesced = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
  for (const ev of coalesced.length ? coalesced : [e]) {
    const [x, y] = point(ev);
    const dx = x - current[current.length - 2], dy = y - current[current.length - 1];
    if (dx * dx + dy * dy >= MIN_STEP * MIN_STEP) current.push(x, y);
  }
  if (current.length / 2 > n) { pen(); paint(current, n); sendSoon(); }
});

function penUp(e) {
  if (e.pointerId !== pointer) return;
  pointer = null;
  current = null;
  send();  // the final reading of this stroke: at once, not after the throttle
}
canvas.addEventListener("pointerup", penUp);
canvas.addEventListener("pointercancel", penUp);
canvas.addEventListener("touchstart", (e) => e.preventDefault(), { passive: false });  // no scroll, no zoom

undoBtn.addEventListener("click", () => { strokes.pop(); redraw(); send(); });
clearBtn.addEventListener("click", () => { strokes = []; redraw(); send(); });
canvas.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "z") { e.preventDefault(); undoBtn.click(); }
  else if (e.key === "Delete" || e.key === "Backspace") { e.preventDefault(); clearBtn.click(); }
});

new ResizeObserver(fit).observe(canvas);
const themeWatch = new MutationObserver(redraw);  // dark mode switches the ink colour
for (const el of [document.documentElement, document.body]) themeWatch.observe(el, { attributes: true, attributeFilter: ["class"] });
fit();
redraw();
