// The draw-a-digit page: strokes on the canvas (or a dropped image) go to
// POST /v2/models/{name}/image as PNG; the answer fills the ten bars.
"use strict";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const modelSelect = document.getElementById("model");
const statusLine = document.getElementById("status");
const labelOut = document.getElementById("label");
const bars = document.getElementById("bars");
const meta = document.getElementById("meta");

let classes = [];
let drawing = false;
let last = null;
let inFlight = false;
let again = false; // the pad changed while a request was out
let timer = null;

function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
}

function buildBars(k) {
  bars.textContent = "";
  for (let i = 0; i < k; i++) {
    const li = document.createElement("li");
    li.innerHTML = '<span class="cls"></span><span class="track"><span class="fill"></span></span><span class="prob">–</span>';
    li.querySelector(".cls").textContent = classes[i] ?? String(i);
    li.querySelector(".fill").style.display = "block";
    bars.appendChild(li);
  }
}

function showPrediction(p) {
  labelOut.textContent = p.label;
  const items = bars.children;
  p.probabilities.forEach((v, i) => {
    if (!items[i]) return;
    items[i].querySelector(".fill").style.width = (100 * v).toFixed(1) + "%";
    items[i].querySelector(".prob").textContent = v.toFixed(3);
    items[i].classList.toggle("best", i === p.class_index);
  });
}

function resetResult() {
  labelOut.textContent = "–";
  for (const li of bars.children) {
    li.querySelector(".fill").style.width = "0";
    li.querySelector(".prob").textContent = "–";
    li.classList.remove("best");
  }
}

async function classify(blob) {
  const url = "/v2/models/" + encodeURIComponent(modelSelect.value) + "/image?top=3";
  const resp = await fetch(url, { method: "POST", headers: { "Content-Type": blob.type || "application/octet-stream" }, body: blob });
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body[0];
}

// send classifies the pad, one request at a time; changes made meanwhile are
// sent when the answer arrives.
function send() {
  if (inFlight) { again = true; return; }
  inFlight = true;
  pad.toBlob(async (blob) => {
    try {
      showPrediction(await classify(blob));
      statusLine.textContent = "";
    } catch (e) {
      statusLine.textContent = e.message;
    }
    inFlight = false;
    if (again) { again = false; send(); }
  }, "image/png");
}

function point(e) {
  const r = pad.getBoundingClientRect();
  return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
}

pad.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  drawing = true;
  last = point(e);
  ctx.beginPath();
  ctx.arc(last.x, last.y, 10, 0, 2 * Math.PI);
  ctx.fillStyle = "#fff";
  ctx.fill();
  timer = setInterval(send, 150); // live while drawing
});

pad.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  const p = point(e);
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 20;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(last.x, last.y);
  ctx.lineTo(p.x, p.y);
  ctx.stroke();
  last = p;
});

function endStroke() {
  if (!drawing) return;
  drawing = false;
  clearInterval(timer);
  send();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

document.getElementById("clear").addEventListener("click", () => { clearPad(); resetResult(); });

// A dropped or opened image is shown on the pad and sent as it is.
async function useFile(file) {
  if (!file) return;
  try {
    const bitmap = await createImageBitmap(file);
    clearPad();
    const s = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * s, h = bitmap.height * s;
    ctx.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
    showPrediction(await classify(file));
    statusLine.textContent = "";
  } catch (e) {
    statusLine.textContent = file.name + ": " + e.message;
  }
}
const drop = document.getElementById("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  useFile(e.dataTransfer.files[0]);
});
document.getElementById("file").addEventListener("change", (e) => useFile(e.target.files[0]));

function addMeta(name, value) {
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value;
  meta.append(dt, dd);
}

async function loadModel() {
  const base = "/v2/models/" + encodeURIComponent(modelSelect.value);
  meta.textContent = "";
  try {
    const [md, cfg] = await Promise.all([fetch(base).then((r) => r.json()), fetch(base + "/config").then((r) => r.json())]);
    const p = cfg.parameters || {};
    classes = JSON.parse((p.classes && p.classes.string_value) || "[]");
    buildBars(md.outputs[0].shape[1]);
    addMeta("platform", md.platform);
    for (const t of md.inputs) addMeta("input", `${t.name} ${t.datatype} [${t.shape.join(", ")}]`);
    for (const t of md.outputs) addMeta("output", `${t.name} ${t.datatype} [${t.shape.join(", ")}]`);
    if (p.layout) addMeta("layout", p.layout.string_value);
    if (p.pixel_range) addMeta("pixel range", p.pixel_range.string_value);
    if (p.output_kind) addMeta("output kind", p.output_kind.string_value);
    addMeta("max batch", String(cfg.max_batch_size));
    for (const [k, v] of Object.entries(p).sort()) {
      if (k.startsWith("metadata.")) addMeta(k.slice(9), v.string_value);
    }
    statusLine.textContent = "";
  } catch (e) {
    statusLine.textContent = "metadata: " + e.message;
  }
}
modelSelect.addEventListener("change", () => { loadModel().then(send); });

clearPad();
loadModel();
