// The `edgemeter` executable: wiring and signal handling only; each program lives in its folder.
import { Command } from 'commander';
import { ConfigError } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { collectorOptions, loadCollectorConfig } from '../collector/config.ts';
import { Collector } from '../collector/collector.ts';
import { loadRaterConfig, raterOptions } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { addConfigFlags, givenFlags, onShutdown } from './options.ts';
import { registerUsageCommand } from './usage.ts';
import { registerDemoCommand } from './demo.ts';
import { registerConfigCommand } from './config-docs.ts';

const program = new Command('edgemeter')
  .description('Usage metering and rating for IoT and telecom operators')
  .version('0.1.0')
  .showHelpAfterError();

addConfigFlags(
  program
    .command('rater')
    .description('Run the central rater: gRPC ingest, TimescaleDB storage, HTTP API'),
  raterOptions,
).action(async (_opts, cmd: Command) => {
  const config = loadRaterConfig({ file: cmd.opts().config, flags: givenFlags(cmd, raterOptions) });
  const rater = await new Rater(config, {
    logger: createLogger(config.logLevel, 'rater'),
    processMetrics: true,
  }).start();
  onShutdown(() => rater.close());
});

addConfigFlags(
  program
    .command('collector')
    .description('Run a collector on a gateway: MQTT in, durable LevelDB outbox, gRPC forwarding'),
  collectorOptions,
).action(async (_opts, cmd: Command) => {
  const config = loadCollectorConfig({
    file: cmd.opts().config,
    flags: givenFlags(cmd, collectorOptions),
  });
  const collector = await new Collector(config, {
    logger: createLogger(config.logLevel, 'collector'),
    processMetrics: true,
  }).start();
  onShutdown(() => collector.close());
});

registerDemoCommand(program);
registerUsageCommand(program);
registerConfigCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`edgemeter: ${err.message}`);
    process.exit(2);
  }
  console.error(`edgemeter: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
