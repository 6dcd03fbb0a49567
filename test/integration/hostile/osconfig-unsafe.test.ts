import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OsconfigVars } from '../../../src/config/types.js';
import { removeImage } from '../../../src/engine/docker.js';
import { applyOsconfig } from '../../../src/stages/osconfig.js';
import { testBuildConfig } from '../../helpers/build-config.js';
import { builtImage, TEST_MANIFESTS, TEST_SETTINGS } from '../../helpers/built-image.js';
import { CANARY_DIR, plantCanary } from '../../helpers/canary.js';

/**
 * The real osconfig role on the shared test image, handed Jinja that validation would refuse (the stage is
 * called directly, as a caller of the API could). Ansible must write it into the image as text: a rendered
 * `lookup('pipe', …)` would run on this machine (the controller) and touch the canary.
 */
const HOSTILE = {
  file: `{{ lookup('pipe', 'touch ${CANARY_DIR}/from-file') }}`,
  motd: `#!/bin/sh\necho '{{ 6 * 7 }}' {% raw %}{# #}\n`,
  sysctl: `{{ lookup('pipe', 'touch ${CANARY_DIR}/from-sysctl') }}`,
};

function cat(image: string, path: string): string {
  const r = spawnSync('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'cat', image, path], {
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('the osconfig role receives manifest strings as data', () => {
  it('writes Jinja-looking values literally and runs no lookup on the host', {
    timeout: 1_800_000,
  }, async () => {
    const base = await builtImage();
    const config = await testBuildConfig(TEST_MANIFESTS, TEST_SETTINGS);
    const vars: OsconfigVars = structuredClone(config.osconfig);
    vars.banners.motd = HOSTILE.motd;
    vars.files.push({
      name: '/etc/aib-hostile',
      file_content: HOSTILE.file,
      permissions: '0644',
      owner: 'root',
      group: 'root',
      run_contexts: ['qcow'],
    });
    vars.sysctl.push({ name: 'kernel.aib_hostile', value: HOSTILE.sysctl });
    const logs = mkdtempSync(join(tmpdir(), 'aib-osconfig-unsafe-'));
    const canary = plantCanary();
    let image: string | undefined;
    try {
      image = (
        await applyOsconfig({
          image: base.imageId,
          vars,
          runContext: 'qcow',
          session: `p${process.pid}-unsafe`,
          logFile: join(logs, 'osconfig.log'),
        })
      ).image;
      expect(cat(image, '/etc/aib-hostile')).toBe(HOSTILE.file);
      expect(cat(image, '/etc/update-motd.d/05-airship')).toBe(HOSTILE.motd);
      expect(cat(image, '/etc/sysctl.d/60-airship.conf')).toContain(`kernel.aib_hostile = ${HOSTILE.sysctl}`);
      canary.check();
    } finally {
      if (image) await removeImage(image);
      rmSync(logs, { recursive: true, force: true });
    }
  });
});
