// Build-time stand-in for fast-xml-parser's DOCTYPE reader in the collector bundle.
// formats/smf.ts blanks the one DOCTYPE an SMF export may carry (any case) before it
// parses, and refuses a second one, so the parser only meets "<!D" when it is not a
// DOCTYPE at all: the upstream reader then throws the error below, and so does this.
export default class DocTypeReader {
  setXmlVersion() {}
  readDocType() {
    throw new Error('Invalid Tag instead of DOCTYPE');
  }
}
