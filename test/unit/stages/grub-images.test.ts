import { describe, expect, it } from 'vitest';
import { touchesGrubModules } from '../../../src/stages/grub-images.js';

describe('touchesGrubModules', () => {
  it('is true for a path in a module folder, the folder itself, or a folder above it', () => {
    expect(touchesGrubModules(['etc/motd', 'usr/lib/grub/i386-pc/normal.mod'])).toBe(true);
    expect(touchesGrubModules(['usr/lib/grub/x86_64-efi'])).toBe(true);
    expect(touchesGrubModules(['usr/lib/grub'])).toBe(true);
    expect(touchesGrubModules(['usr'])).toBe(true);
  });

  it('is false for paths beside the module folders', () => {
    expect(touchesGrubModules([])).toBe(false);
    expect(touchesGrubModules(['etc/default/grub.d/50-airship.cfg', 'boot/grub/grub.cfg'])).toBe(false);
    expect(touchesGrubModules(['usr/lib/grub/i386-pc-extra/x', 'usr/lib/grubby', 'usr/local/lib'])).toBe(
      false,
    );
  });
});
