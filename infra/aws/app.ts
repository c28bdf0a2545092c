/**
 * Synthesizes the catalog's AWS deployment (infra/aws/stack.ts) into cdk.out/, offline:
 *
 *   npm run cdk:synth                                  # Aurora Serverless v2 + RDS Proxy
 *   npm run cdk:synth -- -c database=secret -c databaseSecretArn=arn:aws:secretsmanager:…
 *   npm run cdk:synth -- -c objectLock=true            # bucket with S3 Object Lock
 *
 * Deploy the result with the AWS CDK CLI (`npx aws-cdk deploy --app cdk.out`) or from
 * cdk.out's CloudFormation template. The same context keys work with the CLI's `-c`.
 */
import { App, Duration } from 'aws-cdk-lib';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CatalogStack } from './stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `-c key=value` pairs (the CDK CLI's spelling) from the command line. */
function contextFromArgs(argv: string[]): Record<string, string> {
  const { values } = parseArgs({
    args: argv,
    options: { context: { type: 'string', short: 'c', multiple: true }, out: { type: 'string' } },
    allowPositionals: false,
  });
  const context: Record<string, string> = {};
  for (const pair of values.context ?? []) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`-c ${pair}: expected key=value`);
    context[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return context;
}

/** The context keys the app reads; any other is a typo that would be dropped without a word. */
const CONTEXT_KEYS = ['database', 'databaseSecretArn', 'objectLock', 'bootstrapToken', 'stackName', 'lambdaCodeDir', 'maintenanceMinutes'];

/**
 * Refuses context the stack would silently read as its default: an unknown key (`objectlock`)
 * or an objectLock other than true/false (`yes`) gave a bucket without Object Lock, a setting
 * made when the bucket is created.
 */
function checkContext(context: Record<string, string>): void {
  for (const key of Object.keys(context))
    if (!CONTEXT_KEYS.includes(key)) throw new Error(`-c ${key}=…: not a setting of this app (it reads ${CONTEXT_KEYS.join(', ')})`);
  for (const key of ['objectLock', 'bootstrapToken'])
    if (context[key] !== undefined && !['true', 'false'].includes(String(context[key]))) throw new Error(`-c ${key}=${context[key]}: use true or false`);
  if (context.maintenanceMinutes !== undefined && !/^[1-9]\d*$/.test(String(context.maintenanceMinutes)))
    throw new Error(`-c maintenanceMinutes=${context.maintenanceMinutes}: a whole number of minutes, 1 or more`);
}

/** Builds the stack from context; exported for the assertions test. */
export function buildApp(context: Record<string, string>, outdir?: string): { app: App; stack: CatalogStack } {
  checkContext(context);
  const app = new App({ context, outdir });
  const database = (app.node.tryGetContext('database') ?? 'aurora') as string;
  if (database !== 'aurora' && database !== 'secret') throw new Error(`-c database=${database}: use aurora or secret`);
  const stack = new CatalogStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'VmfsRecoveryCatalog', {
    lambdaCodeDir: (app.node.tryGetContext('lambdaCodeDir') as string | undefined) ?? `${ROOT}dist`,
    database,
    databaseSecretArn: app.node.tryGetContext('databaseSecretArn'),
    objectLock: String(app.node.tryGetContext('objectLock')) === 'true',
    bootstrapToken: String(app.node.tryGetContext('bootstrapToken')) !== 'false',
    maintenanceEvery: Duration.minutes(Number(app.node.tryGetContext('maintenanceMinutes') ?? 60)),
  });
  return { app, stack };
}

const USAGE = `usage: npm run cdk:synth -- [-c KEY=VALUE]... [--out DIR]

Synthesizes the catalog's AWS deployment into cdk.out/ (or --out DIR), offline; deploy it
with \`npx aws-cdk deploy --app cdk.out\` (AWS credentials) or from its CloudFormation template.

  -c database=aurora|secret    aurora (default): Aurora Serverless v2 behind RDS Proxy;
                               secret: a PostgreSQL of yours, its postgres:// URL in
  -c databaseSecretArn=ARN     this Secrets Manager secret (needed with database=secret)
  -c objectLock=true|false     the bucket with S3 Object Lock (default false; cannot be undone)
  -c bootstrapToken=true|false a first admin token generated into Secrets Manager (default
                               true); false leaves it out once an admin token of your own exists
  -c stackName=NAME            the CloudFormation stack (default VmfsRecoveryCatalog)
  -c lambdaCodeDir=DIR         where lambda.mjs is (default the checkout's dist/)
  -c maintenanceMinutes=N      minutes between maintenance runs (default 60)
  --out DIR                    where to write the cloud assembly (default cdk.out/)
  -h, --help                   this text

Any other key, or a value other than these, stops the synth (exit 1).
`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const args = process.argv.slice(2);
    if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    const out =
      parseArgs({ args, options: { context: { type: 'string', short: 'c', multiple: true }, out: { type: 'string' } } }).values.out ?? `${ROOT}cdk.out`;
    const { app, stack } = buildApp(contextFromArgs(args), out);
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName);
    const resources = Object.keys((template.template as { Resources: object }).Resources).length;
    const bundle = `${(app.node.tryGetContext('lambdaCodeDir') as string | undefined) ?? `${ROOT}dist`}/lambda.mjs`;
    console.log(
      `${template.templateFullPath}: ${resources} resources (database=${stack.node.tryGetContext('database') ?? 'aurora'}, ` +
        `objectLock=${String(stack.node.tryGetContext('objectLock')) === 'true'}); ` +
        `Lambda bundle ${bundle}: ${(statSync(bundle).size / 1024).toFixed(1)} KiB (nodejs22.x, arm64)`,
    );
  } catch (e) {
    const unknown = (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    console.error(`cdk:synth: ${(e as Error).message}${unknown ? ' (npm run cdk:synth -- --help lists the settings)' : ''}`);
    process.exit(1);
  }
}
