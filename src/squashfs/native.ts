import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the native addon reports about the libsquashfs it is linked against. */
export interface NativeInfo {
  libsquashfs: string;
  compressors: string[];
}

interface NativeAddon {
  info(): NativeInfo;
}

const require = createRequire(import.meta.url);

function findRoot(): string {
  // src/squashfs (ts via vitest) or dist/src/squashfs (compiled): walk up to the folder holding binding.gyp.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('airship-image-builder: cannot find the package root (binding.gyp)');
}

let addon: NativeAddon | undefined;

/** Loads the addon once per thread (it is context-aware, so worker threads may load it too). */
export function native(): NativeAddon {
  if (!addon) {
    const path = join(findRoot(), 'build', 'Release', 'airship_native.node');
    try {
      addon = require(path) as NativeAddon;
    } catch (err) {
      throw new Error(`native addon not built (${path}); run \`npm run build:native\``, { cause: err });
    }
  }
  return addon;
}

/** libsquashfs version and the compressors it supports. */
export function nativeInfo(): NativeInfo {
  return native().info();
}
