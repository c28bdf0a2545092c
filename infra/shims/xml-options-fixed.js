// Build-time stand-in for fast-xml-parser's OptionsBuilder in the collector bundle. The
// collector builds one parser with fixed options (formats/smf.ts): its property names are
// safe constants, entities are off and it sets no stop nodes, so the upstream checks of
// those (prototype-pollution guards on the names, entity-limit normalisation, stop-node
// rewriting) have nothing to do there. Defaults are the upstream ones the parser reads; a
// test parses every SMF fixture with the bundle and the source and compares (test/build/).
import { DANGEROUS_PROPERTY_NAMES } from '../../node_modules/fast-xml-parser/src/util.js';

const onDangerousProperty = (name) => (DANGEROUS_PROPERTY_NAMES.includes(name) ? `__${name}` : name);

export const defaultOptions = {
  preserveOrder: false,
  attributeNamePrefix: '@_',
  attributesGroupName: false,
  textNodeName: '#text',
  ignoreAttributes: true,
  removeNSPrefix: false,
  allowBooleanAttributes: false,
  parseTagValue: true,
  parseAttributeValue: false,
  trimValues: true,
  cdataPropName: false,
  numberParseOptions: { hex: true, leadingZeros: true, eNotation: true, unicode: false },
  tagValueProcessor: (_tag, val) => val,
  attributeValueProcessor: (_attr, val) => val,
  stopNodes: [],
  alwaysCreateTextNode: false,
  isArray: () => false,
  commentPropName: false,
  unpairedTags: [],
  processEntities: true,
  htmlEntities: false,
  entityDecoder: null,
  ignoreDeclaration: false,
  ignorePiTags: false,
  transformTagName: false,
  transformAttributeName: false,
  updateTag: (tagName) => tagName,
  captureMetaData: false,
  maxNestedTags: 100,
  strictReservedNames: true,
  jPath: true,
  onDangerousProperty,
};

export function buildOptions(options) {
  const built = { ...defaultOptions, ...options };
  if (built.processEntities !== false || (built.stopNodes ?? []).length > 0) {
    throw new Error('the collector bundle parses XML with entities off and no stop nodes only');
  }
  built.onDangerousProperty ??= onDangerousProperty;
  built.processEntities = {
    enabled: false,
    maxEntitySize: 10000,
    maxExpansionDepth: 10000,
    maxTotalExpansions: Infinity,
    maxExpandedLength: 100000,
    maxEntityCount: 1000,
    allowedTags: null,
    tagFilter: null,
    appliesTo: 'all',
  };
  built.unpairedTagsSet = new Set(built.unpairedTags);
  return built;
}
