// Adds one command-line flag per config option, from the program's schema (common/config.ts).
import type { Command } from 'commander';
import { envName, flagName, type OptionsShape } from '../common/config.ts';

export function addConfigFlags(cmd: Command, options: OptionsShape): Command {
  cmd.option('-c, --config <file>', 'YAML or JSON config file (env EDGEMETER_CONFIG)');
  for (const [key, opt] of Object.entries(options)) {
    cmd.option(`${flagName(key)} ${opt.arg ?? '<value>'}`, `${opt.doc} (env ${envName(key)})`);
  }
  return cmd;
}

/** The flags the user actually gave, by option key. */
export function givenFlags(cmd: Command, options: OptionsShape): Record<string, unknown> {
  const all = cmd.opts<Record<string, unknown>>();
  return Object.fromEntries(
    Object.keys(options)
      .filter((k) => all[k] !== undefined)
      .map((k) => [k, all[k]]),
  );
}

/**
 * Runs `stop` once, then exits: on SIGINT/SIGTERM (exit code 0), or when the returned function
 * is called (with its exit code).
 */
export function onShutdown(stop: () => Promise<void>): (why: string, exitCode: number) => void {
  let stopping = false;
  const shutdown = (why: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        console.error(`edgemeter: error while stopping after ${why}:`, err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT', 0));
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  return shutdown;
}
