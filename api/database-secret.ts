/**
 * DATABASE_URL from AWS Secrets Manager (DATABASE_SECRET_ARN), so a deployment never puts
 * the database password in a function's environment. A secret holds either the postgres://
 * URL itself, or the JSON that RDS and Aurora write for a generated master secret
 * (`{"username","password","host","port","dbname","engine"}`, as documented for
 * AWS::SecretsManager::SecretTargetAttachment); DATABASE_HOST replaces its host, for
 * connecting through an RDS Proxy endpoint rather than the cluster writer.
 */
import { ApiError } from './errors.js';

/** The postgres:// URL a secret value stands for. */
export function databaseUrlFromSecret(secretString: string, hostOverride?: string): string {
  const text = secretString.trim();
  if (/^postgres(ql)?:\/\//.test(text)) {
    if (!hostOverride) return text;
    const url = new URL(text);
    url.hostname = hostOverride;
    return url.toString();
  }
  let value: { username?: unknown; password?: unknown; host?: unknown; port?: unknown; dbname?: unknown };
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('DATABASE_SECRET_ARN: the secret is neither a postgres:// URL nor RDS JSON');
  }
  const { username, password, host, port, dbname } = value;
  if (typeof username !== 'string' || typeof password !== 'string' || (typeof host !== 'string' && !hostOverride)) {
    throw new Error("DATABASE_SECRET_ARN: the secret's JSON lacks username, password or host");
  }
  const url = new URL('postgres://placeholder');
  url.username = encodeURIComponent(username);
  url.password = encodeURIComponent(password);
  url.hostname = hostOverride ?? (host as string);
  url.port = String(typeof port === 'number' || typeof port === 'string' ? port : 5432);
  url.pathname = `/${encodeURIComponent(typeof dbname === 'string' && dbname ? dbname : 'postgres')}`;
  // RDS Proxy with requireTLS (and RDS itself) expects TLS.
  url.searchParams.set('sslmode', 'require');
  return url.toString();
}

/** GetSecretValue through the AWS SDK, with the function's own credentials. */
export async function fetchSecretString(arn: string, fallbackRegion: string): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  // The ARN names its region: arn:aws:secretsmanager:<region>:<account>:secret:<name>.
  const region = arn.split(':')[3] || fallbackRegion;
  const client = new SecretsManagerClient({ region });
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!out.SecretString) throw new Error('the secret has no string value');
    return out.SecretString;
  } catch (e) {
    throw new ApiError('service_unavailable', `DATABASE_SECRET_ARN: cannot read the secret (${(e as Error).name}: ${(e as Error).message})`, undefined, {
      cause: e,
    });
  } finally {
    client.destroy();
  }
}
