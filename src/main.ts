import { createRequire } from 'node:module';

import { createApp } from './app.js';
import { USAGE, parseCliArgs } from './cli-args.js';
import { loadConfig } from './config/load.js';
import { maskSecrets } from './config/mask.js';
import type { GatewayConfig } from './config/types.js';
import { ConfigError, describeCause } from './errors.js';
import { capHeapGrowth } from './lifecycle/heap-growth.js';
import { createLogger } from './log/logger.js';

/** Process exit codes (documented in the README). */
export const EXIT_CODES = {
  ok: 0,
  failure: 1,
  configInvalid: 2,
  credentialsRefused: 3,
} as const;

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

function effectiveConfig(config: GatewayConfig): unknown {
  // The resolved form (accounts expanded, secrets read from files) is what the gateway runs on.
  return maskSecrets({ ...config, document: undefined });
}

async function main(): Promise<number> {
  const cli = parseCliArgs(process.argv.slice(2));
  if (cli.command === 'help') {
    process.stdout.write(USAGE);
    return EXIT_CODES.ok;
  }
  if (cli.command === 'version') {
    process.stdout.write(`${version}\n`);
    return EXIT_CODES.ok;
  }
  if (cli.command === 'invalid') {
    process.stderr.write(`${cli.problem}\n\n${USAGE}`);
    return EXIT_CODES.configInvalid;
  }

  let config: GatewayConfig;
  try {
    config = loadConfig({ configPath: cli.configPath, env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_CODES.configInvalid;
  }
  if (cli.command === 'check-config') {
    process.stdout.write(`${JSON.stringify(effectiveConfig(config), null, 2)}\n`);
    return EXIT_CODES.ok;
  }

  const heapGrowingPercent = capHeapGrowth();
  const logger = createLogger({ level: config.log.level, version });
  logger.info({ source: config.source, heapGrowingPercent }, 'configuration loaded');
  for (const account of config.accounts) {
    const needsWs = account.showToolStatus || account.showToolResult || account.thinking !== 'off';
    if (needsWs && config.openclaw.transport === 'http') {
      logger.warn(
        { account: account.id },
        'showToolStatus, showToolResult and thinking need the OpenClaw WebSocket transport; ignored over HTTP',
      );
    }
  }
  // Last line of defence: a bug that escapes every handler is logged as fatal and the process exits
  // non-zero, so the supervisor restarts it and the inbox resumes what was in flight.
  const onFatal = (error: unknown): void => {
    logger.fatal({ err: error }, 'unexpected error; exiting');
    logger.flush();
    process.exit(EXIT_CODES.failure);
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  const app = createApp(config, logger, version);

  const exitCode = await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting at once');
        resolve(EXIT_CODES.failure);
        return;
      }
      logger.info({ signal }, 'signal received');
      void app.stop().then(() => resolve(EXIT_CODES.ok));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    void app.allAccountsFailed.then((error) => {
      logger.fatal({ err: error }, 'every DingTalk account was refused; exiting');
      void app.stop().then(() => resolve(EXIT_CODES.credentialsRefused));
    });
    app.start().catch((error: unknown) => {
      logger.fatal({ err: error }, 'start-up failed');
      void app.stop().then(() => resolve(EXIT_CODES.failure));
    });
  });
  logger.flush();
  return exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Anything still holding the event loop after an orderly stop is a bug; do not hang on it.
    setTimeout(() => process.exit(code), 1_000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`fatal: ${describeCause(error)}\n`);
    process.exit(EXIT_CODES.failure);
  },
);
