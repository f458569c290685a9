// The `edgemeter` executable: wiring and signal handling only; each program lives in its folder.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { collectorOptions, loadCollectorConfig } from '../collector/config.ts';
import { loadRaterConfig, raterOptions } from '../rater/config.ts';
import { PlanValidationError } from '../rater/rating/plan.ts';
import { ApiError, UsageError } from './api-client.ts';
import { registerAccountsCommand, registerDevicesCommand } from './catalog.ts';
import { registerChargesCommand } from './charges.ts';
import { registerInvoicesCommand } from './invoices.ts';
import { addConfigFlags, givenFlags, onShutdown } from './options.ts';
import { problemLines, registerPlansCommand } from './plans.ts';
import { registerUsageCommand } from './usage.ts';
import { registerDemoCommand } from './demo.ts';
import { registerConfigCommand } from './config-docs.ts';
import { registerCollectorAdminCommands } from './collector-admin.ts';
import { registerSecurityCommands } from './security.ts';
import { registerAuditCommand } from './audit.ts';

const program = new Command('edgemeter')
  .description('Usage metering and rating for IoT and telecom operators')
  .version('0.1.0')
  .showHelpAfterError()
  // Usage errors exit with status 2 (like ConfigError), not commander's 1: scripts can tell a
  // mistyped command from a failed request. Set before the subcommands, which inherit it.
  .exitOverride();

addConfigFlags(
  program
    .command('rater')
    .description('Run the central rater: gRPC ingest, TimescaleDB storage, HTTP API'),
  raterOptions,
).action(async (_opts, cmd: Command) => {
  const config = loadRaterConfig({ file: cmd.opts().config, flags: givenFlags(cmd, raterOptions) });
  // Each program's code is loaded only by its own command (the bundle puts it in its own
  // chunk): a collector does not hold the rater's modules in memory, nor the rater the
  // collector's.
  const { Rater } = await import('../rater/rater.ts');
  const rater = new Rater(config, {
    logger: createLogger(config.logLevel, 'rater'),
    processMetrics: true,
    // Exit non-zero for a supervisor to restart the rater; collectors keep their batches.
    onFatal: (err) => shutdown(err.message, 1),
  });
  const shutdown = onShutdown(() => rater.close());
  await rater.start();
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
  const { Collector } = await import('../collector/collector.ts');
  const collector = await new Collector(config, {
    logger: createLogger(config.logLevel, 'collector'),
    processMetrics: true,
  }).start();
  onShutdown(() => collector.close());
});

registerDemoCommand(program);
registerUsageCommand(program);
registerChargesCommand(program);
registerInvoicesCommand(program);
registerPlansCommand(program);
registerAccountsCommand(program);
registerDevicesCommand(program);
registerAuditCommand(program);
registerConfigCommand(program);
registerCollectorAdminCommands(program);
registerSecurityCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has printed its message (or the help) already.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof ConfigError || err instanceof UsageError) {
    console.error(`edgemeter: ${err.message}`);
    process.exit(2);
  }
  if (err instanceof ApiError) {
    console.error(`edgemeter: ${err.code}: ${err.message}`);
    if (err.problems.length > 0) console.error(problemLines(err.problems));
    process.exit(1);
  }
  if (err instanceof PlanValidationError) {
    const n = err.problems.length;
    console.error(
      `edgemeter: PLAN_INVALID: the plan does not validate (${n} problem${n === 1 ? '' : 's'})`,
    );
    console.error(problemLines(err.problems));
    process.exit(1);
  }
  console.error(`edgemeter: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
