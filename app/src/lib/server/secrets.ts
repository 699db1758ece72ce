/**
 * The two HMAC secrets (COLLAB_SECRET signs collab tokens, SIGNING_SECRET signs media URLs and
 * share-link password proofs). No value lives in the source tree:
 *  - production (NODE_ENV=production): both must come from the environment, at least
 *    SECRET_MIN_LENGTH characters, or the process refuses to start;
 *  - anywhere else, an unset secret is generated once with the CSPRNG (32 random bytes) and kept in
 *    $DATA_DIR/secrets/<NAME> (folder 0700, file 0600), so `pnpm start` works with no configuration,
 *    restarts keep links and tokens valid, and two installations never share a secret.
 * Plain Node (no app imports): the launcher (scripts/start.ts) uses it before the app is loaded.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SECRET_NAMES = ['COLLAB_SECRET', 'SIGNING_SECRET'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

/** Production refuses anything shorter (`openssl rand -hex 32` gives 64). */
export const SECRET_MIN_LENGTH = 32;
/** Outside production a configured secret may be shorter (tests), never under this. */
export const DEV_SECRET_MIN_LENGTH = 16;

export function secretFile(dataDir: string, name: SecretName): string {
  return path.join(dataDir, 'secrets', name);
}

/** The secret kept under dataDir, created (CSPRNG, mode 0600) when there is none yet. */
export function loadOrCreateSecret(dataDir: string, name: SecretName): string {
  const file = secretFile(dataDir, name);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx': never overwrite; two processes racing on a fresh folder both end up reading the winner's.
    writeFileSync(file, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const value = readFileSync(file, 'utf8').trim();
  if (value.length < SECRET_MIN_LENGTH) throw new Error(`${file} holds a secret shorter than ${SECRET_MIN_LENGTH} characters: delete it to have a new one generated`);
  return value;
}

/**
 * Both secrets for this process: the environment's (checked), else (outside production) the ones
 * kept under dataDir. Throws with a message naming the variable when production lacks one.
 */
export function resolveSecrets(env: NodeJS.ProcessEnv, dataDir: string): Record<SecretName, string> {
  const production = env.NODE_ENV === 'production';
  const out = {} as Record<SecretName, string>;
  for (const name of SECRET_NAMES) {
    const given = env[name];
    if (given) {
      const min = production ? SECRET_MIN_LENGTH : DEV_SECRET_MIN_LENGTH;
      if (given.length < min) throw new Error(`${name} must be at least ${min} characters (e.g. \`openssl rand -hex 32\`)`);
      out[name] = given;
    } else if (production) {
      throw new Error(`${name} must be set when NODE_ENV=production (at least ${SECRET_MIN_LENGTH} characters, e.g. \`openssl rand -hex 32\`)`);
    } else {
      out[name] = loadOrCreateSecret(dataDir, name);
    }
  }
  return out;
}
