// gradwise playground page: builds the controls, talks to the server over one WebSocket, draws the views.
// No library, no network access beyond the server that served this page.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get("token") || "";
  const C0 = [245, 147, 34], C1 = [8, 119, 189];
  const VERDICT_COLOURS = { healthy: "#19803a", vanishing: "#b35c00", exploding: "#c00", dead: "#7a1fa2",
    saturated: "#a36a00", stalled: "#666", noisy: "#0a6ea8" };
  let ws = null, choices = null, settings = null, points = null, last = null, playing = false, errorTimer = null;

  // ------------------------------------------------------------------ connection
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/ws?token=${encodeURIComponent(token)}`);
    ws.onopen = () => send({ type: "hello" });
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { showError("the server sent a message that is not JSON"); return; }
      handle(msg);
    };
    ws.onclose = () => { setStatus("disconnected: reload the page to start a new session"); setPlaying(false); };
  }
  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function handle(msg) {
    switch (msg.type) {
      case "hello": choices = msg.choices; buildControls(); break;
      case "settings": settings = msg.settings; showSettings(); clearError(); break;
      case "data": points = msg; drawBoundary(); break;
      case "views": last = msg; setPlaying(msg.playing); drawViews(); break;
      case "status": setPlaying(msg.playing); if (msg.speed !== undefined) $("speed-out").textContent = msg.speed; break;
      case "export": showExport(msg); break;
      case "triptych": drawTriptych(msg); break;
      case "landscape": drawLandscape(msg); break;
      case "contour": drawContour(msg); break;
      case "error": showError(msg.message); break;
      default: showError(`unknown message from the server: ${msg.type}`);
    }
  }

  // -------------------------------------------------------------------- controls
  function fillSelect(id, values) {
    const sel = $(id);
    sel.textContent = "";
    for (const v of values) {
      const o = document.createElement("option");
      o.value = v; o.textContent = v.replace(/_/g, " ");
      sel.appendChild(o);
    }
  }
  function buildControls() {
    fillSelect("dataset", choices.datasets);
    fillSelect("activation", choices.activations);
    fillSelect("init", choices.inits);
    fillSelect("loss", choices.losses);
    fillSelect("optimizer", choices.optimizers);
    fillSelect("batch_mode", choices.batch_modes);
    const feats = $("features");
    feats.textContent = "";
    for (const f of choices.features) {
      const l = document.createElement("label"), c = document.createElement("input");
      c.type = "checkbox"; c.value = f; c.dataset.feature = f;
      c.addEventListener("change", sendSettings);
      l.appendChild(c); l.appendChild(document.createTextNode(choices.feature_labels[f]));
      feats.appendChild(l);
    }
    const box = $("preset-buttons");
    box.textContent = "";
    for (const p of choices.presets) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = p.title; b.dataset.preset = p.name; b.title = p.sentence;
      b.addEventListener("click", () => { $("preset-sentence").textContent = p.sentence; send({ type: "preset", name: p.name }); });
      box.appendChild(b);
    }
  }
  function showSettings() {
    for (const el of document.querySelectorAll("[data-setting]")) {
      const v = settings[el.dataset.setting];
      el.value = Array.isArray(v) ? v.join(", ") : String(v);
    }
    for (const c of document.querySelectorAll("[data-feature]")) c.checked = settings.features.includes(c.value);
    $("lr-slider").value = Math.log10(settings.lr).toFixed(1);
    $("speed").value = settings.speed;
    $("speed-out").textContent = settings.speed;
    $("batch_size").disabled = settings.batch_mode !== "minibatch";
  }
  // Values go to the server as typed (numbers where they parse): the server checks them and
  // answers a bad one with a message, so the page has one source of truth for what is valid.
  function readValue(el) {
    const raw = el.value.trim();
    if (el.dataset.setting === "hidden") {
      if (raw === "") return [];
      return raw.split(/[,\s]+/).filter((s) => s !== "").map((s) => (/^-?\d+$/.test(s) ? parseInt(s, 10) : s));
    }
    if (el.tagName === "SELECT") return raw;
    if (raw !== "" && !isNaN(Number(raw))) return Number(raw);
    return raw;
  }
  function sendSettings() {
    const out = {};
    for (const el of document.querySelectorAll("[data-setting]")) out[el.dataset.setting] = readValue(el);
    out.features = Array.from(document.querySelectorAll("[data-feature]")).filter((c) => c.checked).map((c) => c.value);
    delete out.speed;
    $("preset-sentence").textContent = "";
    send({ type: "settings", settings: out });
  }
  for (const el of document.querySelectorAll("[data-setting]")) el.addEventListener("change", sendSettings);
  $("lr-slider").addEventListener("input", () => { $("lr").value = Number(Math.pow(10, Number($("lr-slider").value)).toPrecision(2)); });
  $("lr-slider").addEventListener("change", sendSettings);
  $("speed").addEventListener("input", () => { $("speed-out").textContent = $("speed").value; });
  $("speed").addEventListener("change", () => send({ type: "speed", value: Number($("speed").value) }));
  $("play").addEventListener("click", () => send({ type: playing ? "pause" : "play" }));
  $("step").addEventListener("click", () => send({ type: "step", n: 1 }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("export").addEventListener("click", () => send({ type: "export" }));
  $("triptych-button").addEventListener("click", () => { setStatus("retraining at three learning rates…"); send({ type: "triptych" }); });
  $("landscape-random").addEventListener("click", () => send({ type: "landscape", kind: "random" }));
  $("landscape-path").addEventListener("click", () => send({ type: "landscape", kind: "path" }));
  $("contour-button").addEventListener("click", () => {
    const msg = { type: "contour" };
    for (const k of ["i", "j"]) { const el = $(`contour-${k}`); if (el.value.trim() !== "") msg[k] = readValue(el); }
    send(msg);
  });

  function setPlaying(p) {
    playing = !!p;
    $("play").textContent = playing ? "❚❚ pause" : "▶ play";
    $("play").classList.toggle("active", playing);
  }
  function setStatus(text) { $("status").textContent = text; }
  function showError(text) {
    const box = $("error");
    box.textContent = text; box.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(clearError, 12000);
  }
  function clearError() { $("error").hidden = true; }
  function showExport(msg) {
    $("export-panel").hidden = false;
    $("export-python").value = msg.python;
    $("export-command").value = msg.command ||
      "(no gradwise train equivalent: it trains only spirals or moons, with x, y as inputs, the default " +
      "initialisation, cross-entropy and no dropout)";
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(msg.python).catch(() => {});
    $("export-panel").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  // ----------------------------------------------------------------------- views
  const fmt = (v) => (v === null || v === undefined ? "—" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)
    ? v.toExponential(2) : v.toPrecision(3));

  function drawViews() {
    const v = last;
    const tl = v.train_loss[v.train_loss.length - 1], vl = v.val_loss[v.val_loss.length - 1];
    setStatus(`step ${v.step} · epoch ${v.epoch.toFixed(1)} · train loss ${fmt(tl)} · val loss ${fmt(vl)} · ` +
      `accuracy ${v.train_accuracy === null ? "—" : (100 * v.train_accuracy).toFixed(0) + "%"}` +
      (v.diverged ? " · DIVERGED" : ""));
    $("loss-text").textContent = `train ${fmt(tl)}, validation ${fmt(vl)}`;
    $("loss-text").dataset.trainLoss = tl === null ? "nan" : String(tl);
    drawBoundary(); drawLoss(); drawGradients(); drawHistograms();
  }

  const field = document.createElement("canvas");
  function drawBoundary() {
    const cv = $("boundary"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    if (last) {
      const n = last.boundary.size, bytes = atob(last.boundary.data);
      field.width = n; field.height = n;
      const fctx = field.getContext("2d"), img = fctx.createImageData(n, n);
      for (let i = 0; i < n * n; i++) {
        const p = bytes.charCodeAt(i) / 255, a = Math.abs(p - 0.5) * 1.6;     // pale near the boundary
        const c = p > 0.5 ? C1 : C0;
        for (let k = 0; k < 3; k++) img.data[4 * i + k] = Math.round(255 + (c[k] - 255) * a * 0.55);
        img.data[4 * i + 3] = 255;
      }
      fctx.putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(field, 0, 0, W, H);
    }
    if (!points) return;
    const box = points.box, sx = (x) => ((x + box) / (2 * box)) * W, sy = (y) => ((box - y) / (2 * box)) * H;
    for (const [part, hollow] of [["train", false], ["val", true]]) {
      const d = points[part];
      for (let i = 0; i < d.label.length; i++) {
        const c = d.label[i] ? C1 : C0;
        ctx.beginPath(); ctx.arc(sx(d.xy[i][0]), sy(d.xy[i][1]), 3, 0, 2 * Math.PI);
        ctx.lineWidth = hollow ? 1.5 : 0.8;
        if (hollow) { ctx.strokeStyle = `rgb(${c})`; ctx.stroke(); }
        else { ctx.fillStyle = `rgb(${c})`; ctx.fill(); ctx.strokeStyle = "#fff"; ctx.stroke(); }
      }
    }
  }

  function drawLoss() {
    const cv = $("loss-curve"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height, v = last;
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    const vals = v.train_loss.concat(v.val_loss).filter((x) => x !== null && x > 0);
    if (vals.length < 1) return;
    let lo = Math.log10(Math.min(...vals)), hi = Math.log10(Math.max(...vals));
    if (hi - lo < 0.1) { lo -= 0.05; hi += 0.05; }
    const L = 44, R = 8, T = 8, B = 20, xs = v.curve_steps, xmax = Math.max(1, xs[xs.length - 1]);
    const px = (s) => L + (s / xmax) * (W - L - R), py = (y) => T + (1 - (Math.log10(y) - lo) / (hi - lo)) * (H - T - B);
    ctx.strokeStyle = "#ccc"; ctx.lineWidth = 1; ctx.strokeRect(L, T, W - L - R, H - T - B);
    ctx.fillStyle = "#666"; ctx.font = "11px sans-serif";
    ctx.fillText(fmt(Math.pow(10, hi)), 2, T + 9); ctx.fillText(fmt(Math.pow(10, lo)), 2, H - B);
    ctx.fillText("0", L, H - 6); ctx.fillText(`${xmax} updates`, W - R - 70, H - 6);
    for (const [ys, colour] of [[v.train_loss, `rgb(${C1})`], [v.val_loss, `rgb(${C0})`]]) {
      ctx.strokeStyle = colour; ctx.lineWidth = 1.6; ctx.beginPath();
      let pen = false;
      for (let i = 0; i < ys.length; i++) {
        if (ys[i] === null || ys[i] <= 0) { pen = false; continue; }
        if (pen) ctx.lineTo(px(xs[i]), py(ys[i])); else ctx.moveTo(px(xs[i]), py(ys[i]));
        pen = true;
      }
      ctx.stroke();
    }
  }

  function drawGradients() {
    const g = last.gradients, body = document.querySelector("#gradients tbody");
    body.textContent = "";
    for (const l of g.layers) {
      const tr = document.createElement("tr");
      for (const [text, cls] of [[`${l.name} ${l.activation || l.kind}`, ""], [fmt(l.grad_norm), ""], [fmt(l.relative), ""], [l.verdict, "verdict v-" + l.verdict]]) {
        const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td);
      }
      tr.dataset.verdict = l.verdict;
      tr.title = l.label;
      body.appendChild(tr);
    }
    const ul = $("advice");
    ul.textContent = "";
    for (const a of g.advice.slice(0, 3)) { const li = document.createElement("li"); li.textContent = a; ul.appendChild(li); }
  }

  function drawHistograms() {
    const cv = $("histograms"), hs = last.histograms, want = Math.max(120, 44 * hs.length);
    if (cv.height !== want) cv.height = want;          // one row of 44 px per layer
    const ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    if (!hs.length) return;
    const rowH = H / hs.length, colW = W / 2;
    ctx.font = "10px sans-serif";
    hs.forEach((h, r) => {
      [["weight", "#4a6fa5"], ["grad", "#d1495b"]].forEach(([key, colour], c) => {
        const d = h[key], x0 = c * colW + 4, y0 = r * rowH + 2, w = colW - 8, hh = rowH - 14;
        if (!d.counts.length) return;
        const m = Math.max(...d.counts, 1), bw = w / d.counts.length;
        ctx.fillStyle = colour;
        d.counts.forEach((n, i) => { const bh = (n / m) * hh; ctx.fillRect(x0 + i * bw, y0 + hh - bh, Math.max(bw - 1, 1), bh); });
        ctx.fillStyle = "#555";
        ctx.fillText(`${h.name} ${key === "grad" ? "grad" : ""} [${fmt(d.lo)}, ${fmt(d.hi)}]`, x0, y0 + hh + 10);
      });
    });
  }

  // ------------------------------------------------------------- on-demand views
  function drawTriptych(msg) {
    const cv = $("triptych"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
    cv.hidden = false;
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    const all = msg.runs.flatMap((r) => r.train_loss).filter((v) => v !== null && v > 0);
    if (!all.length) return;
    let lo = Math.log10(Math.min(...all)), hi = Math.log10(Math.max(...all));
    if (hi - lo < 0.1) { lo -= 0.05; hi += 0.05; }
    const pw = W / 3;
    ctx.font = "11px sans-serif";
    msg.runs.forEach((r, k) => {
      const x0 = k * pw + 6, w = pw - 12, y0 = 16, h = H - 24;
      ctx.strokeStyle = "#ccc"; ctx.strokeRect(x0, y0, w, h);
      ctx.fillStyle = "#333";
      ctx.fillText(`lr ${r.lr}${r.diverged ? " (diverged)" : ""}`, x0, 11);
      ctx.strokeStyle = `rgb(${C1})`; ctx.lineWidth = 1.4; ctx.beginPath();
      let pen = false;
      r.train_loss.forEach((v, i) => {
        if (v === null || v <= 0) { pen = false; return; }
        const x = x0 + (r.curve_steps[i] / msg.steps) * w, y = y0 + (1 - (Math.log10(v) - lo) / (hi - lo)) * h;
        if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        pen = true;
      });
      ctx.stroke();
    });
    setStatus(`triptych: ${msg.steps} updates at each learning rate, training loss on one log scale`);
  }

  // A loss grid (rows from the lowest beta up) as a heat map: low loss dark blue, high pale yellow.
  function heatmap(ctx, W, H, losses) {
    const n = losses.length, flat = losses.flat().filter((v) => v !== null && v > 0);
    if (!flat.length) return null;
    const lo = Math.log10(Math.min(...flat)), hi = Math.max(Math.log10(Math.max(...flat)), lo + 1e-6);
    const cell = W / n;
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const v = losses[j][i], t = v === null ? 1 : (Math.log10(Math.max(v, 1e-30)) - lo) / (hi - lo);
        ctx.fillStyle = `rgb(${[Math.round(20 + 230 * t), Math.round(40 + 200 * t), Math.round(120 + 60 * (1 - t))]})`;
        ctx.fillRect(i * cell, H - (j + 1) * cell, cell + 1, cell + 1);
      }
    }
    return [Math.pow(10, lo), Math.pow(10, hi)];
  }

  function arrow(ctx, x0, y0, x1, y1, colour) {
    const a = Math.atan2(y1 - y0, x1 - x0);
    ctx.strokeStyle = colour; ctx.fillStyle = colour; ctx.lineWidth = 2.5;
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - 10 * Math.cos(a - 0.4), y1 - 10 * Math.sin(a - 0.4));
    ctx.lineTo(x1 - 10 * Math.cos(a + 0.4), y1 - 10 * Math.sin(a + 0.4));
    ctx.fill();
  }

  function drawContour(msg) {
    const cv = $("contour"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
    cv.hidden = false;
    const range = heatmap(ctx, W, H, msg.losses);
    const [a0, a1] = msg.alphas, [b0, b1] = msg.betas;
    const px = (a) => ((a - a0) / (a1 - a0)) * W, py = (b) => H - ((b - b0) / (b1 - b0)) * H;
    const cx = px(msg.center[0]), cy = py(msg.center[1]);
    // Directions only, each drawn a third of the width long: a step is often a few pixels, and the
    // angle between the two is what the view is about (both axes have the same scale).
    const [sa, sb] = msg.step.map((v) => v || 0), [ga, gb] = msg.descent.map((v) => v || 0);
    const L = W / 3, sl = Math.hypot(sa, sb), gl = Math.hypot(ga, gb);
    if (gl > 0) arrow(ctx, cx, cy, cx + (L * ga) / gl, cy - (L * gb) / gl, "#fff");
    if (sl > 0) arrow(ctx, cx, cy, cx + (L * sa) / sl, cy - (L * sb) / sl, "#d1495b");
    ctx.fillStyle = "#d1495b"; ctx.beginPath(); ctx.arc(cx, cy, 4, 0, 2 * Math.PI); ctx.fill();
    ctx.fillStyle = "#fff"; ctx.font = "12px sans-serif";
    ctx.fillText(`${msg.labels[0]} → , ${msg.labels[1]} ↑`, 6, 14);
    if (range) ctx.fillText(`loss ${range[0].toPrecision(2)} (dark) … ${range[1].toPrecision(2)} (pale)`, 6, 28);
    const cos = msg.cos === null ? "—" : msg.cos.toFixed(3), cosp = msg.cos_plane === null ? "—" : msg.cos_plane.toFixed(3);
    $("contour-text").textContent = `cos θ between the last step and steepest descent: ${cos} over all ` +
      `${msg.n_parameters} parameters, ${cosp} in this plane` + (msg.n_parameters === 2 ? "" : " (the others held fixed)");
    $("contour-text").dataset.cos = cos;
  }

  function drawLandscape(msg) {
    const cv = $("landscape"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
    cv.hidden = false;
    const range = heatmap(ctx, W, H, msg.losses);
    if (!range) return;
    const [a0, a1] = msg.alphas, [b0, b1] = msg.betas;
    const px = (a) => ((a - a0) / (a1 - a0)) * W, py = (b) => H - ((b - b0) / (b1 - b0)) * H;
    const pts = msg.path.filter((p) => p[0] !== null && p[1] !== null);
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 2; ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(px(p[0]), py(p[1])) : ctx.moveTo(px(p[0]), py(p[1]))));
    ctx.stroke();
    if (pts.length) {
      ctx.beginPath(); ctx.arc(px(pts[0][0]), py(pts[0][1]), 5, 0, 2 * Math.PI); ctx.stroke();
      const e = pts[pts.length - 1];
      ctx.fillStyle = "#d1495b"; ctx.beginPath(); ctx.arc(px(e[0]), py(e[1]), 5, 0, 2 * Math.PI); ctx.fill();
    }
    ctx.fillStyle = "#fff"; ctx.font = "12px sans-serif";
    ctx.fillText(msg.kind === "path" ? "plane of the path's principal directions" : "random filter-normalised plane", 6, 14);
    ctx.fillText(`loss ${range[0].toPrecision(2)} (dark) … ${range[1].toPrecision(2)} (pale)`, 6, 28);
  }

  connect();
})();
