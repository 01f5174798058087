// The reference side of the tokenizer parity test and of `seamless bench tokenizer`: Hugging
// Face's own `tokenizers` library (npm, its Node binding over the Rust implementation).
//
//   node reference.js ids   NPM_DIR TOKENIZER_JSON CORPUS_JSONL OUT_JSONL
//       One JSON object per corpus line: {"ids": [...], "decoded": "...", "tail": "..."}
//       where `tail` decodes the ids without the first one (it may start mid-character, so it
//       checks the decoder's replacement of broken UTF-8).
//   node reference.js bench NPM_DIR TOKENIZER_JSON CORPUS_JSONL ROUNDS
//       Encodes every line, one call per line, ROUNDS times; prints one JSON line with the
//       best round's bytes per second.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const [mode, npmDir, tokenizerJson, corpusPath, last] = process.argv.slice(2);
if (!mode || !npmDir || !tokenizerJson || !corpusPath || !last) {
  console.error('usage: node reference.js ids|bench NPM_DIR TOKENIZER_JSON CORPUS OUT|ROUNDS');
  process.exit(2);
}
const { Tokenizer } = createRequire(path.join(path.resolve(npmDir), 'package.json'))('tokenizers');
const tokenizer = Tokenizer.fromFile(tokenizerJson);
const lines = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l.length > 0)
  .map((l) => JSON.parse(l));

async function ids() {
  const out = [];
  for (const text of lines) {
    const encoding = await tokenizer.encode(text);
    const ids = encoding.getIds();
    const decoded = await tokenizer.decode(ids, false);
    const tail = await tokenizer.decode(ids.slice(1), false);
    out.push(JSON.stringify({ ids, decoded, tail }));
  }
  fs.writeFileSync(last + '.tmp', out.join('\n') + '\n');
  fs.renameSync(last + '.tmp', last);
}

async function bench() {
  const rounds = Number(last);
  let bytes = 0;
  for (const text of lines) bytes += Buffer.byteLength(text, 'utf8');
  for (const text of lines.slice(0, 200)) await tokenizer.encode(text);  // warm-up
  let best = Infinity;
  for (let r = 0; r < rounds; ++r) {
    const start = process.hrtime.bigint();
    for (const text of lines) await tokenizer.encode(text);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  console.log(JSON.stringify({ bytes, seconds: best, mb_per_s: bytes / best / 1e6 }));
}

(mode === 'ids' ? ids() : bench()).catch((e) => { console.error(e); process.exit(1); });
