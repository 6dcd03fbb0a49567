/**
 * The QCOW container image's files: /qcows/*.qcow2 (+ .md5sum), /profiles/*.json and the KRM function, as
 * a tar stream built on the fly from the cut artifacts, so nothing is copied to disk twice. The profiles
 * are the original's: `profile_multistrap.json` holds the variables the base image was built with,
 * `profile_<qcow>.json` those of one QCOW, each with `image_builder_image`; secrets are masked.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { BuildConfig, MultistrapVars, OsconfigVars, QcowBundle } from '../config/types.js';

export interface PackagedFile {
  /** Path inside the image, without the leading slash. */
  name: string;
  /** A file on the host to stream, or the bytes themselves. */
  source: string | Buffer;
  mode?: number;
}

/** Where the function lives in the bundle image; the image's ENTRYPOINT runs it. */
export const KRM_FUNCTION_PATH = '/usr/local/bin/airship-variable-catalogue';

/** The variables of one role set flattened as Ansible saw them: `extra` keys at the top, like the rest. */
function flatten({ extra, ...rest }: MultistrapVars | OsconfigVars): Record<string, unknown> {
  return { ...extra, ...rest };
}

/**
 * The profile JSONs of the original's bundle image, masked with `redact`.
 * @returns file name (under /profiles) → content.
 */
export function profileFiles(
  config: BuildConfig,
  bundles: readonly QcowBundle[],
  redact: <T>(v: T) => T,
): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const json = (v: unknown) => Buffer.from(`${JSON.stringify(redact(v), null, 2)}\n`);
  out.set(
    'profile_multistrap.json',
    json({
      ...flatten(config.multistrap),
      ...flatten(config.osconfig),
      ...config.livecdcontent,
      distro: config.settings.distro,
      image_builder_image: config.imageRef,
    }),
  );
  for (const b of bundles)
    out.set(
      `profile_${b.name}.json`,
      json({ ...flatten(b.osconfig), ...b.qcow, qcow_name: b.name, image_builder_image: config.imageRef }),
    );
  return out;
}

/** A tar stream of `files` under fixed owners and `mtime`, directories first. */
export function packageTar(files: readonly PackagedFile[], mtime: Date): Readable {
  const pack = tarStream.pack();
  void (async () => {
    try {
      for (const dir of ['qcows', 'profiles'])
        pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, mtime, uid: 0, gid: 0 });
      for (const f of files) {
        if (typeof f.source !== 'string') {
          const bytes = f.source;
          await new Promise<void>((resolve, reject) =>
            pack.entry({ name: f.name, mode: f.mode ?? 0o644, mtime, uid: 0, gid: 0 }, bytes, (err) =>
              err ? reject(err) : resolve(),
            ),
          );
          continue;
        }
        const source = f.source;
        const size = (await stat(source)).size;
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry(
            { name: f.name, size, mode: f.mode ?? 0o644, mtime, uid: 0, gid: 0 },
            (err) => (err ? reject(err) : resolve()),
          );
          // An abort destroys the pack and with it this entry; unheard, that error would end the process.
          entry.on('error', reject);
          createReadStream(source).on('error', reject).pipe(entry);
        });
      }
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return pack as unknown as Readable;
}
