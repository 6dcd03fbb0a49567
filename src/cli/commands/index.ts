/**
 * Registers every command of the CLI on the commander program.
 */
import type { Command } from 'commander';
import { registerBootTest } from './boot-test.js';
import { registerBuild } from './build.js';
import { registerClean } from './clean.js';
import { registerConfig } from './config.js';
import { registerCutImage } from './cut-image.js';
import { registerDoctor } from './doctor.js';
import { registerImages } from './images.js';
import { registerPackageQcow } from './package-qcow.js';
import { registerSquash } from './squash.js';

export function registerCommands(program: Command): void {
  registerBuild(program);
  registerCutImage(program);
  registerPackageQcow(program);
  registerImages(program);
  registerClean(program);
  registerBootTest(program);
  registerSquash(program);
  registerDoctor(program);
  registerConfig(program);
}
