// The Draw tab's reader, in the visitor's browser: the same steps as lenet/ (strokes -> canvas -> MNIST-style
// 28x28 -> LeNet forward pass -> verdict), in plain JS with no library, so a pen move needs no request.
//
//   lenet/reading/strokes.py     rasterise            the pen swept along the strokes (float64, same order of operations)
//   lenet/reading/preprocess.py  canvasToDigit        drop specks, bounding box, even out the stroke, 20x20, centre of mass
//   lenet/net/model.py       forward              every preset the config allows (weights from lenet/reading/webread.py)
//   lenet/reading/inference.py   readDigit            read: the probabilities, computed once (output_probabilities:
//                                                     class logits / Thresholds.temperature), and the verdict
//   lenet/reading/verdict.py     decide               digit / unsure / not a digit, with the checkpoint's thresholds;
//                                                     P(letter) from the lookalike head scales the stated probability
//   lenet/present/draw_view.py   outputs              the verdict text, the Probabilities value, "what the network sees"
//
// Parity with the server (tests/test_browser_webread.py) rests on doing every step that ends in a yes/no the
// way the server does: the rasteriser is float64 arithmetic in one fixed order on both sides (so its uint8 bytes
// are identical); torch's anti-aliased bilinear resize is reproduced in float32 (Math.fround) with its own weight
// formula; numpy's pairwise sums and Python's round-half-to-even are reproduced where a rounding picks a pixel.
// The network itself runs in float64 sums stored as float32: its outputs differ from torch's by ~1e-7.
//
// Loaded as a page script (window.LenetReader) and as a Node module (tests, tools).
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.LenetReader = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";
  const f32 = Math.fround;

  // ---- lenet/reading/strokes.py ----
  const SIZE = 280, BRUSH = 22, SUPERSAMPLE = 2;
  // ---- lenet/reading/preprocess.py ----
  const BOX = 20, FIELD = 28, COM_TARGET = 14.0, WORK = 80, STROKE_TARGET = 8.0, STROKE_TOLERANCE = 0.35;
  const INK_MIN = f32(0.1);
  const PEN_SHARE = STROKE_TARGET * (1 + STROKE_TOLERANCE) / WORK;
  // ---- lenet/reading/verdict.py, lenet/present/draw_view.py ----
  const LETTER_NOTE = 0.05, LETTER = "a letter", PANEL_TOP = 0.994;

  function roundHalfEven(x) {  // Python's round()
    const r = Math.round(x);
    return (r - x === 0.5 && r % 2 !== 0) ? r - 1 : r;
  }

  function parse(value) {
    let data = value;
    if (typeof value === "string") data = value.trim() ? JSON.parse(value) : {};
    if (!data || typeof data !== "object") throw new Error("not a drawing");
    const size = data.size === undefined ? SIZE : Number(data.size);
    const width = data.width === undefined ? BRUSH : Number(data.width);
    if (!(size >= 8 && size <= 4096) || !(width > 0 && width <= size)) throw new Error("bad size or width");
    const strokes = [];
    for (const s of data.strokes || []) {
      if (!s.length) continue;
      const pts = new Float64Array(s.length);
      for (let i = 0; i < s.length; i++) pts[i] = Math.min(size, Math.max(0, Number(s[i])));
      strokes.push(pts);
    }
    const seq = Number.isFinite(data.seq) ? Math.trunc(data.seq) : 0;
    return { strokes, size, width, seq };
  }

  function penWidth(d) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of d.strokes) {
      for (let i = 0; i < s.length; i += 2) {
        x0 = Math.min(x0, s[i]); x1 = Math.max(x1, s[i]); y0 = Math.min(y0, s[i + 1]); y1 = Math.max(y1, s[i + 1]);
      }
    }
    const extent = Math.max(x1 - x0, y1 - y0);
    if (extent < d.width) return d.width;
    const fitted = extent * PEN_SHARE / (1 - PEN_SHARE);
    return Math.min(d.width, Math.max(fitted, d.width / 3));
  }

  // (out x out) uint8 ink (the canvas' alpha), exactly lenet.reading.strokes._alpha
  function rasterise(d, out = SIZE) {
    const k = SUPERSAMPLE * out / d.size, big = SUPERSAMPLE * out;
    const r = Math.max(0.5, Math.max(1, roundHalfEven(penWidth(d) * k)) / 2 - 0.5), reach = r + 1.0;
    const cover = new Float64Array(big * big);
    for (const s of d.strokes) {
      const n = s.length / 2;
      const segs = n > 1 ? n - 1 : 1;
      for (let q = 0; q < segs; q++) {
        const b = n > 1 ? q + 1 : q;
        const ax = s[2 * q] * k, ay = s[2 * q + 1] * k, bx = s[2 * b] * k, by = s[2 * b + 1] * k;
        const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach)), x1 = Math.min(big, Math.ceil(Math.max(ax, bx) + reach) + 1);
        const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach)), y1 = Math.min(big, Math.ceil(Math.max(ay, by) + reach) + 1);
        const vx = bx - ax, vy = by - ay, l2 = vx * vx + vy * vy;
        for (let y = y0; y < y1; y++) {
          const py = y + 0.5, row = y * big;
          for (let x = x0; x < x1; x++) {
            const px = x + 0.5;
            let t = 0.0;
            if (l2 > 0) t = Math.min(1.0, Math.max(0.0, ((px - ax) * vx + (py - ay) * vy) / l2));
            const dx = px - (ax + t * vx), dy = py - (ay + t * vy);
            const c = Math.min(1.0, Math.max(0.0, r + 0.5 - Math.sqrt(dx * dx + dy * dy)));
            if (c > cover[row + x]) cover[row + x] = c;
          }
        }
      }
    }
    const alpha = new Uint8Array(out * out), scale = 255 / (SUPERSAMPLE * SUPERSAMPLE);
    for (let y = 0; y < out; y++) {
      for (let x = 0; x < out; x++) {
        let total = 0;
        for (let i = 0; i < SUPERSAMPLE; i++) {
          for (let j = 0; j < SUPERSAMPLE; j++) total = total + cover[(SUPERSAMPLE * y + i) * big + SUPERSAMPLE * x + j];
        }
        alpha[y * out + x] = Math.floor(total * scale + 0.5);
      }
    }
    return alpha;
  }

  // ---- preprocessing (lenet/reading/preprocess.py), on float32 images {h, w, a: Float32Array} ----
  function img(h, w, a) { return { h, w, a: a || new Float32Array(h * w) }; }

  function dropSpecks(ink) {  // preprocess._drop_specks
    const f = Math.max(1, Math.ceil(Math.max(ink.h, ink.w) / 32));
    const h = Math.ceil(ink.h / f), w = Math.ceil(ink.w / f);
    const mass = new Float64Array(h * w), on = new Uint8Array(h * w);
    for (let y = 0; y < ink.h; y++) {
      for (let x = 0; x < ink.w; x++) {
        const v = ink.a[y * ink.w + x], b = Math.floor(y / f) * w + Math.floor(x / f);
        mass[b] += v;
        if (v > INK_MIN) on[b] = 1;
      }
    }
    // 8-neighbour components, numbered in row-major order of their first cell (as the server's flood fill)
    const label = new Int32Array(h * w);
    let n = 0;
    for (let i = 0; i < h * w; i++) {
      if (!on[i] || label[i]) continue;
      label[i] = ++n;
      const stack = [i];
      while (stack.length) {
        const c = stack.pop(), cy = Math.floor(c / w), cx = c % w;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = cy + dy, xx = cx + dx;
            if (yy < 0 || xx < 0 || yy >= h || xx >= w) continue;
            const q = yy * w + xx;
            if (on[q] && !label[q]) { label[q] = n; stack.push(q); }
          }
        }
      }
    }
    if (n <= 1) return ink;
    const masses = new Float64Array(n + 1);
    for (let i = 0; i < h * w; i++) if (label[i]) masses[label[i]] += mass[i];
    let most = 0;
    for (let i = 1; i <= n; i++) most = Math.max(most, masses[i]);
    const big = new Uint8Array(n + 1);
    for (let i = 1; i <= n; i++) big[i] = masses[i] >= 0.25 * most ? 1 : 0;
    let r0 = Infinity, r1 = -Infinity, c0 = Infinity, c1 = -Infinity;
    for (let i = 0; i < h * w; i++) {
      if (label[i] && big[label[i]]) {
        const y = Math.floor(i / w), x = i % w;
        r0 = Math.min(r0, y); r1 = Math.max(r1, y); c0 = Math.min(c0, x); c1 = Math.max(c1, x);
      }
    }
    const margin = 0.1 * Math.max(r1 - r0 + 1, c1 - c0 + 1);
    const lo = [r0 - margin, r1 + margin, c0 - margin, c1 + margin];
    const keep = new Uint8Array(n + 1);
    for (let i = 1; i <= n; i++) keep[i] = big[i];
    const ext = [];
    for (let i = 0; i <= n; i++) ext.push([Infinity, -Infinity, Infinity, -Infinity]);
    for (let i = 0; i < h * w; i++) {
      const l = label[i];
      if (!l || big[l]) continue;
      const y = Math.floor(i / w), x = i % w, e = ext[l];
      e[0] = Math.min(e[0], y); e[1] = Math.max(e[1], y); e[2] = Math.min(e[2], x); e[3] = Math.max(e[3], x);
    }
    for (let i = 1; i <= n; i++) {
      if (big[i]) continue;
      const e = ext[i];
      if (e[1] >= lo[0] && e[0] <= lo[1] && e[3] >= lo[2] && e[2] <= lo[3]) keep[i] = 1;
    }
    const out = img(ink.h, ink.w);
    for (let y = 0; y < ink.h; y++) {
      for (let x = 0; x < ink.w; x++) {
        const l = label[Math.floor(y / f) * w + Math.floor(x / f)];
        const i = y * ink.w + x;
        out.a[i] = l && keep[l] ? ink.a[i] : 0;  // ink * 1 or ink * 0 (float32, exact)
      }
    }
    return out;
  }

  function bbox(im, threshold = INK_MIN) {
    let r0 = Infinity, r1 = -1, c0 = Infinity, c1 = -1;
    for (let y = 0; y < im.h; y++) {
      for (let x = 0; x < im.w; x++) {
        if (im.a[y * im.w + x] > threshold) {
          r0 = Math.min(r0, y); r1 = Math.max(r1, y); c0 = Math.min(c0, x); c1 = Math.max(c1, x);
        }
      }
    }
    return r1 < 0 ? null : [r0, r1 + 1, c0, c1 + 1];
  }

  function crop(im, [r0, r1, c0, c1]) {
    const out = img(r1 - r0, c1 - c0);
    for (let y = r0; y < r1; y++) for (let x = c0; x < c1; x++) out.a[(y - r0) * out.w + x - c0] = im.a[y * im.w + x];
    return out;
  }

  // torch's anti-aliased bilinear weights along one axis, in float32 as ATen computes them
  function aaWeights(inSize, outSize) {
    const scale = f32(inSize / outSize);
    const support = scale >= 1.0 ? scale : 1.0;
    const invscale = scale >= 1.0 ? f32(1.0 / scale) : 1.0;
    const rows = [];
    for (let i = 0; i < outSize; i++) {
      const center = f32(scale * (i + 0.5));
      const xmin = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
      const xsize = Math.min(Math.trunc(f32(center + support) + 0.5), inSize) - xmin;
      const ws = new Float32Array(xsize);
      let total = 0;
      for (let j = 0; j < xsize; j++) {
        let x = f32((f32(f32(j + xmin) - center) + 0.5) * invscale);
        if (x < 0) x = -x;
        const wgt = x < 1.0 ? f32(1.0 - x) : 0;
        ws[j] = wgt;
        total = f32(total + wgt);
      }
      if (total !== 0) for (let j = 0; j < xsize; j++) ws[j] = f32(ws[j] / total);
      rows.push({ xmin, ws });
    }
    return rows;
  }

  function resize(im, oh, ow) {  // F.interpolate(mode="bilinear", antialias=True, align_corners=False), float32
    let cur = im;
    if (ow !== cur.w) {  // along the rows first (the contiguous axis), as ATen does
      const W = aaWeights(cur.w, ow), out = img(cur.h, ow);
      for (let y = 0; y < cur.h; y++) {
        for (let x = 0; x < ow; x++) {
          const { xmin, ws } = W[x], base = y * cur.w + xmin;
          let acc = f32(cur.a[base] * ws[0]);
          for (let j = 1; j < ws.length; j++) acc = f32(acc + f32(cur.a[base + j] * ws[j]));
          out.a[y * ow + x] = acc;
        }
      }
      cur = out;
    }
    if (oh !== cur.h) {
      const H = aaWeights(cur.h, oh), out = img(oh, cur.w);
      for (let y = 0; y < oh; y++) {
        const { xmin, ws } = H[y];
        for (let x = 0; x < cur.w; x++) {
          let acc = f32(cur.a[xmin * cur.w + x] * ws[0]);
          for (let j = 1; j < ws.length; j++) acc = f32(acc + f32(cur.a[(xmin + j) * cur.w + x] * ws[j]));
          out.a[y * cur.w + x] = acc;
        }
      }
      cur = out;
    }
    return cur === im ? img(im.h, im.w, im.a.slice()) : cur;
  }

  function strokeWidth(im) {  // preprocess.stroke_width(x > 0.5)
    const { h, w, a } = im;
    let area = 0, edge = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (!(a[y * w + x] > 0.5)) continue;
        area++;
        let inner = true;
        for (let dy = -1; dy <= 1 && inner; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy, xx = x + dx;
            if (yy < 0 || xx < 0 || yy >= h || xx >= w || !(a[yy * w + xx] > 0.5)) { inner = false; break; }
          }
        }
        if (!inner) edge++;
      }
    }
    return { width: 2 * area / Math.max(edge, 1.0), any: area > 0 };
  }

  function morph(im, r, dilate) {  // pad with r zeros, then a (2r+1) max (or min) filter over what exists
    const h = im.h + 2 * r, w = im.w + 2 * r, p = img(h, w), out = img(h, w);
    for (let y = 0; y < im.h; y++) for (let x = 0; x < im.w; x++) p.a[(y + r) * w + x + r] = im.a[y * im.w + x];
    const tmp = new Float32Array(h * w);
    for (let y = 0; y < h; y++) {  // separable: a max over a square is a max of maxes
      for (let x = 0; x < w; x++) {
        let m = dilate ? -Infinity : Infinity;
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
          const v = p.a[y * w + xx];
          m = dilate ? Math.max(m, v) : Math.min(m, v);
        }
        tmp[y * w + x] = m;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let m = dilate ? -Infinity : Infinity;
        for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
          const v = tmp[yy * w + x];
          m = dilate ? Math.max(m, v) : Math.min(m, v);
        }
        out.a[y * w + x] = m;
      }
    }
    return out;
  }

  function evenOutStroke(c) {  // preprocess._even_out_stroke
    const scale = WORK / Math.max(c.h, c.w);
    const oh = Math.max(1, roundHalfEven(c.h * scale)), ow = Math.max(1, roundHalfEven(c.w * scale));
    const x = resize(c, oh, ow);
    const { width, any } = strokeWidth(x);
    const ratio = width / STROKE_TARGET;
    if (Math.abs(ratio - 1) <= STROKE_TOLERANCE || !any) return x;
    const r = Math.min(Math.max(1, roundHalfEven(Math.abs(width - STROKE_TARGET) / 2)), Math.floor(WORK / 10));
    const y = morph(x, r, width < STROKE_TARGET);
    const box = bbox(y);
    if (box === null) return resize(c, oh, ow);
    return crop(y, box);
  }

  // numpy's pairwise summation (np.add.reduce on a contiguous array), in float64 or float32
  function pairwise(a, lo, n, round) {
    if (n < 8) {
      let res = 0;
      for (let i = 0; i < n; i++) res = round(res + a[lo + i]);
      return res;
    }
    if (n <= 128) {
      const r = [];
      for (let j = 0; j < 8; j++) r.push(round(a[lo + j]));
      let i = 8;
      for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = round(r[j] + a[lo + i + j]);
      let res = round(round(round(r[0] + r[1]) + round(r[2] + r[3])) + round(round(r[4] + r[5]) + round(r[6] + r[7])));
      for (; i < n; i++) res = round(res + a[lo + i]);
      return res;
    }
    let n2 = Math.floor(n / 2);
    n2 -= n2 % 8;
    return round(pairwise(a, lo, n2, round) + pairwise(a, lo + n2, n - n2, round));
  }
  const same = (v) => v;

  function placeByMass(d) {  // preprocess._place_by_mass
    const { h, w, a } = d, ys = new Float64Array(h * w), xs = new Float64Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { ys[y * w + x] = a[y * w + x] * y; xs[y * w + x] = a[y * w + x] * x; }
    const m = pairwise(a, 0, h * w, f32);
    const cy = pairwise(ys, 0, h * w, same) / m, cx = pairwise(xs, 0, h * w, same) / m;
    const top = Math.min(Math.max(roundHalfEven(COM_TARGET - cy), 0), FIELD - h);
    const left = Math.min(Math.max(roundHalfEven(COM_TARGET - cx), 0), FIELD - w);
    const out = new Float32Array(FIELD * FIELD);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(top + y) * FIELD + left + x] = a[y * w + x];
    return out;
  }

  // The canvas' alpha (uint8) -> (28 x 28) float32 in [0, 1], or null when there is no ink (canvas_to_digit)
  function canvasToDigit(alpha, n) {
    let lowest = 255;
    for (let i = 0; i < alpha.length; i++) lowest = Math.min(lowest, alpha[i]);
    if (f32(lowest / 255) >= f32(0.99)) return null;  // an opaque canvas: the server reads its (black) colour: no ink
    let ink = img(n, n);
    let count = 0, most = 0;
    for (let i = 0; i < alpha.length; i++) {
      const v = f32(alpha[i] / 255);
      ink.a[i] = v;
      if (v > INK_MIN) count++;
      most = Math.max(most, v);
    }
    if (most <= INK_MIN || count < 2) return null;
    ink = dropSpecks(ink);
    let c = crop(ink, bbox(ink));
    c = evenOutStroke(c);
    const scale = BOX / Math.max(c.h, c.w);
    const digit = resize(c, Math.max(1, roundHalfEven(c.h * scale)), Math.max(1, roundHalfEven(c.w * scale)));
    let peak = -Infinity;
    for (let i = 0; i < digit.a.length; i++) {
      digit.a[i] = Math.min(1, Math.max(0, digit.a[i]));
      peak = Math.max(peak, digit.a[i]);
    }
    if (peak <= 0) return null;
    for (let i = 0; i < digit.a.length; i++) digit.a[i] = Math.min(1, Math.max(0, f32(digit.a[i] / peak)));
    return placeByMass(digit);
  }

  // ---- the network (lenet/net/model.py), from the payload lenet/reading/webread.py makes ----
  function b64floats(text) {
    let bytes;
    if (typeof atob === "function") {
      const s = atob(text);
      bytes = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    } else bytes = new Uint8Array(Buffer.from(text, "base64"));
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);  // little-endian, as exported
  }

  const decoded = new Map();  // payload key -> the model, decoded once
  function load(payload) {
    if (!payload || !payload.key) throw new Error("no model payload");
    let m = decoded.get(payload.key);
    if (m) return m;
    const t = {};
    for (const [name, spec] of Object.entries(payload.tensors)) t[name] = { shape: spec.shape, data: b64floats(spec.data) };
    const th = payload.thresholds;
    const decodeHead = (d) => {
      if (!d) return null;
      const h = { n: d.n_in, hidden: d.hidden, t: {} };
      for (const [name, data] of Object.entries(d.tensors)) h.t[name] = b64floats(data);
      return h;
    };
    const head = decodeHead(th.head), lookalike = decodeHead(th.lookalike);
    m = { cfg: payload.config, t, th, head, lookalike, classes: payload.classes, readsDigits: payload.reads_digits,
      key: payload.key };
    if (decoded.size > 8) decoded.delete(decoded.keys().next().value);
    decoded.set(payload.key, m);
    return m;
  }

  const ACT = {
    relu: (v) => (v > 0 ? v : 0),
    tanh: Math.tanh,
    scaled_tanh: (v) => 1.7159 * Math.tanh(v * (2.0 / 3.0)),
    sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  };

  function conv5(x, cin, size, w, b, cout) {  // valid 5x5 convolution, (cin, size, size) -> (cout, size-4, size-4)
    const o = size - 4, out = new Float32Array(cout * o * o);
    for (let co = 0; co < cout; co++) {
      for (let y = 0; y < o; y++) {
        for (let xx = 0; xx < o; xx++) {
          let acc = b[co];
          for (let ci = 0; ci < cin; ci++) {
            const wb = (co * cin + ci) * 25, xb = ci * size * size;
            for (let ky = 0; ky < 5; ky++) {
              const row = xb + (y + ky) * size + xx, wr = wb + ky * 5;
              acc += x[row] * w[wr] + x[row + 1] * w[wr + 1] + x[row + 2] * w[wr + 2] + x[row + 3] * w[wr + 3] + x[row + 4] * w[wr + 4];
            }
          }
          out[(co * o + y) * o + xx] = acc;
        }
      }
    }
    return out;
  }

  function pool(x, c, size, kind, coef, bias) {  // 2x2, stride 2: max, avg, or the paper's sum * coef + bias
    const o = size >> 1, out = new Float32Array(c * o * o);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < o; y++) {
        for (let xx = 0; xx < o; xx++) {
          const i = ch * size * size + 2 * y * size + 2 * xx;
          const a = x[i], b = x[i + 1], cc = x[i + size], d = x[i + size + 1];
          let v;
          if (kind === "max") v = Math.max(a, b, cc, d);
          else if (kind === "avg") v = (a + b + cc + d) / 4;
          else v = f32(f32((a + b + cc + d) / 4) * 4) * coef[ch] + bias[ch];
          out[(ch * o + y) * o + xx] = v;
        }
      }
    }
    return out;
  }

  function linear(x, w, b, nout) {
    const nin = x.length, out = new Float32Array(nout);
    for (let o = 0; o < nout; o++) {
      let acc = b[o];
      const base = o * nin;
      for (let i = 0; i < nin; i++) acc += w[base + i] * x[i];
      out[o] = acc;
    }
    return out;
  }

  function applyAct(x, fn) { for (let i = 0; i < x.length; i++) x[i] = fn(x[i]); return x; }

  // input: (S x S) normalised float32 -> {s4, c5, f6, output}
  function forward(m, input) {
    const cfg = m.cfg, t = m.t, act = ACT[cfg.activation], S = cfg.input_size;
    const c1n = cfg.c1_channels, c3n = cfg.c3_channels;
    const c1 = applyAct(conv5(input, 1, S, t["c1.weight"].data, t["c1.bias"].data, c1n), act);
    const sub = cfg.pooling === "subsample";
    let s2 = pool(c1, c1n, S - 4, cfg.pooling, sub && t["s2.weight"].data, sub && t["s2.bias"].data);
    if (sub) applyAct(s2, act);
    const n2 = (S - 4) >> 1;
    const c3 = applyAct(conv5(s2, c1n, n2, t["c3.weight"].data, t["c3.bias"].data, c3n), act);
    let s4 = pool(c3, c3n, n2 - 4, cfg.pooling, sub && t["s4.weight"].data, sub && t["s4.bias"].data);
    if (sub) applyAct(s4, act);
    const c5 = applyAct(linear(s4, t["c5.weight"].data, t["c5.bias"].data, cfg.c5_units), act);
    const f6 = applyAct(linear(c5, t["f6.weight"].data, t["f6.bias"].data, cfg.f6_units), act);
    let output;
    if (cfg.output === "rbf") {
      const p = t["output.prototypes"].data, n = cfg.num_classes;
      output = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        let acc = 0;
        for (let j = 0; j < f6.length; j++) { const dlt = f32(f6[j] - p[k * f6.length + j]); acc += dlt * dlt; }
        output[k] = acc;
      }
    } else {
      output = linear(f6, t["output.weight"].data, t["output.bias"].data, cfg.num_classes + (cfg.reject_class ? 1 : 0));
    }
    return { s4, c5, f6, output };
  }

  function softmax(v) {
    let m = -Infinity;
    for (const x of v) m = Math.max(m, x);
    const e = v.map((x) => Math.exp(x - m));
    let s = 0;
    for (const x of e) s += x;
    return e.map((x) => x / s);
  }

  // Thresholds.temperature: 1.0 for checkpoints without one (as Thresholds' default)
  function temperature(th) { return th.temperature === undefined || th.temperature === null ? 1.0 : th.temperature; }

  // verdict.output_probabilities: each class's probability among the classes (softmax of the class logits /
  // temperature) and the model's own "not a digit" probability (the untempered softmax's over every output)
  function outputProbabilities(cfg, th, output) {
    const k = cfg.num_classes, out = Array.from(output);
    const logits = cfg.output === "rbf" ? out.map((v) => -v) : out, temp = temperature(th);
    return { probs: softmax(logits.slice(0, k).map((v) => v / temp)), reject: rejectProbability(cfg, logits) };
  }

  function rejectProbability(cfg, logits) {  // verdict._reject_probability
    if (cfg.reject_class) return softmax(logits)[cfg.num_classes];
    if (cfg.rbf_reject !== null && cfg.rbf_reject !== undefined) {
      return softmax(logits.concat([-cfg.rbf_reject]))[cfg.num_classes];
    }
    return 0.0;
  }

  // inference.read (from the framed digit on): activations, the probabilities once, and the verdict
  function readDigit(m, digit) {
    const cfg = m.cfg, S = cfg.input_size, pad = (S - 28) >> 1;
    const x01 = new Float32Array(S * S);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) x01[(y + pad) * S + x + pad] = digit[y * 28 + x];
    const mean = f32(cfg.mean), std = f32(cfg.std), input = new Float32Array(S * S);
    for (let i = 0; i < S * S; i++) input[i] = f32(f32(x01[i] - mean) / std);
    const acts = forward(m, input);
    const { probs, reject } = outputProbabilities(cfg, m.th, acts.output);
    return { x01, acts, probs, reject, verdict: decide(m, acts, probs, reject) };
  }

  // ---- lenet/reading/verdict.py ----
  function headLogit(h, acts) {  // FeatureHead.forward, float32
    const feats = [...acts.s4, ...acts.c5, ...acts.f6];
    const mean = h.t["mean"], std = h.t["std"], w1 = h.t["net.0.weight"], b1 = h.t["net.0.bias"];
    const w2 = h.t["net.2.weight"], b2 = h.t["net.2.bias"];
    const z = new Float32Array(feats.length);
    for (let i = 0; i < feats.length; i++) z[i] = f32(f32(feats[i] - mean[i]) / std[i]);
    let logit = b2[0];
    for (let j = 0; j < h.hidden; j++) {
      let acc = b1[j];
      for (let i = 0; i < z.length; i++) acc += w1[j * z.length + i] * z[i];
      acc = f32(acc);
      if (acc > 0) logit += acc * w2[j];
    }
    return f32(logit);
  }

  function headScore(m, acts) { return f32(1 / (1 + Math.exp(-headLogit(m.head, acts)))); }

  // verdict.letter_probability: P(a letter or symbol written like a digit), 0 without a lookalike head
  function letterProbability(m, acts) {
    if (!m.lookalike) return 0.0;
    const th = m.th, scale = th.letter_scale === undefined ? 1.0 : th.letter_scale;
    const bias = th.letter_bias === undefined ? -2.1972 : th.letter_bias;
    return 1 / (1 + Math.exp(-(scale * headLogit(m.lookalike, acts) + bias)));
  }

  function rejectScore(m, acts, kind, reject) {  // verdict.reject_scores, given the reading's "not a digit" probability
    const cfg = m.cfg, k = cfg.num_classes, out = Array.from(acts.output);
    if (kind === "reject+head") return Math.max(reject, rejectScore(m, acts, "head", reject));
    if (kind === "head") return headScore(m, acts);
    if (kind === "rbf_distance") return Math.min(...out.slice(0, k));
    if (kind === "reject") return reject;
    const digits = (cfg.output === "rbf" ? out.map((v) => -v) : out).slice(0, k);
    if (kind === "energy") {
      const mx = Math.max(...digits);
      let s = 0;
      for (const v of digits) s += Math.exp(v - mx);
      return -(mx + Math.log(s));
    }
    if (kind === "max_softmax") return 1 - Math.max(...softmax(digits));
    throw new Error("unknown score " + kind);
  }

  function orderDesc(p) { return p.map((v, i) => i).sort((a, b) => p[b] - p[a] || b - a); }

  // verdict.decide: THE rule, for every model (a model of other classes never says "not a digit": its payload's
  // thresholds have no not_digit)
  function decide(m, acts, p, reject) {
    const th = m.th, classes = m.classes, order = orderDesc(p);
    const first = classes[order[0]], second = classes[order[1]], p1 = p[order[0]], p2 = p[order[1]];
    const score = rejectScore(m, acts, th.score, reject);
    const letter = letterProbability(m, acts);
    const s1 = p1 * (1 - letter), s2 = p2 * (1 - letter);  // stated: it may be a letter written like a digit
    const noun = m.readsDigits ? "digit" : "item";
    const v = { best: first, probability: s1, runner_up: second, runner_up_probability: s2, score, letter, noun };
    if (th.not_digit !== null && th.not_digit !== undefined && score > th.not_digit) {
      return { ...v, kind: "not a digit", digit: null, reason: notDigitReason(th, score) };
    }
    if (p1 < th.unsure_top || p1 - p2 < th.unsure_margin) {
      const reason = `two ${noun}s compete: ${first} (${pct(s1, 0)}) or ${second} (${pct(s2, 0)})`;
      return { ...v, kind: "unsure", digit: null, reason };
    }
    const maybe = letter >= LETTER_NOTE ? `; it may also be a letter or symbol (${pct(letter, 0)})` : "";
    return { ...v, kind: "digit", digit: first,
      reason: `${first} (${probabilityWords(s1)}); runner-up ${second} (${probabilityWords(s2)})${maybe}` };
  }

  // Python's format(x, ".Nf") (exact decimal value, ties to even) and ".N%"
  function fixed(x, digits) {
    const s = x.toFixed(Math.min(100, digits + 60));  // exact enough to see a tie
    const dot = s.indexOf("."), keep = s.slice(0, dot + 1 + digits), rest = s.slice(dot + 1 + digits);
    const plain = digits === 0 ? keep.slice(0, -1) : keep;
    if (rest[0] < "5") return plain;
    const tie = rest[0] === "5" && /^50*$/.test(rest);
    const lastDigit = Number(plain.replace(/\D/g, "").slice(-1));
    if (tie && lastDigit % 2 === 0) return plain;
    return (Number(plain) + Math.pow(10, -digits) * (x < 0 ? -1 : 1)).toFixed(digits);
  }
  function pct(x, digits) { return fixed(x * 100, digits) + "%"; }
  function fmt0(x) { return fixed(x, 0); }
  function probabilityWords(p) {  // verdict.probability_words: never "100%", "over 99.9%" at the top
    if (p > 0.999) return "over 99.9%";
    if (p < 0.001) return "under 0.1%";
    return pct(p, 1);
  }

  function notDigitReason(th, score) {
    if (["reject", "head", "reject+head"].includes(th.score)) {
      return "it looks more like the scribbles, letters and doodles this model learned to tell apart from " +
        `digits (its not-a-digit score: ${pct(score, 0)}, refused above ${pct(th.not_digit, 0)}) than like any digit it ` +
        "was trained on";
    }
    if (th.score === "rbf_distance") {
      return `its F6 code is far from every digit's prototype (distance ${fmt0(score)}; the digits it was ` +
        `trained on are closer than ${fmt0(th.not_digit)})`;
    }
    return "none of the ten digit units responds the way they do to the digits the model was trained on";
  }

  const TELL_APART = {
    "49": "a 4 is open at the top, a 9 closes its loop",
    "17": "a 7 has a bar across the top, a 1 at most a short flag",
    "35": "a 5 has a flat top bar and a corner, a 3 two round bumps",
    "38": "an 8 closes both loops, a 3 leaves them open on the left",
    "56": "a 6 closes its bottom loop, a 5 leaves it open",
    "06": "a 6 has a small loop at the bottom and a tail, a 0 is one round loop",
    "89": "an 8 has two closed loops, a 9 one loop on a stem",
    "27": "a 2 has a flat base, a 7 a straight stem down",
    "01": "a 0 is a loop, a 1 a single stroke",
    "23": "a 2 ends in a flat base, a 3 curls back in",
    "58": "an 8 is closed on both sides, a 5 has a corner at the top left",
    "69": "a 6 has its loop at the bottom, a 9 at the top",
    "47": "a 4 has a crossing bar low down, a 7 a bar at the top",
  };
  function unsureAdvice(v) {
    const hint = v.noun === "digit" ? TELL_APART[[v.best, v.runner_up].sort().join("")] : undefined;
    return hint ? `Draw it again so they differ: ${hint}.` : `Draw it again, one clear ${v.noun} filling the box.`;
  }

  // lenet/present/icons.py: empty spans that layout.css draws (colour emoji need a font many machines lack)
  const icon = (name) => `<span class="ico ico-${name}" aria-hidden="true"></span>`;
  const PEN = icon("pen"), ASK = icon("ask"), NO = icon("no");

  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  function title(v) {  // verdict.title
    if (v.kind === "not a digit") return `${NO} That doesn't look like a digit`;
    if (v.kind === "unsure") return `${ASK} Not sure — **${esc(v.best)}** or ${esc(v.runner_up)}?`;
    return `I read: **${esc(v.best)}**`;
  }

  function markdown(v) {  // verdict.markdown
    if (v.kind === "not a digit") {
      return `### ${title(v)}\n${esc(v.reason[0].toUpperCase() + v.reason.slice(1))}. If you meant a digit, ` +
        `draw one digit, 0–9, filling the box. (Closest digit: **${esc(v.best)}**.)`;
    }
    if (v.kind === "unsure") {
      return `### ${title(v)}\n${esc(v.best)} (${pct(v.probability, 0)}) and ` +
        `${esc(v.runner_up)} (${pct(v.runner_up_probability, 0)}) compete. ${unsureAdvice(v)}`;
    }
    const maybe = (v.letter || 0) >= LETTER_NOTE ? ` · it may also be a letter or symbol (${pct(v.letter, 0)})` : "";
    return `### ${title(v)}\nProbability ${probabilityWords(v.probability)} · runner-up ` +
      `${esc(v.runner_up)} (${probabilityWords(v.runner_up_probability)})${maybe}`;
  }

  // ---- lenet/present/draw_view.py ----
  const EMPTY_PROMPT = `### ${PEN} Draw a digit\nBig, anywhere in the box: it is scaled and centred the way MNIST was.`;
  const PROBABILITY_SCORES = ["reject", "head", "reject+head"];

  function confidences(m, r) {  // Reading.confidences: each class's probability among the classes
    return m.classes.map((c, i) => [c, r.probs[i]]);
  }

  function labelEntries(m, r) {  // draw_view.label_value, as [label, confidence] pairs in dict order
    const conf = confidences(m, r), v = r.verdict;
    const [lead, share] = v.kind === "not a digit" && PROBABILITY_SCORES.includes(m.th.score)
      ? ["not a digit", v.score] : [LETTER, v.letter || 0];  // 0 without a lookalike head: no entry
    return (share > 0 ? [[lead, share]] : []).concat(conf.map(([c, p]) => [c, (1 - share) * p]))
      .map(([c, p]) => [c, Math.min(p, PANEL_TOP)]);
  }

  function labelValue(entries, top = 11) {  // gr.Label's postprocess: sorted, highest first (a stable sort)
    const sorted = entries.map((e, i) => [e, i]).sort((a, b) => b[0][1] - a[0][1] || a[1] - b[1]).map((e) => e[0]).slice(0, top);
    return { label: sorted[0][0], confidences: sorted.map(([label, confidence]) => ({ label, confidence })) };
  }

  function seenPixels(x01, size, pad) {  // render.network_view (before upscaling): RGBA bytes
    const px = new Uint8ClampedArray(size * size * 4);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x, border = pad && (y < pad || x < pad || y >= size - pad || x >= size - pad);
        const g = Math.trunc(f32(Math.min(1, Math.max(0, x01[i])) * 255));
        let rgb = [g, g, g];
        if (border) rgb = [0, 1, 2].map((c) => Math.trunc(f32(f32(f32(g) * f32(0.3)) + [45, 85, 200][c] * 0.7)));
        px.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
      }
    }
    return px;
  }

  function pngDataUrl(px, size) {
    const c = document.createElement("canvas");
    c.width = c.height = size;
    c.getContext("2d").putImageData(new ImageData(px, size, size), 0, 0);
    return c.toDataURL("image/png");
  }

  function seenHtml(cfg, x01) {  // draw_view.seen_html
    const size = cfg.input_size, pad = (size - 28) >> 1;
    const caption = "Your drawing the way MNIST digits were made: scaled into 20×20 with its strokes evened to MNIST's " +
      "pen, centred in 28×28" + (pad ? `; the blue frame is the padding to LeNet-5's ${size}×${size} input.`
        : `; this model reads ${size}×${size} with no padding.`);
    let body;
    if (!x01) body = '<div class="seen-empty">What the network sees appears here</div>';
    else {
      const alt = `What the network sees: your drawing as a ${size}×${size} grey image, white ink on black, scaled ` +
        "and centred" + (pad ? `, inside a blue ${pad}-pixel frame of padding` : "");
      body = `<img class="px" src="${pngDataUrl(seenPixels(x01, size, pad), size)}" width="${size}" height="${size}" alt="${alt}">`;
    }
    return `<figure class="seen"><figcaption class="seen-title">What the network sees</figcaption>${body}` +
      `<figcaption class="seen-caption">${caption}</figcaption></figure>`;
  }

  // The whole reading of a drawing (the Draw surface's JSON value) with a model's payload: plain data
  function read(value, payload) {
    const m = load(payload), d = parse(value);
    const res = { seq: d.seq, empty: true, model: m };
    if (!d.strokes.length) return res;
    const digit = canvasToDigit(rasterise(d), SIZE);
    if (digit === null) return res;
    const r = readDigit(m, digit);
    return Object.assign(res, { empty: false, digit, reading: r, entries: labelEntries(m, r) });
  }

  // What the Draw tab shows, as draw_view.draw_view + the echoed sequence number give it:
  // [verdict markdown, gr.Label value (or null), "what the network sees" HTML, sequence number as text]
  function outputs(value, payload) { return outputsOf(read(value, payload)); }

  function outputsOf(res) {
    const cfg = res.model.cfg;
    // No reading: the Probabilities panel is emptied ({}: Gradio 6.31 stops applying a browser-only event's
    // outputs at a bare null)
    if (res.empty) return [EMPTY_PROMPT, {}, seenHtml(cfg, null), String(res.seq)];
    return [markdown(res.reading.verdict), labelValue(res.entries), seenHtml(cfg, res.reading.x01),
      String(res.seq)];
  }

  // While the pen is down: the best guess, quietly (no "not a digit" explanation until pen-up; issue 29)
  function quietText(res) {
    if (res.empty) return EMPTY_PROMPT;
    const r = res.reading, order = orderDesc(r.probs), best = res.model.classes[order[0]];
    return `### ${PEN} … **${esc(best)}**?\nReading as you draw: best guess ${esc(best)} (${pct(r.probs[order[0]], 0)}). ` +
      "The verdict comes when you lift the pen.";
  }

  return {
    version: 1, SIZE, BRUSH, parse, penWidth, rasterise, canvasToDigit, resize, load, forward, readDigit, decide,
    markdown, probabilityWords, outputProbabilities, letterProbability, labelEntries, labelValue, seenHtml, seenPixels,
    read, outputs, outputsOf, quietText, pct, fixed, roundHalfEven, EMPTY_PROMPT,
  };
});
