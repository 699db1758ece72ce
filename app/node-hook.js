/**
 * Puts the app's Node-level hook in front of SvelteKit's handler in adapter-node's server
 * (`node app/build`): the first middleware of its polka server looks up what hooks.server.ts
 * registered (trpc/node.ts `nodeHook`: tRPC answered without building a Fetch Request) and calls it;
 * what the hook does not take, and every request before it is registered, goes on to SvelteKit.
 * adapter-node has no option for a middleware, so its generated server is edited here, at build
 * time; a build whose server does not read as expected fails instead of shipping without the hook.
 * (`pnpm start` embeds adapter-node's handler in its own server and calls the hook itself.)
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** The line of adapter-node's files/index.js (5.x) that mounts SvelteKit's handler. */
const MOUNT = 'const server = polka({ server: httpServer }).use(handler);';

const HOOKED = `/* ClipMaker (app/node-hook.js): the app's Node-level hook runs before SvelteKit's handler. */
const clipmaker_node_hook = (req, res, next) => {
\tconst hook = globalThis[Symbol.for('clipmaker.app.nodeHook')];
\tif (hook) hook(req, res, next);
\telse next();
};
const server = polka({ server: httpServer }).use(clipmaker_node_hook, handler);`;

/** @param {string} indexFile the built server (build/index.js) */
export function addNodeHook(indexFile) {
  const source = readFileSync(indexFile, 'utf8');
  const at = source.indexOf(MOUNT);
  if (at === -1 || source.indexOf(MOUNT, at + 1) !== -1) {
    throw new Error(`${indexFile}: adapter-node's server no longer mounts its handler as \`${MOUNT}\`; update app/node-hook.js`);
  }
  writeFileSync(indexFile, source.replace(MOUNT, HOOKED));
}
