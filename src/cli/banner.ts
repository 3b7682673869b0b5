/** What `serve` and `demo` print for the person who started them (stdout, never the logs). */
export function printBanner(url: string, bootstrap: { username: string; oneTimePassword?: string | undefined }, extra: string[] = []): void {
  const lines = [``, `  Portcullis is running: ${url}`];
  if (bootstrap.oneTimePassword) {
    lines.push(`  First administrator:   ${bootstrap.username}`, `  One-time password:     ${bootstrap.oneTimePassword}   (change it at first login)`);
  }
  lines.push(...extra, ``);
  process.stdout.write(`${lines.join('\n')}\n`);
}
