#!/usr/bin/env node
/**
 * The `image-builder` executable: parses the command line and exits with the code the command set.
 */
import { Command } from 'commander';
import { toolVersion } from '../api.js';
import { registerCommands } from './commands/index.js';

const program = new Command('image-builder')
  .description(
    'Builds the bootable artifacts of an Airship deployment: a base container image (build), ' +
      'an ephemeral ISO and target-OS QCOW2s cut from it (cut-image), and checks that they boot (boot-test).',
  )
  .version(toolVersion())
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str) })
  .exitOverride((err) => {
    // commander's own parse errors are usage errors: exit 2, like a bad config.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

registerCommands(program);
await program.parseAsync(process.argv);
// The command is done and has printed everything (stdout and stderr are synchronous on Linux); whatever
// handle a library left open must not keep a finished build waiting.
process.exit(process.exitCode ?? 0);
