// Stand-in for `mc ready local`: MinIO's unauthenticated readiness endpoint, which server.js
// answers the same way (200 once the S3 port is listening).
require('http')
  .get('http://127.0.0.1:9000/minio/health/ready', (r) => process.exit(r.statusCode === 200 ? 0 : 1))
  .on('error', () => process.exit(1))
  .setTimeout(4000, () => process.exit(1));
