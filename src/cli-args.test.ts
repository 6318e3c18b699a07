import { describe, expect, it } from 'vitest';

import { type CliCommand, parseCliArgs, USAGE } from './cli-args.js';

describe('parseCliArgs', () => {
  it.each<[string[], CliCommand]>([
    [[], { command: 'run', configPath: undefined }],
    [['--config', 'gw.json5'], { command: 'run', configPath: 'gw.json5' }],
    [['-c', '/etc/gw.json5'], { command: 'run', configPath: '/etc/gw.json5' }],
    [['--config=gw.json5'], { command: 'run', configPath: 'gw.json5' }],
    [['--config=a=b.json5'], { command: 'run', configPath: 'a=b.json5' }],
    [['--config=./my config.json5'], { command: 'run', configPath: './my config.json5' }],
    [['check-config'], { command: 'check-config', configPath: undefined }],
    [['--check'], { command: 'check-config', configPath: undefined }],
    [['check-config', '--config', 'x.json5'], { command: 'check-config', configPath: 'x.json5' }],
    [['--config', 'x.json5', 'check-config'], { command: 'check-config', configPath: 'x.json5' }],
    [['--config=x.json5', '--check'], { command: 'check-config', configPath: 'x.json5' }],
    [['--config', 'a.json5', '--config', 'b.json5'], { command: 'run', configPath: 'b.json5' }],
    [['--help'], { command: 'help' }],
    [['-h'], { command: 'help' }],
    [['--version'], { command: 'version' }],
    [['-v'], { command: 'version' }],
    [['check-config', '--help'], { command: 'help' }],
    [['--config', 'x.json5', '--version'], { command: 'version' }],
  ])('%j', (args, expected) => {
    expect(parseCliArgs(args)).toEqual(expected);
  });

  it.each<[string[], string]>([
    [['--config'], '--config needs a file'],
    [['-c'], '--config needs a file'],
    [['--config='], '--config needs a file'],
    [['--config', '--check'], '--config needs a file'],
    [['--config', '-h'], '--config needs a file'],
    [['--conf', 'x'], 'unknown argument "--conf"'],
    [['run'], 'unknown argument "run"'],
    [['gw.json5'], 'unknown argument "gw.json5"'],
    [['--check', 'extra'], 'unknown argument "extra"'],
    [['-x'], 'unknown argument "-x"'],
    [[''], 'unknown argument ""'],
    [['--CONFIG', 'x'], 'unknown argument "--CONFIG"'],
  ])('%j is invalid', (args, problem) => {
    expect(parseCliArgs(args)).toEqual({ command: 'invalid', problem });
  });

  it('an unknown argument before --help is reported, not hidden', () => {
    expect(parseCliArgs(['--bogus', '--help'])).toEqual({
      command: 'invalid',
      problem: 'unknown argument "--bogus"',
    });
  });

  it('cuts a very long unknown argument in the problem text', () => {
    const result = parseCliArgs(['x'.repeat(10_000)]);
    expect(result).toEqual({ command: 'invalid', problem: `unknown argument "${'x'.repeat(64)}"` });
  });

  it('does not mutate its input', () => {
    const args = Object.freeze(['--config', 'x.json5', '--check']);
    parseCliArgs(args);
    expect(args).toEqual(['--config', 'x.json5', '--check']);
  });

  it('the usage text names every accepted form', () => {
    for (const form of ['--config <file>', 'check-config', '--check', '--help', '--version']) {
      expect(USAGE).toContain(form);
    }
  });
});
