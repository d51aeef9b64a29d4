// ONNX Runtime (onnxruntime-node, CPU) on the token ids of `lode-embed
// --tokenize`, in its best configuration: texts sorted by length before
// batching (as sentence-transformers does), padded with a mask per batch,
// intraOpNumThreads = the threads lode uses. Prints the seconds for all texts
// after one warm-up batch; writes the vectors for the agreement check.
//   node ort_bert.mjs ORT_DIR MODEL.onnx IDS.ndjson BATCH THREADS OUT.ndjson
import { createRequire } from "module";
import fs from "fs";
const [ortDir, modelPath, idsPath, batchS, threadsS, outPath] = process.argv.slice(2);
const require = createRequire(ortDir + "/");
const ort = require("onnxruntime-node");
const batch = Number(batchS), threads = Number(threadsS);
const texts = fs.readFileSync(idsPath, "utf8").trim().split("\n").map((l) => JSON.parse(l).ids);
const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all",
    executionMode: "sequential" });
const order = texts.map((_, i) => i).sort((a, b) => texts[b].length - texts[a].length || a - b);
const batches = [];
for (let i = 0; i < order.length; i += batch) batches.push(order.slice(i, i + batch));
async function run(b) {
    const T = Math.max(...b.map((i) => texts[i].length));
    const ids = new BigInt64Array(b.length * T), mask = new BigInt64Array(b.length * T);
    b.forEach((i, r) => texts[i].forEach((id, p) => { ids[r * T + p] = BigInt(id); mask[r * T + p] = 1n; }));
    const out = await session.run({
        input_ids: new ort.Tensor("int64", ids, [b.length, T]),
        attention_mask: new ort.Tensor("int64", mask, [b.length, T]) });
    return out.vec;
}
await run(batches[0]); // warm-up
const vecs = new Array(texts.length);
const t0 = process.hrtime.bigint();
for (const b of batches) {
    const v = await run(b);
    const d = v.dims[1];
    b.forEach((i, r) => { vecs[i] = Array.from(v.data.slice(r * d, (r + 1) * d)); });
}
const t1 = process.hrtime.bigint();
fs.writeFileSync(outPath, vecs.map((v) => JSON.stringify({ embedding: v })).join("\n") + "\n");
console.log((Number(t1 - t0) / 1e9).toFixed(4));
