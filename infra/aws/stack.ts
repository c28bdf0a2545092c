/**
 * The catalog on AWS, serverless: an API Gateway HTTP API in front of one Lambda function
 * built from api/lambda.ts (infra/build.mjs --lambda), a scheduled Lambda for the catalog's
 * maintenance, an S3 bucket for chunks and manifests, and PostgreSQL — either Aurora
 * Serverless v2 behind RDS Proxy in a VPC of its own, or an existing database whose
 * connection URL is kept in Secrets Manager. `npm run cdk:synth` synthesizes it offline.
 *
 * Lambda's limits are met by the design, not by settings: uploads never pass through the
 * function (collectors PUT to presigned S3 URLs signed by the function's role), restore
 * bundles answer with a presigned GET (a 302, unless `?redirect=0`) and large downloads do with
 * `?redirect=1`, since an answer is capped at 6 MB, and each function
 * instance holds at most one database connection (`DATABASE_POOL_MAX=1`; RDS Proxy pools
 * them) with prepared statements off, which a transaction-pooling proxy needs. A commit
 * whose uploaded bytes would take longer to verify than a request may run is answered 202
 * and handed by the API function to itself (an asynchronous invocation with the function's
 * 15-minute timeout; the maintenance run takes up any that got lost).
 */
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secrets from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/** Key prefixes the catalog writes (api/store/types.ts and the services that use them). */
export const CATALOG_PREFIXES = ['chunks/', 'staging/', 'manifests/', 'tokens/', 'bundles/', 'probes/'] as const;

export interface CatalogStackProps extends StackProps {
  /** The folder holding lambda.mjs and migrations/ (infra/build.mjs --lambda writes dist/). */
  lambdaCodeDir: string;
  /** 'aurora': a new Aurora Serverless v2 cluster with RDS Proxy; 'secret': an existing database. */
  database: 'aurora' | 'secret';
  /** With database 'secret': the ARN of a secret whose value is the postgres:// URL. */
  databaseSecretArn?: string;
  /** Create the bucket with S3 Object Lock enabled (cannot be turned off later). */
  objectLock?: boolean;
  /** How often the maintenance function runs. */
  maintenanceEvery?: Duration;
  /**
   * false: the functions no longer take the generated first admin token (CATALOG_BOOTSTRAP_TOKEN
   * unset): how it is retired once an admin token of the catalog's own exists. Default true.
   */
  bootstrapToken?: boolean;
}

export class CatalogStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly api: lambda.Function;
  readonly maintenance: lambda.Function;
  readonly httpApi: apigw.HttpApi;

  constructor(scope: Construct, id: string, props: CatalogStackProps) {
    super(scope, id, props);
    if (props.database === 'secret' && !props.databaseSecretArn) {
      throw new Error('database=secret needs databaseSecretArn (a Secrets Manager secret holding the postgres:// URL)');
    }

    this.bucket = new s3.Bucket(this, 'CatalogBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      objectLockEnabled: props.objectLock === true ? true : undefined,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Assembled downloads and bundles are served once by presigned GET; staged uploads
        // no commit read are swept by the catalog, and this catches what a crash left.
        { id: 'expire-bundles', prefix: 'bundles/', expiration: Duration.days(1) },
        { id: 'expire-staging', prefix: 'staging/', expiration: Duration.days(3) },
        { id: 'expire-probes', prefix: 'probes/', expiration: Duration.days(1) },
        // Versioning keeps what retention deleted for a while: a mistaken run can be undone.
        { id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(30) },
      ],
    });

    const bootstrap = new secrets.Secret(this, 'BootstrapToken', {
      description: 'The first admin token of the catalog (rotate: create another admin token, then revoke this one)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });

    const env: Record<string, string> = {
      S3_BUCKET: this.bucket.bucketName,
      S3_REGION: this.region,
      DATA_DIR: '/tmp/catalog',
      DATABASE_POOL_MAX: '1',
      DATABASE_PREPARE: 'false',
      NODE_OPTIONS: '--enable-source-maps',
    };
    // Chunk and manifest PUTs then carry retain-until dates that follow the retention tiers.
    if (props.objectLock === true) env.S3_OBJECT_LOCK = 'true';
    let vpc: ec2.IVpc | undefined;
    let dbSecret: secrets.ISecret;
    let lambdaSecurityGroup: ec2.SecurityGroup | undefined;
    if (props.database === 'aurora') {
      // No NAT gateway: the functions reach S3 through a gateway endpoint and Secrets Manager
      // through an interface endpoint; nothing else leaves the VPC.
      vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
        gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      });
      vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER });
      // The API function hands large commits to itself (an asynchronous Invoke) through this one.
      vpc.addInterfaceEndpoint('Lambda', { service: ec2.InterfaceVpcEndpointAwsService.LAMBDA });
      lambdaSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', { vpc, description: 'catalog functions' });
      const cluster = new rds.DatabaseCluster(this, 'Database', {
        engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_6 }),
        writer: rds.ClusterInstance.serverlessV2('writer'),
        serverlessV2MinCapacity: 0.5,
        serverlessV2MaxCapacity: 4,
        vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        defaultDatabaseName: 'catalog',
        storageEncrypted: true,
        backup: { retention: Duration.days(7) },
        removalPolicy: RemovalPolicy.SNAPSHOT,
      });
      const proxy = cluster.addProxy('Proxy', { secrets: [cluster.secret!], vpc, requireTLS: true });
      proxy.connections.allowFrom(lambdaSecurityGroup, ec2.Port.tcp(5432), 'catalog functions to RDS Proxy');
      dbSecret = cluster.secret!;
      env.DATABASE_SECRET_ARN = dbSecret.secretArn;
      // The secret names the cluster's writer; connections go through the proxy instead.
      env.DATABASE_HOST = proxy.endpoint;
    } else {
      dbSecret = secrets.Secret.fromSecretCompleteArn(this, 'DatabaseUrl', props.databaseSecretArn!);
      env.DATABASE_SECRET_ARN = dbSecret.secretArn;
    }
    // Resolved by CloudFormation at deploy time; only its SHA-256 is ever stored by the catalog.
    if (props.bootstrapToken !== false) env.CATALOG_BOOTSTRAP_TOKEN = SecretValue.secretsManager(bootstrap.secretArn).unsafeUnwrap();

    const code = lambda.Code.fromAsset(props.lambdaCodeDir, { exclude: ['collector.cjs', '*.map.txt'] });
    const fn = (name: string, handler: string, timeout: Duration, description: string) =>
      new lambda.Function(this, name, {
        description,
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        handler,
        code,
        memorySize: 1024,
        timeout,
        environment: env,
        vpc,
        vpcSubnets: vpc ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } : undefined,
        securityGroups: lambdaSecurityGroup ? [lambdaSecurityGroup] : undefined,
        logGroup: new logs.LogGroup(this, `${name}Logs`, { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY }),
      });
    // One function serves the API and runs the commit jobs it hands itself (api/ingest/commit-jobs.ts):
    // an HTTP request is cut by API Gateway at 29 s (the integration timeout below) whatever the
    // function's timeout; an asynchronous commit invocation gets Lambda's full 15 minutes, which
    // reads and hashes a 1.5 GiB support-grade dump with time to spare.
    this.api = fn('ApiFunction', 'lambda.handler', Duration.minutes(15), 'VMFS Recovery Catalog API and its commit jobs');
    // A commit event Lambda could not run (throttled, or the function failed) is retried; one that
    // never runs is picked up by the maintenance run (its job row stays queued).
    this.api.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(1) });
    this.maintenance = fn(
      'MaintenanceFunction',
      'lambda.maintenance',
      Duration.minutes(15),
      'VMFS Recovery Catalog maintenance (staging sweep, retention, scrub, stale hosts)',
    );

    for (const f of [this.api, this.maintenance]) {
      this.grantCatalogPrefixes(f.role!, props.objectLock === true);
      dbSecret.grantRead(f);
    }
    // The API function may invoke itself, and nothing else. A policy of its own (not the role's
    // default policy, which the function depends on) keeps the function's ARN out of a cycle.
    new iam.Policy(this, 'ApiSelfInvoke', {
      roles: [this.api.role!],
      statements: [new iam.PolicyStatement({ sid: 'CommitJobs', actions: ['lambda:InvokeFunction'], resources: [this.api.functionArn] })],
    });

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'VMFS Recovery Catalog',
      // API Gateway HTTP APIs give an integration 30 s at most.
      defaultIntegration: new HttpLambdaIntegration('ApiIntegration', this.api, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
        timeout: Duration.seconds(29),
      }),
    });

    new events.Rule(this, 'MaintenanceSchedule', {
      description: 'Runs the catalog maintenance',
      schedule: events.Schedule.rate(props.maintenanceEvery ?? Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.maintenance, { retryAttempts: 2 })],
    });

    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.apiEndpoint, description: 'CATALOG_URL for collectors and operators' });
    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'BootstrapTokenSecret', {
      value: bootstrap.secretArn,
      description: 'aws secretsmanager get-secret-value --secret-id <this> gives the first admin token',
    });
  }

  /** Object access only under the catalog's prefixes, listing only this bucket. */
  private grantCatalogPrefixes(role: iam.IRole, objectLock: boolean): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CatalogObjects',
        actions: [
          's3:GetObject',
          's3:PutObject',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
          ...(objectLock ? ['s3:PutObjectRetention', 's3:GetObjectRetention'] : []),
        ],
        resources: CATALOG_PREFIXES.map((p) => this.bucket.arnForObjects(`${p}*`)),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CatalogBucket',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
  }
}
