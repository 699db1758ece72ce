/**
 * The baselines `pnpm bench:api` measures the app against, in their own process like the app:
 *   GET /      a bare Node HTTP answer (no I/O)
 *   GET /db    one postgres.js `select 1` on a 10-connection pool (the app's pool size), as JSON
 * Usage: tsx tests/bench/baseline-server.ts <port> <database url>
 */
import http from 'node:http';
import postgres from 'postgres';

const [port, url] = process.argv.slice(2);
const sql = postgres(url!, { max: 10, onnotice: () => {} });
const server = http.createServer((req, res) => {
  if (req.url === '/db') {
    sql`select 1 as one`.then(
      (rows) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows[0])),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => void sql.end().then(() => process.exit(0))));
