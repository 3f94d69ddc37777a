// __NAME__: a Palisade plugin. It flags every occurrence of the words in its config
// (`{"words": ["..."]}`, default `["example"]`) as CLASSIFICATION; change `inspect` to do your own check.
import { log } from 'palisade:guardrail/host@0.1.1';

let words = ['example'];

// SpiderMonkey compiles each function on its first call. componentize-js runs this top level at build
// time and keeps the result, so calling inspect once here keeps that out of the first real call's budget.
inspect(null, 'an example');

export function configure(config) {
  let parsed;
  try {
    parsed = JSON.parse(config);
  } catch (e) {
    throw `config is not JSON: ${e.message}`; // a thrown string is the error the operator sees
  }
  const given = parsed?.words ?? ['example'];
  if (!Array.isArray(given) || !given.every((w) => typeof w === 'string' && w.length > 0)) {
    throw '`words` must be a list of non-empty strings';
  }
  words = given;
  log('debug', `watching ${words.length} words`);
}

export function inspect(ctx, text) {
  const findings = [];
  for (const word of words) {
    for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + word.length)) {
      const start = utf8Length(text.slice(0, at));
      findings.push({
        rule: '__NAME__.word',
        category: 'CLASSIFICATION',
        span: { start, end: start + utf8Length(word) },
        confidence: 0.9,
        message: 'a listed word',
      });
    }
  }
  return { decision: { tag: 'allow' }, findings, labels: [] };
}

// JavaScript strings count UTF-16 code units; the host counts UTF-8 bytes.
function utf8Length(s) {
  let bytes = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return bytes;
}
