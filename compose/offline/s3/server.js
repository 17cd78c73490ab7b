// TEST STAND-IN for MinIO: s3rver behind MinIO's command line (`server DIR [--console-address X]`)
// and MinIO's credentials (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD), checked with SigV4.
'use strict';
const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const args = process.argv.slice(2);
const dirIndex = args.indexOf('server');
const directory = dirIndex >= 0 && args[dirIndex + 1] ? args[dirIndex + 1] : '/data';
const user = process.env.MINIO_ROOT_USER || 'minioadmin';
const password = process.env.MINIO_ROOT_PASSWORD || 'minioadmin';

// Replace s3rver's fixed S3RVER/S3RVER key pair with the MinIO root credentials.
DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
DUMMY_ACCOUNT.createKeyPair(user, password);

const server = new S3rver({
  address: '0.0.0.0',
  port: Number(process.env.S3_PORT || 9000),
  directory,
  silent: process.env.S3_VERBOSE !== '1',
  vhostBuckets: false, // path-style only, as MLflow and boto3 use it with a custom endpoint
});
server.run().then(({ address, port }) => {
  console.log(`s3rver TEST STAND-IN for MinIO listening on ${address}:${port}, data in ${directory}` +
              ' (console address ignored: no web console)');
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close().then(() => process.exit(0)));
}
