// bench_ort.js: onnxruntime-node inference throughput on a BN-folded model of
// the paper's net, the protocol of bench/main.go: median of 5 passes (after one
// warm-up) over 10,240 random images in batches of 256, and over 2,000 single
// images. Prints one JSON line.
//
//   NODE_PATH=interop/node_modules node bench/bench_ort.js MODEL.onnx THREADS
'use strict';
const os = require('os');
const ort = require('onnxruntime-node');

function median(x) {
  const s = [...x].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function rate(sess, images, batch, n, reps) {
  const name = sess.inputNames[0];
  const rates = [];
  for (let r = 0; r <= reps; r++) {
    const t0 = process.hrtime.bigint();
    let done = 0;
    for (let i = 0; i + batch <= n; i += batch) {
      const x = new ort.Tensor('float32', images.subarray(i * 784, (i + batch) * 784), [batch, 1, 28, 28]);
      await sess.run({ [name]: x });
      done += batch;
    }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r > 0) rates.push(done / dt);
  }
  return median(rates);
}

async function main() {
  const [model, threads] = process.argv.slice(2);
  if (!threads) {
    console.error('usage: node bench_ort.js MODEL.onnx THREADS');
    process.exit(2);
  }
  const load0 = os.loadavg()[0];
  const sess = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all', intraOpNumThreads: Number(threads), interOpNumThreads: 1,
  });
  const images = new Float32Array(10240 * 784);
  for (let i = 0; i < images.length; i++) images[i] = Math.random();
  const infer = await rate(sess, images, 256, 10240, 5);
  const infer1 = await rate(sess, images, 1, 2000, 5);
  console.log(JSON.stringify({
    system: 'onnxruntime', onnxruntime: require('onnxruntime-node/package.json').version,
    threads: Number(threads), infer_batch: 256,
    infer_images_per_s: Math.round(infer * 10) / 10, infer1_images_per_s: Math.round(infer1 * 10) / 10,
    loadavg_1m: [load0, os.loadavg()[0]],
  }));
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
