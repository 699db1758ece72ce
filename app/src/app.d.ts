// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {
    interface Locals {
      user: { id: string; email: string; name: string; isFarmAdmin: boolean; isInstanceAdmin: boolean } | null;
      session: { id: string; expiresAt: Date } | null;
    }
    /** adapter-node passes the Node request (hooks.server.ts uses it to linger-close refused bodies). */
    interface Platform {
      req?: import('node:http').IncomingMessage;
    }
    interface Error {
      message: string;
      code?: string;
    }
  }
}

export {};
