// Build-time stand-in for fast-xml-parser's entity support in the collector bundle.
// formats/smf.ts parses with entities off and hands the parser its own identity
// decoder, so the entity tables (@nodable/entities) and the unsafe-string predicate
// behind them (is-unsafe) are dead code there: ~23 KB the collector need not carry.
// Anything that reaches these anyway fails loudly instead of decoding.
export const XML = {};
export const HTML = {};
export const CURRENCY = {};
export const COMMON_HTML = {};
export const ENTITY_ACTION = { BLOCK: 'block', ALLOW: 'allow' };
export class EntityDecoder {
  constructor() {
    throw new Error('XML entity decoding is not part of the collector bundle');
  }
}
export function isUnsafe() {
  return true;
}
