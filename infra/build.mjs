// Builds:
//   dist/collector.cjs  the collector: one CommonJS file for plain Node >= 18, no dependencies
//   dist/lambda.mjs     (with --lambda) the catalog's AWS Lambda handler, one ESM file,
//                       with dist/migrations beside it (deploy the dist/ folder)
//   dist/server.mjs     (with --server) the catalog server as one ESM file (containers, systemd)
//   dist/catalog.mjs    (with --cli) the admin commands (`npm run catalog -- …`) as one ESM file
// Usage: node infra/build.mjs [--quiet] [--lambda | --lambda-only] [--server] [--cli] [--out DIR] [--if-changed]
//   --if-changed  skip an output whose recorded inputs (every file esbuild read, the
//                 migrations, this script, package.json) are unchanged since it was built:
//                 `npm start` then starts the server without running esbuild at all.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const USAGE = `usage: node infra/build.mjs [--quiet] [--lambda | --lambda-only] [--server] [--cli] [--out DIR] [--if-changed]
  (none)          dist/collector.cjs only
  --lambda        also dist/lambda.mjs (AWS Lambda) and dist/migrations; --lambda-only: that alone
  --server        also dist/server.mjs (containers, systemd)
  --cli           also dist/catalog.mjs (the admin commands)
  --out DIR       the catalog bundles in DIR instead of dist/
  --if-changed    skip a bundle whose recorded inputs are unchanged
  --quiet         no size lines
`;
// An option not known here is refused before anything is built: a typo (--sever) would
// otherwise build less than asked, and say nothing of it.
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--help' || arg === '-h') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (arg === '--out') {
    if (!process.argv[i + 1] || process.argv[i + 1].startsWith('-')) {
      process.stderr.write('build: --out needs a directory\n');
      process.exit(64);
    }
    i++;
  } else if (!['--quiet', '--lambda', '--lambda-only', '--server', '--cli', '--if-changed'].includes(arg)) {
    process.stderr.write(`build: unknown option ${arg} (node infra/build.mjs --help lists them)\n`);
    process.exit(64);
  }
}

const quiet = process.argv.includes('--quiet');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const path = (p) => new URL(`../${p}`, import.meta.url).pathname;
const report = (file) => {
  if (!quiet) console.log(`${file} ${(statSync(path(file)).size / 1024).toFixed(1)} KiB`);
};

/**
 * Every output is written to a temp file and renamed into place, so a test or a process
 * running the previous build never reads half a file while a new one is written.
 */
function writeAtomically(file, bytes) {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, bytes);
  renameSync(temp, file);
}

const ROOT = path('');
const ifChanged = process.argv.includes('--if-changed');

/** Where the inputs of an output are recorded: beside it, as `.<name>.inputs.json`. */
const stampOf = (outfile) => join(dirname(outfile), `.${relative(dirname(outfile), outfile)}.inputs.json`);

/** Size and mtime of each file, keyed by its path under the checkout; null for a missing file. */
function fingerprint(files) {
  const out = {};
  for (const f of files) {
    try {
      const st = statSync(join(ROOT, f));
      out[f] = [st.size, st.mtimeMs];
    } catch {
      out[f] = null;
    }
  }
  return out;
}

/** Files every output depends on besides what esbuild reads. */
const ALWAYS = ['infra/build.mjs', 'package.json', 'package-lock.json'];

/** Every file under db/migrations, by path under the checkout. */
function migrationFiles() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else files.push(join(dir, entry.name));
    }
  };
  walk('db/migrations');
  return files;
}

/**
 * True when `outfile` was built from exactly these inputs as they are now: the same build
 * options, and every recorded file (plus `extra`) with the size and mtime it had then.
 * A changed, added-and-imported or deleted source changes a recorded file (an import is in
 * the importing file), so the output is rebuilt.
 */
function upToDate(outfile, key, extra) {
  if (!ifChanged || !existsSync(outfile)) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampOf(outfile), 'utf8'));
    if (stamp.key !== key) return false;
    const files = [...new Set([...Object.keys(stamp.inputs), ...extra])];
    return JSON.stringify(fingerprint(files)) === JSON.stringify(Object.fromEntries(files.map((f) => [f, stamp.inputs[f] ?? null])));
  } catch {
    return false;
  }
}

/**
 * esbuild in memory, then each output file written atomically, then what it was built from.
 * Answers false when the output was up to date and left alone.
 */
async function buildTo(options, extra = []) {
  const key = JSON.stringify({ ...options, plugins: options.plugins?.map((p) => p.name) });
  if (upToDate(options.outfile, key, [...ALWAYS, ...extra])) return false;
  const started = Date.now();
  const { build } = await import('esbuild');
  const result = await build({ ...options, absWorkingDir: ROOT, metafile: true, write: false });
  for (const f of result.outputFiles) writeAtomically(f.path, f.contents);
  const inputs = fingerprint([...Object.keys(result.metafile.inputs).filter((f) => !f.includes(':')), ...ALWAYS, ...extra]);
  // A file saved while esbuild ran may not be in this output: record nothing, so the next run builds again.
  if (Object.values(inputs).every((v) => v === null || v[1] < started - 1000)) writeAtomically(stampOf(options.outfile), JSON.stringify({ key, inputs }));
  return true;
}

/** db/migrations copied file by file, each atomically (the catalog bundles read them beside their module). */
function copyMigrations(files, to) {
  for (const f of files) writeAtomically(join(to, relative('db/migrations', f)), readFileSync(join(ROOT, f)));
}

// Parts of fast-xml-parser that formats/smf.ts switches off are dead code in the
// collector, which has a size budget: see the comments in infra/shims/.
//
// The parser also reads its options as it goes (`if (options.captureMetaData) …` on every
// tag). The collector's one parser (formats/smf.ts) fixes them, so the options in
// infra/xml-options-folded.json are written into its code as those constants, and esbuild
// drops the branches they close: metadata capture, stop nodes, comments and CDATA as
// properties, namespace prefixes, name transforms, unpaired tags, the entity decoder it
// would build (~4,300 bytes). A test in test/build/ holds smf.ts to those values.
const FOLDED_XML_OPTIONS = JSON.parse(readFileSync(path('infra/xml-options-folded.json'), 'utf8'));
const FOLDED_READ = new RegExp(`\\b(?:this\\.)?options\\.(${Object.keys(FOLDED_XML_OPTIONS).join('|')})\\b(?!\\s*=[^=])`, 'g');
/** Edits that each must apply once, so a fast-xml-parser whose code moved fails the build instead of bundling half-folded. */
/** An edit's `to` that cuts the whole block its `from` opens. */
const CUT = Symbol('cut');
const FOLDED_EDITS = {
  'OrderedObjParser.js': [
    // smf.ts passes its own (identity) entity decoder: the library's is never built.
    ['if (this.options.entityDecoder)', 'if (true)'],
    // No stop nodes: the set stays empty, so no tag is one and their reader is never called.
    ['if (stopNodesOpts && stopNodesOpts.length > 0)', 'if (false)'],
    ['this.isCurrentNodeStopNode = this.isItStopNode();', ''],
    ['if (this.isCurrentNodeStopNode)', 'if (false)'],
    ['this.isItStopNode = isItStopNode;', ''],
    ['this.readStopNodeData = readStopNodeData;', ''],
    // processEntities is off (the stand-in makes it { enabled: false }): values pass as they are.
    ['const entityConfig = this.options.processEntities;', 'return val;'],
    // ignoreAttributes is false: no attribute is ignored, and the filter it would build is never made.
    ['this.ignoreAttributesFn = getIgnoreAttributesFn(false)', ''],
    ['if (this.ignoreAttributesFn(attrName, jPathStr)) continue;', ''],
  ],
  'XMLParser.js': [
    // smf.ts parses a string (formats/text.ts decodes the bytes): bytes or another object would
    // be turned into one here; in the collector they are refused by the type check that follows.
    ['if (typeof xmlData !== "string" && xmlData.toString) {', 'if (false) {'],
    // smf.ts adds no entity (entities stay as written): the method fails loudly if called after all.
    ['addEntity(key, value) {', "addEntity(key, value) {\nthrow new Error('XML entity decoding is not part of the collector bundle');"],
    ['static getMetaDataSymbol() {', CUT],
  ],
  // captureMetaData is off: no node gets a start or end index, so none carries metadata.
  'xmlNode.js': [
    ['this.addStartIndex(startIndex);', ''],
    ['addStartIndex(startIndex) {', CUT],
    ['addEndIndex(endIndex) {', CUT],
    ['static getMetaDataSymbol() {', CUT],
    ['let METADATA_SYMBOL;', ''],
    ['if (typeof Symbol !== "function") {\n  METADATA_SYMBOL = "@@xmlMetadata";\n} else {\n  METADATA_SYMBOL = Symbol("XML Node Metadata");\n}', ''],
  ],
  'node2json.js': [
    ['const METADATA_SYMBOL = XmlNode.getMetaDataSymbol();', ''],
    ['if (tagObj[METADATA_SYMBOL] !== undefined && typeof val === "object" && val !== null) {', CUT],
  ],
};
/**
 * `text` without the block that opens with `from` (a method, an if): from it through the brace
 * closing the first one after it (these blocks hold no brace in a string or a comment).
 */
function cutBlock(text, from) {
  const start = text.indexOf(from);
  let depth = 0;
  for (let i = text.indexOf('{', start + from.length - 1); i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(0, start) + text.slice(i + 1);
  }
  throw new Error(`infra/build.mjs: no end to the block \`${from}\` opens in fast-xml-parser`);
}
/** fast-xml-parser's source `text` of `file` with the collector's fixed options written in. */
function foldXmlOptions(file, text) {
  const name = file.slice(file.lastIndexOf('/') + 1);
  if (!['OrderedObjParser.js', 'node2json.js', 'XMLParser.js', 'xmlNode.js'].includes(name)) return text;
  let out = text.replace(FOLDED_READ, (_, option) => String(FOLDED_XML_OPTIONS[option]));
  // No unpaired tags (the options' empty list): no tag is one.
  out = out.replace(/\boptions\.unpairedTagsSet\.has\((?:[^()]|\([^()]*\))*\)/g, 'false');
  for (const [from, to] of FOLDED_EDITS[name] ?? []) {
    if (out.split(from).length !== 2) throw new Error(`infra/build.mjs: fast-xml-parser's ${name} no longer holds \`${from}\` once: see FOLDED_EDITS`);
    out = to === CUT ? cutBlock(out, from) : out.replace(from, to);
  }
  if (out === text) throw new Error(`infra/build.mjs: no option of infra/xml-options-folded.json is read in fast-xml-parser's ${name}, nor edited`);
  return out;
}

const xmlOptionsOff = {
  name: 'xml-options-off',
  setup(b) {
    b.onResolve({ filter: /^(@nodable\/entities|is-unsafe)$/ }, () => ({ path: path('infra/shims/xml-entities-off.js') }));
    b.onResolve({ filter: /^strnum$/ }, () => ({ path: path('infra/shims/no-number-parsing.js') }));
    b.onResolve({ filter: /\/DocTypeReader\.js$/ }, () => ({ path: path('infra/shims/doctype-off.js') }));
    b.onResolve({ filter: /^path-expression-matcher$/ }, () => ({ path: path('infra/shims/path-matcher-off.js') }));
    b.onResolve({ filter: /\/OptionsBuilder\.js$/ }, () => ({ path: path('infra/shims/xml-options-fixed.js') }));
    // Its modules each open with 'use strict', which esbuild repeats inside each lazily run
    // module; the collector is one strict-mode script already (see collectorTsconfig below).
    b.onLoad({ filter: /\/fast-xml-parser\/src\/.*\.js$/ }, (a) => ({
      contents: foldXmlOptions(a.path, readFileSync(a.path, 'utf8').replace(/^'use strict';/m, '')),
      loader: 'js',
    }));
  },
};

// Node's built-in modules, each required once for the whole collector, and what the collector
// takes from one a plain local name. Left to esbuild, every module importing `node:path`
// required it again (36 requires of 8 modules), each call went through the module object
// (`(0,path.join)(…)`), and each `import * as` was copied with getters by esbuild's ESM helper
// (~1,100 bytes in all). Here each is one ES module of its exports, each read once: those nothing
// uses are dropped (each read is marked pure), and a name Node does not export fails the build.
const BUILTIN = 'node-builtin';
const nodeBuiltinsOnce = {
  name: 'node-builtins-once',
  setup(b) {
    // A dynamic import() (loaded when a run needs it) and this module's own require stay Node's.
    b.onResolve({ filter: /^node:/ }, (a) =>
      a.namespace === BUILTIN || a.kind === 'dynamic-import' ? { path: a.path, external: true } : { path: a.path, namespace: BUILTIN },
    );
    b.onLoad({ filter: /.*/, namespace: BUILTIN }, async (a) => {
      const names = Object.keys(await import(a.path)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
      // Local names that no export's name can shadow: `export { $0 as join }`.
      const reads = names.map((n, i) => `const $${i} = /* @__PURE__ */ read(${JSON.stringify(n)});\nexport { $${i} as ${n} };`);
      return { contents: `const module = require(${JSON.stringify(a.path)}), read = (name) => module[name];\n${reads.join('\n')}`, loader: 'js' };
    });
  },
};

// Property names of fast-xml-parser's own objects (the parser, its options, nodes, the
// validator's and the entity decoder's state), written short in the collector: nothing outside
// the bundle sees them and nothing reads one by a string (~330 bytes for the parser's first four,
// which it reads on every tag, ~2,500 for the rest). The options and the decoder are also set
// in formats/smf.ts and infra/shims/, renamed alike. A name here renames that property in every
// file of the bundle, a spooled capture or a report written as JSON too, so a collector or
// formats source other than smf.ts that holds one of these words fails the build (below).
const XML_PROPS = [
  ...['readonlyMatcher', 'isCurrentNodeStopNode', 'stopNodeExpressionsSet', 'saveTextToParentTag'],
  ...['textNodeName', 'captureMetaData', 'attributeNamePrefix', 'attributesGroupName', 'processEntities', 'entityDecoder'],
  ...['unpairedTagsSet', 'tagsNodeStack', 'tagname', 'getMetaDataSymbol', 'matcher', 'replaceEntitiesValue', 'onDangerousProperty'],
  ...['numberParseOptions', 'buildAttributesMap', 'resolveNameSpace', 'externalEntities', 'attributeValueProcessor', 'doctypefound'],
  ...['currentExpandedLength', 'entityExpansionCount', 'startIndex', 'updateCurrent', 'parseTextData', 'addChild', 'ignoreAttributesFn'],
  ...['unpairedTags', 'tagValueProcessor', 'tagStartPos', 'tagExp', 'closeIndex', 'attrExpPresent', 'stopNodes', 'addStartIndex'],
  ...['getCurrentTag', 'transformAttributeName', 'readDocType', 'alwaysCreateTextNode', 'strictReservedNames', 'rawTagName'],
  ...['maxTotalExpansions', 'updateTag', 'maxExpansionDepth', 'maxExpandedLength', 'transformTagName', 'commentPropName', 'endIndex'],
  ...['readOnly', 'parseXml', 'removeNSPrefix', 'maxEntityCount', 'preserveOrder', 'cdataPropName', 'maxEntitySize', 'leadingZeros'],
  ...['allowedTags', 'addEndIndex', 'currentNode', 'matchesAny', 'tagClosed', 'eNotation', 'tagFilter', 'appliesTo', 'addEntity'],
  ...['allowBooleanAttributes', 'setXmlVersion', 'addInputEntities', 'setExternalEntities', 'maxNestedTags', 'parseAttributeValue'],
  ...['ignoreDeclaration', 'ignoreAttributes', 'parseTagValue', 'htmlEntities', 'ignorePiTags', 'trimValues'],
];
const XML_PROP_WORD = new RegExp(`\\b(${XML_PROPS.join('|')})\\b`);
const xmlPropsStayInside = {
  name: 'xml-props-stay-inside',
  setup(b) {
    b.onLoad({ filter: /\/(collector|formats)\/[^/]+(\/[^/]+)?\.ts$/ }, (a) => {
      if (a.path.endsWith('/formats/smf.ts')) return undefined;
      const text = readFileSync(a.path, 'utf8');
      const hit = XML_PROP_WORD.exec(text);
      if (!hit) return undefined;
      const line = text.slice(0, hit.index).split('\n').length;
      return {
        errors: [
          {
            text: `"${hit[1]}" is a property name the collector bundle renames (XML_PROPS in infra/build.mjs): use another name here, or take it off that list`,
            location: { file: relative(ROOT, a.path), line, column: 0, lineText: text.split('\n')[line - 1] },
          },
        ],
      };
    });
  },
};

// The collector is one strict-mode script: its first statement (after the shebang) says so
// once, instead of each lazily loaded module repeating "use strict" (tsconfig's `strict`
// implies alwaysStrict, which has esbuild emit the directive per module; ~500 bytes). Its
// class fields are assigned in the constructor, as TypeScript did before ES2022, rather than
// also declared on the class (`status;requestId;foreign;` after each constructor): no field of
// the collector is read before it is assigned nor looked up as an own property (~110 bytes).
const collectorTsconfig = {
  compilerOptions: { ...JSON.parse(readFileSync(path('tsconfig.json'), 'utf8')).compilerOptions, alwaysStrict: false, useDefineForClassFields: false },
};

const lambdaOnly = process.argv.includes('--lambda-only');
if (!lambdaOnly)
  await buildTo(
    {
      entryPoints: [path('collector/main.ts')],
      plugins: [xmlOptionsOff, nodeBuiltinsOnce, xmlPropsStayInside],
      charset: 'utf8',
      outfile: path('dist/collector.cjs'),
      bundle: true,
      platform: 'node',
      target: 'node18',
      format: 'cjs',
      // BUILD_MINIFY=0 keeps names, for a CPU profile (the size budget holds for the minified bundle only).
      minify: process.env.BUILD_MINIFY !== '0',
      legalComments: 'none',
      tsconfigRaw: collectorTsconfig,
      mangleProps: new RegExp(`^(${XML_PROPS.join('|')})$`),
      banner: { js: '#!/usr/bin/env node\n"use strict";' },
      // The collector's 35 writes to stdout and stderr call one function each (~560 bytes):
      // infra/shims/collector-output.js.
      define: {
        __COLLECTOR_VERSION__: JSON.stringify(pkg.version),
        'process.stdout.write': 'stdoutWrite',
        'process.stderr.write': 'stderrWrite',
      },
      inject: [path('infra/shims/collector-output.js')],
      logLevel: quiet ? 'error' : 'warning',
    },
    ['infra/xml-options-folded.json'],
  );
if (!lambdaOnly) report('dist/collector.cjs');

/**
 * The catalog as one ESM file for Node: the AWS Lambda handler, or the server a container or
 * systemd runs without tsx. PGlite loads its WebAssembly next to its own module, so it stays
 * external (installed with the production dependencies; on Lambda the catalog runs on
 * PostgreSQL and never loads it); db/client.ts finds migrations beside its module: dist/.
 */
const outArg = process.argv.indexOf('--out');
/** Where the catalog bundles go: dist/, or `--out DIR` (inside the checkout, so node_modules resolves). */
const catalogOut = outArg > 0 ? resolve(process.argv[outArg + 1]) : path('dist');

async function catalogBundle(entry, name) {
  const outfile = join(catalogOut, name);
  const migrations = migrationFiles();
  const built = await buildTo(
    {
      entryPoints: [path(entry)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      // BUILD_MINIFY=0 keeps names (a CPU profile of the server then names its functions).
      minify: process.env.BUILD_MINIFY !== '0',
      legalComments: 'none',
      // The AWS SDK and postgres.js still call require() inside an ESM bundle.
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      external: ['@electric-sql/pglite', '@electric-sql/pglite/*'],
      logLevel: quiet ? 'error' : 'warning',
    },
    migrations,
  );
  const journal = (dir) => {
    try {
      return readFileSync(join(dir, 'meta', '_journal.json'), 'utf8');
    } catch {
      return null;
    }
  };
  if (built || journal(join(catalogOut, 'migrations')) !== journal(path('db/migrations'))) copyMigrations(migrations, join(catalogOut, 'migrations'));
  if (!quiet) console.log(`${outfile} ${(statSync(outfile).size / 1024).toFixed(1)} KiB`);
}

if (lambdaOnly || process.argv.includes('--lambda')) await catalogBundle('api/lambda.ts', 'lambda.mjs');
if (process.argv.includes('--server')) await catalogBundle('api/server.ts', 'server.mjs');
if (process.argv.includes('--cli')) await catalogBundle('api/cli.ts', 'catalog.mjs');
