/**
 * An https:// catalog whose certificate this host does not trust (self-signed, an internal CA,
 * issued for another name) was reported as 'catalog unreachable: DEPTH_ZERO_SELF_SIGNED_CERT:
 * self-signed certificate', which reads as an outage to wait out; the capture waited in the
 * spool run after run. The line now says it is the certificate, and the two ways out.
 */
import { describe, expect, it } from 'vitest';
import { describeError } from '../../collector/errors.js';

const tlsError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('describeError for a TLS certificate this host does not trust', () => {
  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: Host: catalog is not in the cert's altnames: DNS:catalog.example"],
    ['CERT_HAS_EXPIRED', 'certificate has expired'],
  ])('%s names the certificate and the way out', (code, message) => {
    expect(describeError(tlsError(code, message), 'https://catalog:8787/v1/captures')).toBe(
      `${code}: ${message}: this host does not trust catalog:8787's TLS certificate; give its CA with NODE_EXTRA_CA_CERTS=FILE, and a URL with the name it was issued for`,
    );
  });

  it('leaves other failures as they were', () => {
    expect(describeError(tlsError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8787'))).toBe('connect ECONNREFUSED 127.0.0.1:8787');
    expect(describeError(tlsError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'))).toBe('DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate');
  });
});
