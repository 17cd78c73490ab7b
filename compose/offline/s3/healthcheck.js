// Stand-in for `mc ready local`: the S3 port answers HTTP (any status below 500).
require('http')
  .get('http://127.0.0.1:9000/', (r) => process.exit(r.statusCode < 500 ? 0 : 1))
  .on('error', () => process.exit(1));
