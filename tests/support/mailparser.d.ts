/** The part of mailparser the SMTP test helper uses (the package ships no types). */
declare module 'mailparser' {
  import type { Readable } from 'node:stream';
  export interface ParsedMail {
    subject?: string;
    text?: string;
    html?: string | false;
  }
  export function simpleParser(source: Readable | Buffer | string): Promise<ParsedMail>;
}
