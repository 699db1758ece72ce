/** Starts tests/support/s3-verifying-server.ts as its own process and hands back where it listens. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** What the verifying server counted (GET /__verifier/stats). */
export interface VerifierStats {
  requests: number;
  verified: number;
  rejected: Record<string, number>;
  payload: Record<string, number>;
  checksums: number;
  multipartParts: number;
  virtualHosted: number;
  injectedFailures: number;
}

export interface S3TestServer {
  endpoint: string;
  /** The same server over HTTPS (self-signed: trust `cert`), or null without openssl. */
  tls: { endpoint: string; cert: string } | null;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** S3_* variables for a process that should use this server. */
  env: Record<string, string>;
  stats(): Promise<VerifierStats>;
  /** The next `count` S3 requests fail with 503 SlowDown. */
  failNext(count: number): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export async function startS3TestServer(): Promise<S3TestServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/support/s3-verifying-server.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(l));
    child.once('exit', (code) => reject(new Error(`S3 test server exited (${code}) before it listened`)));
  });
  const info = JSON.parse(first) as { endpoint: string; tls: { endpoint: string; cert: string } | null; accessKeyId: string; secretAccessKey: string; bucket: string };
  return {
    ...info,
    env: { S3_BUCKET: info.bucket, S3_ENDPOINT: info.endpoint, S3_REGION: 'us-east-1', S3_ACCESS_KEY_ID: info.accessKeyId, S3_SECRET_ACCESS_KEY: info.secretAccessKey },
    stats: async () => (await (await fetch(`${info.endpoint}/__verifier/stats`)).json()) as VerifierStats,
    failNext: async (count) => void (await fetch(`${info.endpoint}/__verifier/fail?count=${count}`, { method: 'POST' })),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
