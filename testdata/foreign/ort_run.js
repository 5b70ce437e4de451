// ort_run.js: run an ONNX model through onnxruntime (npm onnxruntime-node) on K
// examples in chunks of at most B rows, and write its first output for all K
// rows, concatenated, as raw little-endian float32.
//
//   NODE_PATH=interop/node_modules node ort_run.js MODEL.onnx INPUT.f32 D1,D2,... B OUT.f32
//
// INPUT.f32 holds K examples of per-example shape D1,D2,... (the input's shape
// without its batch dim). A model with a fixed batch of 1 takes B=1. One JSON
// line on stdout says what was run.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, shapeArg, batchArg, out] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node ort_run.js MODEL.onnx INPUT.f32 D1,D2,... BATCH OUT.f32');
    process.exit(2);
  }
  const dims = shapeArg.split(',').map(Number);
  const per = dims.reduce((a, b) => a * b, 1);
  const buf = fs.readFileSync(input);
  if (buf.length % (per * 4) !== 0) throw new Error(`${input}: ${buf.length} bytes is not a whole number of ${dims} examples`);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const k = all.length / per;
  const batch = Number(batchArg);
  const opts = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 };
  // onnxruntime resolves external data relative to the model file's folder.
  const sess = await ort.InferenceSession.create(path.resolve(model), opts);
  const parts = [];
  let outDims = null;
  for (let i = 0; i < k; i += batch) {
    const n = Math.min(batch, k - i);
    const x = all.slice(i * per, (i + n) * per);
    const res = await sess.run({ [sess.inputNames[0]]: new ort.Tensor('float32', x, [n, ...dims]) });
    const t = res[sess.outputNames[0]];
    if (t.type !== 'float32') throw new Error(`output ${sess.outputNames[0]} is ${t.type}`);
    outDims = t.dims;
    parts.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  fs.writeFileSync(out, Buffer.concat(parts));
  console.log(JSON.stringify({
    onnxruntime: require('onnxruntime-node/package.json').version,
    model, input: sess.inputNames[0], examples: k, batch, output: sess.outputNames[0], last_dims: outDims,
  }));
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
