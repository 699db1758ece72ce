// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {
    interface Locals {
      user: { id: string; email: string; name: string; isFarmAdmin: boolean } | null;
      session: { id: string; expiresAt: Date } | null;
    }
    interface Error {
      message: string;
      code?: string;
    }
  }
}

export {};
