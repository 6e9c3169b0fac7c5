// Absolute base URL of the API. Requests are same-origin: in development the
// Vite server proxies /api to orbit serve.
export function apiBaseUrl(): string {
  const origin = globalThis.location?.origin;
  return origin && origin !== 'null' ? origin : 'http://localhost';
}
