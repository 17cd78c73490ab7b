// TEST STAND-IN for MinIO: s3rver 3.7.1 behind MinIO's command line (`server DIR
// [--console-address X]`), MinIO's credentials (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD) and
// MinIO's unauthenticated health endpoints (/minio/health/live, /minio/health/ready).
//
// s3rver on its own accepts anonymous requests and, for Signature V4, only checks that the access
// key id exists (lib/middleware/authentication.js: "Signature version 4 calculation is
// unimplemented"): any secret would do. The middleware below closes that gap the way MinIO
// behaves: an anonymous request gets 403 AccessDenied, and a V4 signature (Authorization header
// or presigned URL) is recomputed with MINIO_ROOT_PASSWORD and must match. Any region in the
// credential scope is accepted. V2 signatures are left to s3rver, which verifies them.
// The body is not hashed against x-amz-content-sha256 (s3rver stores what it receives).
'use strict';
const crypto = require('crypto');
const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');
const S3Error = require('s3rver/lib/models/error');

const args = process.argv.slice(2);
const dirIndex = args.indexOf('server');
const directory = dirIndex >= 0 && args[dirIndex + 1] ? args[dirIndex + 1] : '/data';
const user = process.env.MINIO_ROOT_USER || 'minioadmin';
const password = process.env.MINIO_ROOT_PASSWORD || 'minioadmin';
// S3_VERIFY_SIGNATURES=0 restores s3rver's own (lax) behaviour: anonymous allowed, V4 unchecked.
const verify = process.env.S3_VERIFY_SIGNATURES !== '0';

// Replace s3rver's fixed S3RVER/S3RVER key pair with the MinIO root credentials.
DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
DUMMY_ACCOUNT.createKeyPair(user, password);

const rfc3986 = (s) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const decode = (s) => {
  try { return decodeURIComponent(s); } catch (e) { return s; }
};
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data, 'utf8').digest();
const sha256hex = (data) => crypto.createHash('sha256').update(data, 'utf8').digest('hex');

function denied(code, message) {
  return new S3Error(code, message);
}

// Verify an AWS Signature V4 request; returns normally when it is valid, throws S3Error if not.
function verifySigV4(req, presigned) {
  const [rawPath, rawQuery = ''] = req.url.split(/\?(.*)/s);
  const pairs = rawQuery
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [decode(p), ''] : [decode(p.slice(0, i)), decode(p.slice(i + 1))];
    });
  let credential, signedHeaders, signature, amzDate, payloadHash;
  if (presigned) {
    const q = Object.fromEntries(pairs);
    credential = q['X-Amz-Credential'] || '';
    signedHeaders = q['X-Amz-SignedHeaders'] || '';
    signature = q['X-Amz-Signature'] || '';
    amzDate = q['X-Amz-Date'] || '';
    payloadHash = q['X-Amz-Content-Sha256'] || 'UNSIGNED-PAYLOAD';
  } else {
    const auth = req.headers.authorization || '';
    const fields = Object.fromEntries(
      auth.replace(/^AWS4-HMAC-SHA256\s+/, '').split(/\s*,\s*/).map((f) => {
        const i = f.indexOf('=');
        return [f.slice(0, i), f.slice(i + 1)];
      }),
    );
    credential = fields.Credential || '';
    signedHeaders = fields.SignedHeaders || '';
    signature = fields.Signature || '';
    amzDate = req.headers['x-amz-date'] || '';
    payloadHash = req.headers['x-amz-content-sha256'] || '';
  }
  const [accessKey, date, region, service, terminator] = credential.split('/');
  if (!accessKey || !date || !region || !service || terminator !== 'aws4_request') {
    throw denied('AuthorizationHeaderMalformed', 'The credential scope is malformed.');
  }
  if (accessKey !== user) {
    throw denied('InvalidAccessKeyId', 'The Access Key Id you provided does not exist in our records.');
  }
  if (!amzDate) {
    throw denied('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  }
  const canonicalQuery = pairs
    .filter(([k]) => !(presigned && k === 'X-Amz-Signature'))
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((h) => {
      const value = req.headers[h];
      const text = Array.isArray(value) ? value.join(',') : value === undefined ? '' : String(value);
      return `${h}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalRequest = [
    req.method, rawPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const key = [date, region, service, 'aws4_request'].reduce(hmac, 'AWS4' + password);
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    throw denied(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your key and signing method.',
    );
  }
}

async function minioAuth(ctx, next) {
  const { req } = ctx;
  const path = req.url.split('?')[0];
  if (path === '/minio/health/live' || path === '/minio/health/ready') {
    ctx.status = 200;
    return undefined;
  }
  if (!verify || req.method === 'OPTIONS') return next(); // CORS preflight is unsigned
  const auth = req.headers.authorization || '';
  const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
  if (auth.startsWith('AWS4-HMAC-SHA256')) {
    verifySigV4(req, false);
  } else if (/[?&]X-Amz-Algorithm=/.test(query)) {
    verifySigV4(req, true);
  } else if (!auth && !/[?&](Signature|AWSAccessKeyId)=/.test(query)) {
    throw denied('AccessDenied', 'Access Denied. (anonymous requests are refused)');
  }
  // V2 (header or query) and V4 expiry / clock skew: s3rver's own authentication checks them.
  return next();
}

const server = new S3rver({
  address: '0.0.0.0',
  port: Number(process.env.S3_PORT || 9000),
  directory,
  silent: process.env.S3_VERBOSE !== '1',
  vhostBuckets: false, // path-style only, as MLflow and boto3 use it with a custom endpoint
});
server.middleware.splice(1, 0, minioAuth); // after s3rver's logger, before its router

server.run().then(({ address, port }) => {
  console.log(
    `s3rver 3.7.1 TEST STAND-IN for MinIO listening on ${address}:${port}, data in ${directory}; ` +
      `access key ${user}; SigV4 ${verify ? 'verified' : 'NOT verified'}; no web console`,
  );
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    const done = () => process.exit(0);
    server.close().then(done, done);
    if (server.httpServer && server.httpServer.closeIdleConnections) {
      server.httpServer.closeIdleConnections();
    }
    setTimeout(done, 3000).unref();
  });
}
