/** A BuildConfig for the build tests, loaded from a manifests folder by the real config loader. */
import { type BuildConfig, resolveConfig, type Settings } from '../../src/api.js';

export async function testBuildConfig(workdir: string, settings: Partial<Settings>): Promise<BuildConfig> {
  return (await resolveConfig({ ...settings, workdir })).config;
}
