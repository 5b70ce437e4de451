#!/usr/bin/env node
// Runs an ONNX model in onnxruntime (CPU) on raw float32 images at several batch
// sizes and writes every output as JSON, for export/interop_test.go.
//
//   node run.js MODEL.onnx INPUT.f32 OUT.json [BATCH ...]
//
// INPUT.f32 holds K examples for the model's single input, little-endian float32,
// row-major; the per-example shape is the input's shape without its first (batch)
// dim, read from the model (it must be fixed). For each batch size B (default 1
// and 7) the K examples run in consecutive chunks of at most B, and the outputs of
// the chunks are concatenated, so every run covers all K examples:
//
//   {"onnxruntime": "1.30.0", "examples": K, "runs": [
//     {"batch": 1, "outputs": {"probabilities": {"type": "float32", "dims": [K,10], "data": [...]},
//                              "label": {"type": "int64", "dims": [K], "data": [...]}}}, ...]}
//
// Float32 values are written as the shortest decimal of their exact double value,
// so they parse back to the same float32; int64 values as JSON numbers (they are
// class indices).
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

function fail(msg) {
  process.stderr.write(`run.js: ${msg}\n`);
  process.exit(1);
}

async function main() {
  const [model, inputPath, outPath, ...batchArgs] = process.argv.slice(2);
  if (!model || !inputPath || !outPath) {
    fail('usage: node run.js MODEL.onnx INPUT.f32 OUT.json [BATCH ...]');
  }
  const batches = (batchArgs.length ? batchArgs : ['1', '7']).map((b) => {
    const n = Number(b);
    if (!Number.isInteger(n) || n <= 0) fail(`bad batch size ${JSON.stringify(b)}`);
    return n;
  });

  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  if (session.inputNames.length !== 1) fail(`model has ${session.inputNames.length} inputs, want 1`);
  const inputName = session.inputNames[0];
  const meta = (session.inputMetadata || [])[0];
  if (!meta || !meta.isTensor || !Array.isArray(meta.shape)) fail(`no tensor metadata for input ${inputName}`);
  const perShape = meta.shape.slice(1);
  if (perShape.some((d) => typeof d !== 'number' || d <= 0)) fail(`input ${inputName} has non-fixed dims ${JSON.stringify(meta.shape)}`);
  const per = perShape.reduce((a, b) => a * b, 1);

  const buf = fs.readFileSync(inputPath);
  if (buf.length % (4 * per) !== 0) fail(`${inputPath}: ${buf.length} bytes is not a whole number of ${per}-float examples`);
  const k = buf.length / (4 * per);
  const all = new Float32Array(k * per);
  for (let i = 0; i < all.length; i++) all[i] = buf.readFloatLE(4 * i);

  const runs = [];
  for (const b of batches) {
    const outputs = {};
    for (let lo = 0; lo < k; lo += b) {
      const n = Math.min(b, k - lo);
      const x = new ort.Tensor('float32', all.slice(lo * per, (lo + n) * per), [n, ...perShape]);
      const res = await session.run({ [inputName]: x });
      for (const name of session.outputNames) {
        const t = res[name];
        let o = outputs[name];
        if (!o) {
          o = outputs[name] = { type: t.type, dims: [0, ...t.dims.slice(1)], data: [] };
        }
        if (t.dims[0] !== n) fail(`output ${name} has batch ${t.dims[0]} for ${n} inputs`);
        o.dims[0] += n;
        for (const v of t.data) o.data.push(typeof v === 'bigint' ? Number(v) : v);
      }
    }
    runs.push({ batch: b, outputs });
  }
  fs.writeFileSync(outPath, JSON.stringify({ onnxruntime: ort.env.versions.common, examples: k, runs }));
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
