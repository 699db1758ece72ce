/** The slice of aws4 1.13 (ships no types) the verifying S3 test server uses. */
declare module 'aws4' {
  export class RequestSigner {
    constructor(request: { host?: string; method?: string; path?: string; headers?: Record<string, string>; service?: string; region?: string; extraHeadersToInclude?: Record<string, boolean> }, credentials: { accessKeyId: string; secretAccessKey: string });
    signature(): string;
  }
  export function sign(request: { host?: string; method?: string; path?: string; headers?: Record<string, string>; service?: string; region?: string; body?: string }, credentials: { accessKeyId: string; secretAccessKey: string }): { headers: Record<string, string> };
  const aws4: { RequestSigner: typeof RequestSigner; sign: typeof sign };
  export default aws4;
}
