// Build-time stand-in for path-expression-matcher in the collector bundle. fast-xml-parser
// tracks the current tag path with it for stopNodes, jPath callbacks and attribute-aware
// path expressions; formats/smf.ts sets none of those (jPath: false, isArray by tag name
// alone, no stopNodes), so only the tag stack is needed: ~8 KB the collector need not carry.
// A stop-node expression, the one feature that would need real matching, fails loudly.
export class Matcher {
  constructor() {
    this.path = [];
  }
  push(tag) {
    this.path.push(tag);
  }
  pop() {
    return this.path.pop();
  }
  getCurrentTag() {
    return this.path[this.path.length - 1];
  }
  updateCurrent() {}
  reset() {
    this.path = [];
  }
  readOnly() {
    return this;
  }
  matchesAny() {
    return false;
  }
  toString() {
    return this.path.join('.');
  }
}
export class Expression {
  constructor() {
    throw new Error('path expressions (stopNodes) are not part of the collector bundle');
  }
}
export class ExpressionSet {
  constructor() {
    this.size = 0;
  }
  add() {
    throw new Error('path expressions (stopNodes) are not part of the collector bundle');
  }
  seal() {}
}
