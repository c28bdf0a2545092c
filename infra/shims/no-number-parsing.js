// Build-time stand-in for strnum in the collector bundle. formats/smf.ts parses with
// parseTagValue and parseAttributeValue off (SMF values are typed by their attributes,
// not guessed), so fast-xml-parser never converts text to numbers there: values pass through.
export default function toNumber(value) {
  return value;
}
