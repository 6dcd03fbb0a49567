/**
 * The original tool's QCOW path, reproduced step by step for the cut benchmark (root and loop devices: the
 * bench may use them, the product never does): `docker export | tar -x` of the image, osconfig with run
 * context qcow over Ansible's chroot connection into the extracted tree, a sparse raw disk attached to a loop
 * device and partitioned by parted, mkfs on the partitions, the tree copied in with `cp -a`, grub-install
 * (BIOS) and grub-mkconfig in a chroot of the mounted disk, then a single-stream `qemu-img convert -c`.
 *
 * Deviation: this kernel has no vfat module, so the ESP cannot be mounted; its files (and the EFI loader,
 * made by grub-mkimage as grub-install would) go in with mcopy. That is a small part of the work.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QcowBundle } from '../../src/config/types.js';
import { unsafeVarsYaml } from '../../src/engine/ansible-vars.js';
import { osconfigRoleVars } from '../../src/stages/osconfig.js';
import type { DiskPlan } from '../../src/stages/qcow-layout.js';

const PLAYBOOK = new URL('../../../playbooks/osconfig.yaml', import.meta.url).pathname;

function sh(script: string, env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync('sh', ['-euc', script], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`original path: ${script.slice(0, 200)}: ${r.stderr.slice(-2000)}`);
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Seconds per step of one bundle's cut the original's way, and the output size. */
export interface OriginalResult {
  steps: Record<string, number>;
  bytes: number;
}

/** Cuts `bundle` from `imageRef` the original's way into `out`; `work` is an empty scratch folder. */
export function originalCut(
  imageRef: string,
  bundle: QcowBundle,
  plan: DiskPlan,
  work: string,
  out: string,
): OriginalResult {
  const steps: Record<string, number> = {};
  const step = (name: string, fn: () => void) => {
    const t = process.hrtime.bigint();
    fn();
    steps[name] = Number(process.hrtime.bigint() - t) / 1e9;
  };
  const tree = join(work, 'tree');
  const mnt = join(work, 'mnt');
  const raw = join(work, 'disk.raw');
  mkdirSync(tree);
  mkdirSync(mnt);
  let loop = '';
  const mounted: string[] = [];
  try {
    step('extract', () => {
      const id = execFileSync('docker', ['create', imageRef, '/bin/true'], { encoding: 'utf8' }).trim();
      try {
        sh(
          `docker export ${id} | tar -x -C ${q(tree)} --numeric-owner --xattrs --xattrs-include='*' --anchored --exclude=livecd --exclude=.dockerenv`,
        );
      } finally {
        execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
      }
    });
    step('osconfig (chroot)', () => {
      const vars = join(work, 'vars.yaml');
      writeFileSync(vars, unsafeVarsYaml(osconfigRoleVars(bundle.osconfig, 'qcow')), { mode: 0o600 });
      sh(`ansible-playbook -i ${q(`${tree},`)} -c community.general.chroot -e @${q(vars)} ${q(PLAYBOOK)}`, {
        ...process.env,
        ANSIBLE_PIPELINING: 'true',
        ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
        ANSIBLE_NOCOLOR: 'true',
        ANSIBLE_RETRY_FILES_ENABLED: 'false',
      });
    });
    step('disk (loop, parted, mkfs)', () => {
      sh(`truncate -s ${plan.capacityBytes} ${q(raw)}`);
      loop = execFileSync('losetup', ['-f', '--show', '-P', raw], { encoding: 'utf8' }).trim();
      const parts = plan.partitions.map((p) => {
        const flags = (p.flags ?? []).map((f) => `set ${p.number} ${f} on`).join(' ');
        return `mkpart p${p.number} ${p.startSector}s ${p.startSector + p.sectors - 1}s ${flags}`;
      });
      sh(`parted -s ${loop} mklabel gpt ${parts.join(' ')}`);
      // parted asks the kernel to re-read the table; partx adds what it did not (no udev here).
      spawnSync('partx', ['-a', loop], { stdio: 'ignore' });
      for (const p of plan.partitions) {
        if (!p.fs) continue;
        const dev = `${loop}p${p.number}`;
        if (p.fs.type === 'vfat') sh(`mkfs.vfat -i ${p.fs.uuid.replace('-', '')} ${dev} >/dev/null`);
        else if (p.fs.type === 'ext4') sh(`mkfs.ext4 -q -F -U ${p.fs.uuid} ${dev}`);
        else sh(`mkfs.xfs -q -f -m uuid=${p.fs.uuid} ${dev}`);
      }
    });
    step('cp -a', () => {
      const byDepth = plan.partitions
        .filter((p) => p.fs && p.fs.type !== 'vfat')
        .sort((a, b) => a.mount.length - b.mount.length);
      for (const p of byDepth) {
        const at = join(mnt, p.mount);
        mkdirSync(at, { recursive: true });
        sh(`mount ${loop}p${p.number} ${q(at)}`);
        mounted.unshift(at);
      }
      const esp = plan.esp.mount.replace(/^\/+/, '');
      sh(`cp -a ${q(tree)}/. ${q(mnt)}/`);
      writeFileSync(join(mnt, 'etc/fstab'), plan.fstab);
      // The ESP's files: mcopy (no vfat module to mount it).
      const espDir = join(mnt, esp);
      mkdirSync(espDir, { recursive: true });
      const names = readdirSync(espDir);
      if (names.length)
        sh(
          `MTOOLS_SKIP_CHECK=1 mcopy -s -p -m -i ${loop}p${plan.esp.number} ${names.map((n) => q(join(espDir, n))).join(' ')} ::/`,
        );
    });
    step('grub-install', () => {
      for (const d of ['dev', 'proc', 'sys']) {
        sh(`mount --bind /${d} ${q(join(mnt, d))}`);
        mounted.unshift(join(mnt, d));
      }
      sh(`chroot ${q(mnt)} grub-install --target=i386-pc ${loop}`);
      sh(
        `chroot ${q(mnt)} grub-mkimage -O x86_64-efi -p /grub -o /tmp/BOOTX64.EFI part_gpt fat ext2 normal linux search search_fs_uuid configfile && MTOOLS_SKIP_CHECK=1 mmd -D s -i ${loop}p${plan.esp.number} ::/EFI ::/EFI/BOOT 2>/dev/null; MTOOLS_SKIP_CHECK=1 mcopy -o -i ${loop}p${plan.esp.number} ${q(join(mnt, 'tmp/BOOTX64.EFI'))} ::/EFI/BOOT/BOOTX64.EFI`,
      );
      sh(`chroot ${q(mnt)} grub-mkconfig -o /boot/grub/grub.cfg`);
    });
    step('umount', () => {
      for (const m of mounted.splice(0)) sh(`umount ${q(m)}`);
      execFileSync('losetup', ['-d', loop]);
      loop = '';
    });
    step('convert (qemu-img -c, one stream)', () => {
      execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', '-c', raw, out]);
    });
    return { steps, bytes: statSync(out).size };
  } finally {
    for (const m of mounted) spawnSync('umount', ['-l', m]);
    if (loop) spawnSync('losetup', ['-d', loop]);
    rmSync(work, { recursive: true, force: true });
  }
}
