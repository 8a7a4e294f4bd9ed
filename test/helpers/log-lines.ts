// Patterns for NSQ's text log lines (`<prefix>YYYY/MM/DD HH:MM:SS.micro LEVEL: msg`), shared by
// the tests that spawn the real binaries and read their stderr.

/** The timestamp part of an NSQ log line, as a regular-expression source. */
export const LOG_TIME = String.raw`\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6}`;

/** `s` with every regular-expression metacharacter escaped. */
export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The `<prefix><time> INFO: TCP|HTTP|HTTPS: listening on 127.0.0.1:<port>` line; group 1 is the port. */
export function listeningLine(what: 'TCP' | 'HTTP' | 'HTTPS', prefix: string): RegExp {
  return new RegExp(String.raw`^${escapeRe(prefix)}${LOG_TIME} INFO: ${what}: listening on 127\.0\.0\.1:(\d+)$`, 'm');
}
