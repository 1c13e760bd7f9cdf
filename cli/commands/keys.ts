// `fluxo keys init`: creates the keys directory shared by the proxy, the server and `fluxo token create`,
// and the server's key for tenant secrets.
import { Option, type Command } from 'commander';
import { DEFAULT_KEYS_DIR, initKeys } from '../../common/keys.js';
import { printJson } from '../format.js';

/** Registers `fluxo keys ...`. */
export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('manage the keys the auth proxy, the server and token minting share');
  keys
    .command('init')
    .description('create the identity secret, the token-signing key pair and the secrets key (existing files are kept)')
    .addOption(new Option('--dir <dir>', 'keys directory').env('FLUXO_KEYS_DIR').default(DEFAULT_KEYS_DIR))
    .option('--json', 'print JSON', false)
    .action(async (options: { dir: string; json: boolean }) => {
      const { paths, created } = await initKeys(options.dir);
      const files = Object.values(paths).map((path) => ({ path, created: created.includes(path) }));
      if (options.json) {
        printJson({ dir: options.dir, files });
        return;
      }
      for (const file of files) process.stdout.write(`${file.created ? 'created' : 'kept   '}  ${file.path}\n`);
    });
}
