/**
 * Stage results keyed by the digest of their inputs, so an unchanged stage is reused, plus a `latest`
 * pointer per stage for the SKIP_* settings (reuse whatever ran last).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { leasedName } from '../lease.js';

export type StageName = 'rootfs' | 'image' | 'osconfig' | 'livecd';

export interface StageRecord {
  stage: StageName;
  digest: string;
  /** ISO time the result was made. */
  createdAt: string;
  /** `tar` (rootfs: file path) or `image` (image id). */
  output: { tar?: string; image?: string };
}

/** sha256 of the canonical JSON of `value` (object keys sorted), hex. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export class StageStore {
  constructor(private readonly cacheDir: string) {}

  private dir(stage: StageName): string {
    return join(this.cacheDir, 'stages', stage);
  }

  private async read(file: string): Promise<StageRecord | null> {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as StageRecord;
    } catch {
      return null;
    }
  }

  /** The result recorded for exactly these inputs, or null. */
  get(stage: StageName, digest: string): Promise<StageRecord | null> {
    return this.read(join(this.dir(stage), `${digest}.json`));
  }

  /** The result of the stage's last successful run, or null. */
  latest(stage: StageName): Promise<StageRecord | null> {
    return this.read(join(this.dir(stage), 'latest.json'));
  }

  async put(rec: StageRecord): Promise<void> {
    const dir = this.dir(rec.stage);
    await mkdir(dir, { recursive: true });
    const body = `${JSON.stringify(rec, null, 2)}\n`;
    for (const name of [`${rec.digest}.json`, 'latest.json']) {
      const tmp = join(dir, leasedName(`.${name}.`, '.tmp'));
      await writeFile(tmp, body, { flag: 'wx' });
      await rename(tmp, join(dir, name));
    }
  }
}
