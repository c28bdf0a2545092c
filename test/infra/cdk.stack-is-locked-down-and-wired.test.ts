/**
 * The AWS deployment (infra/aws/stack.ts), synthesized offline and checked with
 * aws-cdk-lib/assertions: a bucket no one reaches without TLS or from the public, a
 * function role that touches only the catalog's key prefixes, functions on a supported
 * Node runtime with one database connection each, the maintenance schedule, log
 * retention, and both database modes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/aws/app.js';
import { CATALOG_PREFIXES } from '../../infra/aws/stack.js';

// The template does not depend on the bundle's content: a stand-in folder keeps this test fast.
const code = mkdtempSync(join(tmpdir(), 'vrc-lambda-'));
writeFileSync(join(code, 'lambda.mjs'), 'export const handler = async () => ({ statusCode: 200 });\n');
const out = mkdtempSync(join(tmpdir(), 'vrc-cdk-'));
afterAll(() => {
  rmSync(code, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

function synth(context: Record<string, string>): Template {
  const { stack } = buildApp({ lambdaCodeDir: code, ...context }, out);
  return Template.fromStack(stack);
}

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:catalog-db-AbCdEf';

describe('Aurora mode (default)', () => {
  const t = synth({});

  it('keeps the bucket private, encrypted, versioned, TLS-only, and cleans up what uploads leave', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'bundles/', ExpirationInDays: 1 }),
          Match.objectLike({ Prefix: 'staging/', ExpirationInDays: 3 }),
        ]),
      },
    });
    expect(JSON.stringify(t.findResources('AWS::S3::Bucket'))).not.toContain('ObjectLockEnabled');
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('runs both functions on Node 22 arm64 with one database connection and no plain database URL', () => {
    const fns = t.findResources('AWS::Lambda::Function');
    const catalog = Object.values(fns).filter((f: any) => /^lambda\./.test(f.Properties.Handler));
    expect(catalog.map((f: any) => f.Properties.Handler).sort()).toEqual(['lambda.handler', 'lambda.maintenance']);
    for (const f of catalog as any[]) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.Architectures).toEqual(['arm64']);
      const env = f.Properties.Environment.Variables;
      expect(env).toMatchObject({ DATABASE_POOL_MAX: '1', DATABASE_PREPARE: 'false', DATA_DIR: '/tmp/catalog' });
      expect(env.S3_BUCKET).toEqual({ Ref: expect.stringMatching(/^CatalogBucket/) });
      expect(env.DATABASE_SECRET_ARN).toBeDefined();
      expect(env.DATABASE_URL).toBeUndefined();
      expect(f.Properties.VpcConfig).toBeDefined();
    }
    // HTTP requests are cut at 29 s by the integration; the commit jobs the function hands itself get 15 minutes.
    expect((catalog as any[]).find((f) => f.Properties.Handler === 'lambda.handler').Properties.Timeout).toBe(900);
    t.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', TimeoutInMillis: 29_000 });
  });

  it('lets the API function invoke itself asynchronously for commit jobs, and nothing else; inside the VPC through an endpoint', () => {
    const fns = t.findResources('AWS::Lambda::Function');
    const apiId = Object.keys(fns).find((id) => (fns[id] as any).Properties.Handler === 'lambda.handler')!;
    const invokes = (Object.values(t.findResources('AWS::IAM::Policy')) as any[]).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter((st: any) => [st.Action].flat().some((a: string) => a.startsWith('lambda:'))).map((st: any) => ({
        st,
        roles: p.Properties.Roles,
      })),
    );
    expect(invokes).toHaveLength(1);
    const [{ st, roles }] = invokes;
    expect(st).toMatchObject({ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [apiId, 'Arn'] } });
    expect(roles).toEqual([{ Ref: (fns[apiId] as any).Properties.Role['Fn::GetAtt'][0] }]);
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: apiId }, MaximumRetryAttempts: 2 });
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.lambda']] },
    });
  });

  it('lets the function role touch only the catalog prefixes of its own bucket', () => {
    const policies = Object.values(t.findResources('AWS::IAM::Policy')) as any[];
    const s3Statements = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('s3:')));
    expect(s3Statements.length).toBeGreaterThan(0);
    for (const s of s3Statements) {
      expect([s.Action].flat()).not.toContain('s3:*');
      for (const r of [s.Resource].flat()) {
        expect(r).not.toBe('*');
        const text = JSON.stringify(r);
        expect(text).toContain('CatalogBucket');
        if ([s.Action].flat().includes('s3:GetObject')) {
          expect(
            CATALOG_PREFIXES.some((p) => text.includes(`/${p}*`)),
            text,
          ).toBe(true);
        }
      }
    }
  });

  it('schedules the maintenance function, keeps logs 90 days, and puts Aurora behind RDS Proxy', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MaintenanceFunction'), 'Arn'] } })],
    });
    const logGroups = Object.values(t.findResources('AWS::Logs::LogGroup')) as any[];
    expect(logGroups.length).toBeGreaterThanOrEqual(2);
    for (const g of logGroups) expect(g.Properties.RetentionInDays).toBe(90);
    t.resourceCountIs('AWS::RDS::DBCluster', 1);
    t.resourceCountIs('AWS::RDS::DBProxy', 1);
    t.hasResourceProperties('AWS::RDS::DBProxy', { RequireTLS: true, EngineFamily: 'POSTGRESQL' });
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.hasOutput('ApiUrl', {});
    t.hasOutput('BucketName', {});
  });
});

describe('existing database from Secrets Manager, with Object Lock', () => {
  const t = synth({ database: 'secret', databaseSecretArn: SECRET_ARN, objectLock: 'true' });

  it('creates no database or VPC and reads the given secret', () => {
    t.resourceCountIs('AWS::RDS::DBCluster', 0);
    t.resourceCountIs('AWS::EC2::VPC', 0);
    const fns = Object.values(t.findResources('AWS::Lambda::Function')) as any[];
    for (const f of fns.filter((x) => /^lambda\./.test(x.Properties.Handler))) expect(f.Properties.Environment.Variables.DATABASE_SECRET_ARN).toBe(SECRET_ARN);
    t.hasResourceProperties('AWS::S3::Bucket', { ObjectLockEnabled: true });
    for (const f of fns.filter((x) => /^lambda\./.test(x.Properties.Handler))) expect(f.Properties.Environment.Variables.S3_OBJECT_LOCK).toBe('true');
    const actions = (Object.values(t.findResources('AWS::IAM::Policy')) as any[])
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .flatMap((st: any) => [st.Action].flat());
    expect(actions).toContain('s3:PutObjectRetention');
  });

  it('refuses secret mode without a secret, naming what is missing', () => {
    expect(() => buildApp({ lambdaCodeDir: code, database: 'secret' }, out)).toThrow(/databaseSecretArn/);
    expect(() => buildApp({ lambdaCodeDir: code, database: 'mysql' }, out)).toThrow(/use aurora or secret/);
  });

  it('leaves the generated first admin token out of the functions with -c bootstrapToken=false (how it is retired)', () => {
    const env = (t: Template) =>
      (Object.values(t.findResources('AWS::Lambda::Function')) as any[])
        .filter((f) => /^lambda\./.test(f.Properties.Handler))
        .map((f) => f.Properties.Environment.Variables);
    expect(env(synth({})).every((v) => 'CATALOG_BOOTSTRAP_TOKEN' in v)).toBe(true);
    const retired = env(synth({ bootstrapToken: 'false' }));
    expect(retired.length).toBeGreaterThan(0);
    for (const v of retired) expect(v).not.toHaveProperty('CATALOG_BOOTSTRAP_TOKEN');
    expect(() => buildApp({ lambdaCodeDir: code, bootstrapToken: 'no' }, out)).toThrow('-c bootstrapToken=no: use true or false');
  });

  it('refuses context it would read as its default: an unknown key, an objectLock other than true/false, minutes that are no whole number', () => {
    // Each of these synthesized a bucket without Object Lock (or a NaN schedule) without a word.
    expect(() => buildApp({ lambdaCodeDir: code, objectlock: 'true' }, out)).toThrow(/-c objectlock=…: not a setting of this app \(it reads .*objectLock/);
    expect(() => buildApp({ lambdaCodeDir: code, objectLock: 'yes' }, out)).toThrow('-c objectLock=yes: use true or false');
    expect(() => buildApp({ lambdaCodeDir: code, maintenanceMinutes: 'abc' }, out)).toThrow(/maintenanceMinutes=abc: a whole number of minutes/);
    expect(() => buildApp({ lambdaCodeDir: code, maintenanceMinutes: '0' }, out)).toThrow(/maintenanceMinutes=0/);
  });
});
