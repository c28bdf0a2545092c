/**
 * The S3 store signs upload URLs for plain keys without the SDK's middleware stack per URL
 * (api/store/s3.ts presignPlainKey). Those URLs must be byte for byte what the SDK path
 * signs for the same key, headers and time, in path-style and virtual-hosted addressing
 * (a host name that is never contacted: signing is offline):
 * then every property the Swift suites prove of SDK-signed URLs (expiry, tamper, body
 * binding) holds for them too. Signing needs no server, so this runs everywhere.
 */
import { describe, expect, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3BlobStore, contentMd5 } from '../../api/store/s3.js';

const at = new Date('2026-11-29T12:00:00Z');
const body = new TextEncoder().encode('one chunk');
const sha = '0123456789abcdef'.repeat(4);

for (const forcePathStyle of [true, false]) {
  describe(`presigned PUT (${forcePathStyle ? 'path style' : 'virtual-hosted'})`, () => {
    const store = new S3BlobStore({
      bucket: 'catalog-bucket',
      endpoint: 'http://s3.example.test:18999',
      region: 'us-east-1',
      forcePathStyle,
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      now: () => at,
    });

    it('signs the same URL as the SDK path, for every key shape the catalog uses', async () => {
      for (const key of [`chunks/01/${sha}`, `staging/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/${sha}`, 'probes/readyz-1']) {
        const put = await store.presignPut(key, { contentLength: body.length, payloadSha256: sha, contentMd5: contentMd5(body), expiresInSeconds: 3600 });
        const viaSdk = await (store as any).presignRequest(new PutObjectCommand({ Bucket: 'catalog-bucket', Key: key }), put.headers, 3600, at);
        expect(put.url, key).toBe(viaSdk);
        expect(put.url).toContain('X-Amz-Signature=');
        expect(put.url).toContain(forcePathStyle ? `/catalog-bucket/${key}?` : `//catalog-bucket.s3.example.test:18999/${key}?`);
      }
    });

    it('a key that needs URI encoding takes the SDK path', async () => {
      const key = 'manifests/esx%2001/a b.json';
      const put = await store.presignPut(key, { contentLength: body.length, payloadSha256: sha, contentMd5: contentMd5(body), expiresInSeconds: 60 });
      const viaSdk = await (store as any).presignRequest(new PutObjectCommand({ Bucket: 'catalog-bucket', Key: key }), put.headers, 60, at);
      expect(put.url).toBe(viaSdk);
    });
  });
}
