import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../src/errors.js';
import { loadErrors, scratch } from './fixtures.js';

/** Loads a scratch folder made of `files` and returns its errors, formatted as the CLI prints them. */
async function errorsOf(files: Record<string, string>, settings: Record<string, unknown> = {}) {
  const s = await scratch(files);
  try {
    const diags = await loadErrors({ workdir: s.dir, ...settings });
    return { diags, text: diags.map(formatDiagnostic), dir: s.dir };
  } finally {
    await s.cleanup();
  }
}

describe('configuration errors', () => {
  it('bad YAML names the file and line:column', async () => {
    const { diags, dir } = await errorsOf({
      'rootfs/livecdcontent-vars.yaml': 'mksquashfs_threads: 1\nsquashfs_timeout: "60" s\n',
    });
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({
      file: join(dir, 'rootfs/livecdcontent-vars.yaml'),
      position: { line: 2, column: 24 },
    });
    expect(diags[0]!.message).toMatch(/^invalid YAML: /);
  });

  it('a misspelt nested key is an error with did-you-mean at the key', async () => {
    const { diags } = await errorsOf({
      'rootfs/osconfig-vars.yaml': 'directories:\n  - name: /srv\n    permisions: "0700"\n',
    });
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({ key: 'directories[0].permisions', position: { line: 3, column: 5 } });
    expect(diags[0]!.message).toContain('unknown key "permisions" (did you mean "permissions"?)');
  });

  it('a wrong type says what was expected', async () => {
    const { diags } = await errorsOf({ 'rootfs/osconfig-vars.yaml': 'sysctl:\n  name: kernel.panic\n' });
    expect(diags[0]).toMatchObject({ key: 'sysctl', position: { line: 2, column: 3 } });
    expect(diags[0]!.message).toBe('expected a list, got a mapping');
  });

  it('reports every error of every file at once', async () => {
    const { diags } = await errorsOf({
      'rootfs/livecdcontent-vars.yaml': 'mksquashfs_compression: lzo\n',
      'iso/meta_data.json': '{"hostname": }',
      'qcow-bundle/x/qcow-vars.yaml': 'qcow_capacity: lots\n',
    });
    expect(diags.map((d) => d.file.split('/').slice(-2).join('/'))).toEqual([
      'rootfs/livecdcontent-vars.yaml',
      'iso/meta_data.json',
      'x/qcow-vars.yaml',
    ]);
  });

  it('overlapping partitions, end before start and capacity overflow are each found', async () => {
    const { diags } = await errorsOf({
      'qcow-bundle/x/qcow-vars.yaml': [
        'qcow_capacity: 2G',
        'partitions:',
        '  - {mount: /, part_start: 100MiB, part_end: 3GiB, filesystem: {type: ext4}}',
        '  - {mount: /boot, part_start: 50MiB, part_end: 150MiB, filesystem: {type: ext4}}',
        '  - {mount: /var, part_start: 40MiB, part_end: 10MiB, filesystem: {type: xfs}}',
        '',
      ].join('\n'),
    });
    const byKey = Object.fromEntries(diags.map((d) => [d.key, d]));
    expect(byKey['partitions[0].part_end']!.message).toContain('beyond qcow_capacity (2048MiB)');
    expect(byKey['partitions[0].part_start']!.message).toContain('overlaps partition 1 (/boot');
    expect(byKey['partitions[2].part_end']!.message).toContain('before it starts');
    expect(byKey['partitions[2].part_end']!.position).toEqual({ line: 5, column: 48 });
  });

  it('an unknown compressor, and lzo with its own explanation', async () => {
    const a = await errorsOf({ 'rootfs/livecdcontent-vars.yaml': 'mksquashfs_compression: lzma\n' });
    expect(a.diags[0]!.message).toBe('unknown compressor "lzma"; expected one of gzip, xz, lz4, zstd');
    const b = await errorsOf({ 'rootfs/livecdcontent-vars.yaml': 'mksquashfs_compression: lzo\n' });
    expect(b.diags[0]!.message).toMatch(/^lzo is not supported by our squashfs writer/);
  });

  it('invalid JSON gives its line and column', async () => {
    const { diags } = await errorsOf({ 'iso/network_data.json': '{\n  "links": [\n    1,\n  ]\n}\n' });
    expect(diags[0]).toMatchObject({ position: { line: 4, column: 3 } });
    expect(diags[0]!.message).toMatch(/^invalid JSON: /);
  });

  it('a missing referenced file is named', async () => {
    const k = await errorsOf({
      'rootfs/multistrap-vars.yaml':
        'repos_append:\n  - {name: V, source: "http://v.example.org/", suite: s, keyring_file: /nonexistent/v.gpg}\n',
    });
    expect(k.diags[0]).toMatchObject({ key: 'repos_append[0].keyring_file' });
    expect(k.diags[0]!.message).toBe('keyring file /nonexistent/v.gpg does not exist');
    const r = await errorsOf({ 'qcow-bundle/x/qcow-vars.yaml': '../y/qcow-vars.yaml\n' });
    expect(r.text[0]).toMatch(
      /qcow-bundle\/x\/qcow-vars.yaml:1:1: refers to \.\.\/y\/qcow-vars.yaml .* does not exist$/,
    );
  });

  it('a missing bundle dir, a missing profile and a missing workdir are config errors', async () => {
    const b = await errorsOf({ 'qcow-bundle/control/qcow-vars.yaml': '{}\n' }, { qcowNames: ['contrl'] });
    expect(b.diags[0]!.key).toBe('QCOW_NAMES');
    expect(b.diags[0]!.message).toContain('did you mean "control"');
    const p = await errorsOf({}, { profile: 'k8s' });
    expect(p.diags[0]).toMatchObject({ key: 'PROFILE' });
    const w = await loadErrors({ workdir: '/nonexistent/manifests' });
    expect(w[0]).toMatchObject({ key: 'WORKDIR', file: '/nonexistent/manifests' });
  });

  it('an unresolvable template names the file, key and line', async () => {
    const { diags, dir } = await errorsOf({
      'rootfs/osconfig-vars.yaml': 'banners:\n  login: "Welcome to {{ site_name }}"\n  motd: ""\n',
    });
    expect(diags[0]).toMatchObject({
      file: join(dir, 'rootfs/osconfig-vars.yaml'),
      key: 'banners.login',
      position: { line: 2, column: 10 },
    });
    expect(diags[0]!.message).toContain('unknown variable "site_name"');
  });

  it('a template that refers back to itself is refused', async () => {
    const { diags } = await errorsOf({
      'rootfs/multistrap-vars.yaml': 'a_packages: "{{ b_packages }}"\nb_packages: "{{ a_packages }}"\n',
    });
    expect(diags.some((d) => d.message.includes('refers back to itself'))).toBe(true);
  });

  it('an error in a list used through a template points at the list, not the template', async () => {
    const { diags, dir } = await errorsOf({
      'rootfs/multistrap-vars.yaml': 'debian_packages:\n  - vim\n  - {name: curl}\n',
    });
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({
      file: join(dir, 'rootfs/multistrap-vars.yaml'),
      key: 'debian_packages[1]',
    });
  });

  it('a QCOW without partitions has no root', async () => {
    const { diags } = await errorsOf({ 'qcow-bundle/x/qcow-vars.yaml': 'partitions: []\n' });
    expect(diags[0]).toMatchObject({ key: 'partitions', position: { line: 1, column: 13 } });
    expect(diags[0]!.message).toBe('no partition is mounted at /');
  });
});
