// Runs the real `edgemeter` executable in a child process, as an operator would, without
// blocking this process (a rater or collector answering it may live here).
import { execFile } from 'node:child_process';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Variables that would point the CLI at a user's own set-up are blanked first; `env` then sets
 * what the test means.
 */
const BLANK = {
  EDGEMETER_CONFIG: '',
  EDGEMETER_API_URL: '',
  EDGEMETER_API_KEY: '',
  EDGEMETER_COLLECTOR_URL: '',
  EDGEMETER_DEVICE_CREDENTIALS: '',
};

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/edgemeter.js', ...args],
      { env: { ...process.env, ...BLANK, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
