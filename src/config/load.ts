import type { LoadedConfig } from '../api/config.js';
import { NotImplementedError } from '../errors.js';
import type { Settings } from './settings.js';

export async function loadConfig(_settings: Settings): Promise<LoadedConfig> {
  throw new NotImplementedError('configuration loading');
}
