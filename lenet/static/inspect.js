// Inspect: point at (hover or tap) any unit of C1, S2, C3, S4 -> the input region it sees is outlined and its
// value shown; click it -> its arithmetic (patch, kernel, weighted sum, activation). Everything is computed
// here from the payload the server put in the page (lenet/reading/explain.py: unit_payload, whose Python twin
// unit_detail is what the tests compare with), so nothing is fetched on hover.
(() => {
  if (window.__lenetInspect) return;
  window.__lenetInspect = true;
  const RF = { c1: [1, 5], s2: [2, 6], c3: [2, 14], s4: [4, 16] }; // [stride, size] in input pixels
  const BELOW = { c1: "input", s2: "c1", c3: "s2", s4: "c3" };
  const ACT = {
    relu: (a) => Math.max(a, 0), tanh: Math.tanh, sigmoid: (a) => 1 / (1 + Math.exp(-a)),
    scaled_tanh: (a) => 1.7159 * Math.tanh((a * 2) / 3),
  };
  const ACT_NAME = { relu: "ReLU", tanh: "tanh", sigmoid: "sigmoid", scaled_tanh: "1.7159·tanh(2a/3)" };
  let decoded = { el: null, p: null };
  let pinned = null;

  const f32 = (b64) => {
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  };
  function payload() {
    const el = document.querySelector(".unit-panel .insp-data");
    if (!el) return null;
    if (decoded.el !== el) {
      const p = JSON.parse(el.dataset.payload);
      for (const group of [p.maps, p.weights]) for (const k in group) group[k].a = f32(group[k].data);
      decoded = { el, p };
      pinned = null;
    }
    return decoded.p;
  }
  const at = (t, c, y, x) => t.a[(c * t.shape[1] + y) * t.shape[2] + x];
  const kernel = (w, o, i) => { // 5x5 of weight (out, in, 5, 5)
    const k = [], base = (o * w.shape[1] + i) * 25;
    for (let r = 0; r < 5; r++) k.push(Array.from(w.a.slice(base + r * 5, base + r * 5 + 5)));
    return k;
  };
  const window_ = (t, c, y, x, n) => {
    const out = [];
    for (let r = 0; r < n; r++) { const row = []; for (let q = 0; q < n; q++) row.push(at(t, c, y + r, x + q)); out.push(row); }
    return out;
  };

  // The arithmetic of one unit, as lenet/reading/explain.py:unit_detail computes it.
  function detail(p, layer, m, y, x) {
    const d = { layer, m, y, x, value: at(p.maps[layer], m, y, x) };
    const f = ACT[p.activation];
    if (layer === "c1" || layer === "c3") {
      const below = p.maps[BELOW[layer]], w = p.weights[layer];
      const maps = layer === "c1" ? [0] : p.c3_inputs[m];
      d.inputs = maps.map((i) => {
        const patch = window_(below, i, y, x, 5), k = kernel(w, m, i);
        let s = 0;
        for (let r = 0; r < 5; r++) for (let q = 0; q < 5; q++) s += patch[r][q] * k[r][q];
        return { map: i, patch, kernel: k, sum: s };
      });
      d.weighted_sum = d.inputs.reduce((s, part) => s + part.sum, 0);
      d.bias = p.bias[layer][m];
      let pre = d.weighted_sum + d.bias;
      const bn = p.batch_norm[layer];
      if (bn) { d.batch_norm = [bn[0][m], bn[1][m]]; pre = pre * bn[0][m] + bn[1][m]; }
      d.pre_activation = pre;
      d.activation = f(pre);
    } else {
      d.window = window_(p.maps[BELOW[layer]], m, 2 * y, 2 * x, 2);
      const v = d.window.flat();
      d.pooling = p.pooling;
      if (p.pooling === "max") d.activation = Math.max(...v);
      else if (p.pooling === "avg") d.activation = v.reduce((a, b) => a + b, 0) / 4;
      else {
        const [coef, bias] = p.subsample[layer].map((a) => a[m]);
        d.coefficient = coef; d.bias = bias;
        d.pre_activation = v.reduce((a, b) => a + b, 0) * coef + bias;
        d.activation = f(d.pre_activation);
      }
    }
    return d;
  }

  const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));
  const short = (v) => (Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)); // numbers in the 5x5 grids
  function grid(rows, cls) {
    const lim = Math.max(1e-6, ...rows.flat().map(Math.abs));
    const cell = (v) => {
      const t = Math.min(1, Math.abs(v) / lim), c = v >= 0 ? "214,96,77" : "67,147,195";
      return `<td style="background:rgba(${c},${(t * 0.85).toFixed(2)})" title="${v}">${short(v)}</td>`;
    };
    return `<table class="num-grid ${cls}">${rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("")}</table>`;
  }
  const unitName = (u) => `${u.layer.toUpperCase()}·${u.m} at row ${u.y}, column ${u.x}`;

  function detailHtml(p, d) {
    const actName = ACT_NAME[p.activation] || p.activation;
    let h = ""; // the readout above already names the unit
    if (d.inputs) {
      const srcName = d.layer === "c1" ? "input" : "S2";
      if (d.layer === "c3") {
        h += `<p>Reads S2 maps <b>${d.inputs.map((i) => i.map).join(", ")}</b>` +
          (p.sparse_c3 ? " (the paper's connection table)" : " (all of them: full connection)") + ".</p>";
      }
      const shown = d.inputs.slice(0, 6);
      for (const part of shown) {
        h += `<div class="mac"><div><small>${srcName}${d.layer === "c3" ? "·" + part.map : ""} 5×5 patch</small>` +
          grid(part.patch, "patch") + `</div><span class="op">⊙</span><div><small>kernel</small>` +
          grid(part.kernel, "kern") + `</div><span class="op">= <b>${fmt(part.sum)}</b></span></div>`;
      }
      if (d.inputs.length > shown.length) {
        h += `<p class="fmap-note">…and ${d.inputs.length - shown.length} more maps: ` +
          d.inputs.slice(6).map((i) => `S2·${i.map} ${fmt(i.sum)}`).join(", ") + "</p>";
      }
      h += `<p class="sum">weighted sum Σ = <b>${fmt(d.weighted_sum)}</b> · + bias ${fmt(d.bias)}`;
      if (d.batch_norm) h += ` · BatchNorm ×${fmt(d.batch_norm[0])} + ${fmt(d.batch_norm[1])}`;
      h += ` = ${fmt(d.pre_activation)}</p><p class="sum">activation ${actName}(${fmt(d.pre_activation)}) = ` +
        `<b class="act">${fmt(d.activation)}</b></p>`;
    } else {
      const src = d.layer === "s2" ? "C1" : "C3";
      h += `<div class="mac"><div><small>${src}·${d.m} 2×2 window</small>${grid(d.window, "patch")}</div></div>`;
      if (d.pooling === "max") h += `<p class="sum">max-pooling: the largest = <b class="act">${fmt(d.activation)}</b></p>`;
      else if (d.pooling === "avg") h += `<p class="sum">average-pooling: the mean = <b class="act">${fmt(d.activation)}</b></p>`;
      else {
        h += `<p class="sum">sum ${fmt(d.window.flat().reduce((a, b) => a + b, 0))} × coefficient ${fmt(d.coefficient)} + ` +
          `bias ${fmt(d.bias)} = ${fmt(d.pre_activation)} (the paper's trainable subsampling)</p>` +
          `<p class="sum">activation ${actName}(${fmt(d.pre_activation)}) = <b class="act">${fmt(d.activation)}</b></p>`;
      }
    }
    return h + `<p class="fmap-note">Value stored by the network: ${fmt(d.value)}.</p>`;
  }

  function unitAt(img, ev) {
    const r = img.getBoundingClientRect(); // the border box: the picture starts inside the border
    const h = +img.dataset.h, w = +img.dataset.w;
    const fx = (ev.clientX - r.left - img.clientLeft) / img.clientWidth;
    const fy = (ev.clientY - r.top - img.clientTop) / img.clientHeight;
    const x = Math.min(w - 1, Math.max(0, Math.floor(fx * w)));
    const y = Math.min(h - 1, Math.max(0, Math.floor(fy * h)));
    return { layer: img.closest("[data-layer]").dataset.layer, m: +img.dataset.map, y, x, img };
  }

  function show(u, withDetail) {
    const t0 = performance.now();
    const p = payload();
    if (!p) return;
    const [stride, size] = RF[u.layer], S = p.input_size;
    for (const box of document.querySelectorAll(".rf-box")) {
      Object.assign(box.style, {
        display: "block", left: `${(100 * u.x * stride) / S}%`, top: `${(100 * u.y * stride) / S}%`,
        width: `${(100 * size) / S}%`, height: `${(100 * size) / S}%`,
      });
    }
    document.querySelectorAll(".unit-cursor.on").forEach((c) => c.classList.remove("on"));
    const cur = u.img.parentElement.querySelector(".unit-cursor");
    if (cur) {
      const h = +u.img.dataset.h, w = +u.img.dataset.w;
      const im = u.img, left = im.offsetLeft + im.clientLeft, top = im.offsetTop + im.clientTop;
      Object.assign(cur.style, { left: `${left + (u.x / w) * im.clientWidth}px`,
        top: `${top + (u.y / h) * im.clientHeight}px`,
        width: `${im.clientWidth / w}px`, height: `${im.clientHeight / h}px` });
      cur.classList.add("on");
    }
    markSources(p, u);
    const panel = document.querySelector(".unit-panel");
    const value = at(p.maps[u.layer], u.m, u.y, u.x);
    panel.querySelector(".unit-readout").innerHTML =
      `<b>${unitName(u)}</b>: ${fmt(value)} · sees input rows ${u.y * stride}–${u.y * stride + size - 1}, ` +
      `columns ${u.x * stride}–${u.x * stride + size - 1} (${size}×${size})` +
      (withDetail ? "" : '<br><span class="fmap-note">click for its arithmetic</span>');
    if (withDetail) {
      panel.querySelector(".unit-detail").innerHTML = detailHtml(p, detail(p, u.layer, u.m, u.y, u.x));
      // a C3 unit: light its column of the S2 -> C3 table
      document.querySelectorAll(".c3-table td.col").forEach((td) => td.classList.remove("col"));
      if (u.layer === "c3") document.querySelectorAll(`.c3-table td[data-c3="${u.m}"]`).forEach((td) => td.classList.add("col"));
      panel.classList.add("pinned");
    }
    // which unit is under the pointer, and which one the detail below is about (for tests and benchmarks)
    panel.dataset.hover = `${u.layer}:${u.m}:${u.y}:${u.x}`;
    if (withDetail) panel.dataset.unit = panel.dataset.hover;
    panel.dataset.ms = (performance.now() - t0).toFixed(1); // for the benchmark: time to show, in the browser
  }

  // Light what the unit reads in the layer below: its 2x2 window (S2, S4) or its 5x5 patch in each map it reads
  // (C3; C1 reads the input, outlined above).
  function markSources(p, u) {
    document.querySelectorAll(".src-box.on").forEach((b) => b.classList.remove("on"));
    const below = BELOW[u.layer];
    if (below === "input") return;
    const maps = u.layer === "c3" ? p.c3_inputs[u.m] : [u.m];
    const [n, y0, x0] = u.layer === "c3" ? [5, u.y, u.x] : [2, 2 * u.y, 2 * u.x];
    for (const i of maps) {
      const img = document.querySelector(`.fmap-tile[data-layer="${below}"] img.unit-map[data-map="${i}"]`);
      const box = img && img.parentElement.querySelector(".src-box");
      if (!box || img.closest("details:not([open])")) continue; // a folded layer
      const h = +img.dataset.h, w = +img.dataset.w;
      Object.assign(box.style, { left: `${img.offsetLeft + img.clientLeft + (x0 / w) * img.clientWidth}px`,
        top: `${img.offsetTop + img.clientTop + (y0 / h) * img.clientHeight}px`,
        width: `${(n / w) * img.clientWidth}px`, height: `${(n / h) * img.clientHeight}px` });
      box.classList.add("on");
    }
  }

  // The keyboard: Tab reaches each map, the arrow keys move a unit at a time (Shift: four), Enter or Space
  // explains the unit, Escape closes the explanation. Focus shows the unit last visited in that map.
  const keyed = new WeakMap(); // map image -> {y, x}
  const STEP = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  const keyUnit = (img) => {
    const k = keyed.get(img) || { y: 0, x: 0 };
    return { layer: img.closest("[data-layer]").dataset.layer, m: +img.dataset.map, y: k.y, x: k.x, img };
  };
  document.addEventListener("focusin", (ev) => {
    if (ev.target.matches && ev.target.matches("img.unit-map:focus-visible")) show(keyUnit(ev.target), false);
  });
  document.addEventListener("keydown", (ev) => {
    const img = ev.target.matches && ev.target.matches("img.unit-map") ? ev.target : null;
    if (!img) return;
    if (ev.key in STEP) {
      const [dy, dx] = STEP[ev.key].map((d) => d * (ev.shiftKey ? 4 : 1));
      const k = keyUnit(img);
      keyed.set(img, { y: Math.min(+img.dataset.h - 1, Math.max(0, k.y + dy)),
                       x: Math.min(+img.dataset.w - 1, Math.max(0, k.x + dx)) });
      show(keyUnit(img), pinned !== null && pinned.img === img);
      if (pinned && pinned.img === img) pinned = keyUnit(img);
    } else if (ev.key === "Enter" || ev.key === " ") {
      pinned = keyUnit(img);
      show(pinned, true);
    } else if (ev.key === "Escape") {
      document.querySelector(".unit-panel")?.classList.remove("pinned");
      pinned = null;
    } else {
      return;
    }
    ev.preventDefault(); // arrows and Space would scroll the page
  });

  document.addEventListener("pointermove", (ev) => {
    const img = ev.target.closest && ev.target.closest("img.unit-map");
    if (img && ev.pointerType === "mouse") show(unitAt(img, ev), false);
  }, { passive: true });
  document.addEventListener("pointerout", (ev) => {
    if (ev.target.matches && ev.target.matches("img.unit-map") && pinned && ev.pointerType === "mouse") {
      const still = document.contains(pinned.img);
      if (still) show(pinned, true);
    }
  });
  document.addEventListener("click", (ev) => {
    const img = ev.target.closest && ev.target.closest("img.unit-map");
    if (img) {
      pinned = unitAt(img, ev);
      keyed.set(img, { y: pinned.y, x: pinned.x }); // the arrow keys go on from the unit clicked
      show(pinned, true);
      return;
    }
    if (ev.target.closest && ev.target.closest(".unit-close")) {
      document.querySelector(".unit-panel")?.classList.remove("pinned");
      pinned = null;
      return;
    }
    const link = ev.target.closest && ev.target.closest("a.fig2-block");
    if (link) { // the Fig. 2 diagram: open the block's section and bring it into view
      ev.preventDefault();
      const sec = document.getElementById(link.dataset.open);
      if (sec) {
        if (sec.tagName === "DETAILS") sec.open = true;
        sec.scrollIntoView({ behavior: "smooth", block: "start" });
        sec.classList.add("flash");
        setTimeout(() => sec.classList.remove("flash"), 1200);
      }
    }
  });
})();
