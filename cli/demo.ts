import type { Command } from 'commander';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Run a rater, a collector and simulated devices locally for a short while, then print usage and charges',
    )
    .option('--devices <n>', 'number of simulated devices', '12')
    .option('--seconds <n>', 'how long the devices publish', '20')
    .option(
      '--data-dir <dir>',
      'keep the demo databases in this directory (default: a temporary one, removed afterwards)',
    )
    .action(async (o: { devices: string; seconds: string; dataDir?: string }) => {
      const devices = Number(o.devices);
      const seconds = Number(o.seconds);
      if (!Number.isInteger(devices) || devices < 2 || devices > 1000)
        throw new Error('--devices must be an integer from 2 to 1000');
      if (!Number.isInteger(seconds) || seconds < 2 || seconds > 3600)
        throw new Error('--seconds must be an integer from 2 to 3600');
      // Imported here: it loads the rater and the collector, which no other command needs.
      const { runDemo } = await import('../demo/run.ts');
      const result = await runDemo({
        devices,
        seconds,
        ...(o.dataDir ? { dataDir: o.dataDir } : {}),
      });
      process.exit(result.ok ? 0 : 1);
    });
}
