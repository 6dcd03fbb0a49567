/**
 * The QCOW container image: a tar stream of /qcows/*.qcow2 (+ .md5sum) and /profiles/*.json, built on the
 * fly from the cut artifacts and imported, so nothing is copied to disk twice.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';

export interface PackagedFile {
  /** Path inside the image, without the leading slash. */
  name: string;
  source: string;
}

/** The files of the image for `bundles` cut into `outDir`; lists what is missing instead of throwing. */
export async function packageFiles(
  outDir: string,
  bundles: readonly string[],
): Promise<{ files: PackagedFile[]; missing: string[] }> {
  const files: PackagedFile[] = [];
  const missing: string[] = [];
  for (const b of bundles) {
    for (const [src, dst] of [
      [`${b}.qcow2`, `qcows/${b}.qcow2`],
      [`${b}.qcow2.md5sum`, `qcows/${b}.qcow2.md5sum`],
      [`${b}.json`, `profiles/${b}.json`],
    ] as const) {
      const source = join(outDir, src);
      if (await stat(source).catch(() => null)) files.push({ name: dst, source });
      else missing.push(source);
    }
  }
  return { files, missing };
}

/** A tar stream of `files` under fixed owners and `mtime`, directories first. */
export function packageTar(files: readonly PackagedFile[], mtime: Date): Readable {
  const pack = tarStream.pack();
  void (async () => {
    try {
      for (const dir of ['qcows', 'profiles'])
        pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, mtime, uid: 0, gid: 0 });
      for (const f of files) {
        const size = (await stat(f.source)).size;
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ name: f.name, size, mode: 0o644, mtime, uid: 0, gid: 0 }, (err) =>
            err ? reject(err) : resolve(),
          );
          // An abort destroys the pack and with it this entry; unheard, that error would end the process.
          entry.on('error', reject);
          createReadStream(f.source).on('error', reject).pipe(entry);
        });
      }
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return pack as unknown as Readable;
}
