/** Probes the external programs and data files the other commands use. */
import { existsSync } from 'node:fs';
import { run } from './exec.js';
import type { ProbeResult } from './probe-types.js';

interface ToolSpec {
  cmd: string;
  versionArgs: string[];
  debianPackage: string;
  neededBy: string[];
}

const TOOLS: readonly ToolSpec[] = [
  {
    cmd: 'ansible-playbook',
    versionArgs: ['--version'],
    debianPackage: 'ansible',
    neededBy: ['build', 'cut-image'],
  },
  { cmd: 'mmdebstrap', versionArgs: ['--version'], debianPackage: 'mmdebstrap', neededBy: ['build'] },
  { cmd: 'xorriso', versionArgs: ['-version'], debianPackage: 'xorriso', neededBy: ['cut-image'] },
  { cmd: 'qemu-img', versionArgs: ['--version'], debianPackage: 'qemu-utils', neededBy: ['cut-image'] },
  { cmd: 'sfdisk', versionArgs: ['--version'], debianPackage: 'fdisk', neededBy: ['cut-image'] },
  { cmd: 'mke2fs', versionArgs: ['-V'], debianPackage: 'e2fsprogs', neededBy: ['cut-image'] },
  { cmd: 'mkfs.vfat', versionArgs: ['--help'], debianPackage: 'dosfstools', neededBy: ['cut-image'] },
  { cmd: 'mcopy', versionArgs: ['--version'], debianPackage: 'mtools', neededBy: ['cut-image'] },
  {
    cmd: 'grub-mkimage',
    versionArgs: ['--version'],
    debianPackage: 'grub-common',
    neededBy: ['build', 'cut-image'],
  },
  {
    cmd: 'qemu-system-x86_64',
    versionArgs: ['--version'],
    debianPackage: 'qemu-system-x86',
    neededBy: ['boot-test'],
  },
];

interface FileSpec {
  id: string;
  title: string;
  /** Any one of these paths will do. */
  paths: string[];
  debianPackage: string;
  neededBy: string[];
}

const FILES: readonly FileSpec[] = [
  {
    id: 'grub:i386-pc',
    title: 'GRUB BIOS platform files',
    paths: ['/usr/lib/grub/i386-pc/boot.img'],
    debianPackage: 'grub-pc-bin',
    neededBy: ['build', 'cut-image'],
  },
  {
    id: 'grub:x86_64-efi',
    title: 'GRUB UEFI platform files',
    paths: ['/usr/lib/grub/x86_64-efi/normal.mod'],
    debianPackage: 'grub-efi-amd64-bin',
    neededBy: ['build', 'cut-image'],
  },
  {
    id: 'ovmf',
    title: 'OVMF (UEFI firmware for qemu)',
    paths: ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/qemu/OVMF.fd'],
    debianPackage: 'ovmf',
    neededBy: ['boot-test'],
  },
];

async function probeTool(t: ToolSpec, signal?: AbortSignal): Promise<ProbeResult> {
  const base = { id: `tool:${t.cmd}`, title: t.cmd, neededBy: t.neededBy, debianPackage: t.debianPackage };
  try {
    // okCodes: some tools print their version with a non-zero exit (mkfs.vfat --help exits 1).
    const r = await run(t.cmd, t.versionArgs, { signal, timeoutMs: 15_000, okCodes: [0, 1] });
    const line = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.trim() !== '') ?? '';
    return { ...base, status: 'ok', detail: line.trim().slice(0, 120) };
  } catch {
    return {
      ...base,
      status: 'missing',
      detail: 'not found on PATH',
      fix: `apt-get install ${t.debianPackage}`,
    };
  }
}

function probeFile(f: FileSpec): ProbeResult {
  const found = f.paths.find((p) => existsSync(p));
  const base = { id: f.id, title: f.title, neededBy: f.neededBy, debianPackage: f.debianPackage };
  return found
    ? { ...base, status: 'ok', detail: found }
    : {
        ...base,
        status: 'missing',
        detail: `none of ${f.paths.join(', ')}`,
        fix: `apt-get install ${f.debianPackage}`,
      };
}

/** Checks every tool and platform file; never throws. */
export async function probeTools(signal?: AbortSignal): Promise<ProbeResult[]> {
  const tools = await Promise.all(TOOLS.map((t) => probeTool(t, signal)));
  return [...tools, ...FILES.map(probeFile)];
}
