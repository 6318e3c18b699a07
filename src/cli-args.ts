/** What the command line asks for. */
export type CliCommand =
  | { readonly command: 'run'; readonly configPath: string | undefined }
  | { readonly command: 'check-config'; readonly configPath: string | undefined }
  | { readonly command: 'help' }
  | { readonly command: 'version' }
  | { readonly command: 'invalid'; readonly problem: string };

export const USAGE = `Usage: openclaw-dingtalk-gateway [check-config] [--config <file>] [--check]

  --config <file>   JSON5 config file (default: $GATEWAY_CONFIG, else ./config.json5 when present)
  check-config      print the effective configuration (secrets masked) and exit; same as --check
  --help, --version
`;

/** Parses `process.argv.slice(2)`. Never throws: unknown input becomes `{ command: 'invalid' }`. */
export function parseCliArgs(args: readonly string[]): CliCommand {
  let configPath: string | undefined;
  let isCheck = false;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    if (arg === '--help' || arg === '-h') return { command: 'help' };
    if (arg === '--version' || arg === '-v') return { command: 'version' };
    if (arg === 'check-config' || arg === '--check') {
      isCheck = true;
    } else if (arg === '--config' || arg === '-c') {
      const value = args[index + 1];
      if (value === undefined || value.startsWith('-'))
        return { command: 'invalid', problem: '--config needs a file' };
      configPath = value;
      index += 1;
    } else if (arg.startsWith('--config=')) {
      configPath = arg.slice('--config='.length);
      if (configPath === '') return { command: 'invalid', problem: '--config needs a file' };
    } else {
      return { command: 'invalid', problem: `unknown argument "${arg.slice(0, 64)}"` };
    }
  }
  return { command: isCheck ? 'check-config' : 'run', configPath };
}
