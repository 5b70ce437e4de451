// run_ort.js: run an ONNX model through onnxruntime (npm onnxruntime-node) on one
// raw float32 input and write each output as raw little-endian data.
//
//   NODE_PATH=/tmp/ort/node_modules node run_ort.js MODEL.onnx INPUT.f32 7,1,28,28 OUT.f32
//
// The input is fed to the model's first (only) graph input. With one output it
// is written to OUT.f32; with several, output <name> goes to OUT with ".f32"
// replaced by ".<name>.f32". Float outputs are written as float32, int64 as
// int64. One JSON line on stdout describes what was run (names, dims, files).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, shapeArg, out] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node run_ort.js MODEL.onnx INPUT.f32 D0,D1,... OUT.f32');
    process.exit(2);
  }
  const dims = shapeArg.split(',').map(Number);
  const buf = fs.readFileSync(input);
  const want = dims.reduce((a, b) => a * b, 1) * 4;
  if (buf.length !== want) {
    throw new Error(`${input}: ${buf.length} bytes, shape ${dims} needs ${want}`);
  }
  // Copy into an aligned Float32Array (Buffer offsets need not be 4-aligned).
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const opts = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 };
  const sess = await ort.InferenceSession.create(model, opts);
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  const res = await sess.run(feeds);
  const outputs = [];
  for (const name of sess.outputNames) {
    const t = res[name];
    const file = sess.outputNames.length === 1 ? out : out.replace(/\.f32$/, '') + '.' + name + '.f32';
    const d = t.data;
    fs.writeFileSync(file, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    outputs.push({ name, type: t.type, dims: t.dims, file });
  }
  console.log(JSON.stringify({
    onnxruntime: require('onnxruntime-node/package.json').version,
    model, input: { name: sess.inputNames[0], dims }, outputs,
  }));
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
