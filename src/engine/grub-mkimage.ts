/** grub-mkimage: BIOS core images and UEFI executables built from a module folder of the image itself. */
import { run } from './exec.js';

export interface GrubImageOptions {
  format: 'i386-pc' | 'i386-pc-eltorito' | 'x86_64-efi';
  /** The module folder, e.g. `<tree>/usr/lib/grub/i386-pc`. */
  moduleDir: string;
  /** Config embedded in the image (run before the prefix's grub.cfg). */
  earlyConfig: string;
  prefix: string;
  modules: readonly string[];
  out: string;
  signal?: AbortSignal;
  logFile?: string;
}

/** @throws BuildError with grub-mkimage's output tail. */
export async function grubMkimage(o: GrubImageOptions): Promise<void> {
  await run(
    'grub-mkimage',
    ['-O', o.format, '-d', o.moduleDir, '-c', o.earlyConfig, '-p', o.prefix, '-o', o.out, ...o.modules],
    { ...(o.signal ? { signal: o.signal } : {}), ...(o.logFile ? { logFile: o.logFile } : {}) },
  );
}
