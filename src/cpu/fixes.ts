/** How to make each common hypervisor show the host CPU's flags to a guest. Our own wording. */

export interface HypervisorFix {
  /** Hypervisor or platform this applies to. */
  platform: string;
  /** What to change, in one or two sentences. */
  how: string;
  /** The exact setting, XML or command to use. */
  setting: string;
}

export const FIXES: readonly HypervisorFix[] = [
  {
    platform: 'libvirt (virsh, virt-manager, OpenStack compute nodes)',
    how: 'Give the build VM the host CPU unchanged: `virsh edit DOMAIN`, replace the <cpu> element, then shut the VM down and start it again (a reboot from inside keeps the old model).',
    setting: "<cpu mode='host-passthrough' check='none'/>",
  },
  {
    platform: 'QEMU command line',
    how: 'Replace `-cpu qemu64`/`-cpu kvm64` (or a missing -cpu, which means qemu64) with the host model; it needs KVM.',
    setting: '-accel kvm -cpu host',
  },
  {
    platform: 'Proxmox VE',
    how: 'Set the VM\'s processor type to "host", then stop and start the VM.',
    setting: 'qm set VMID --cpu host',
  },
  {
    platform: 'OpenStack Nova',
    how: 'On the compute nodes set the libvirt CPU mode in nova.conf and restart nova-compute; existing instances need a hard reboot or a migration.',
    setting: '[libvirt] cpu_mode = host-passthrough',
  },
  {
    platform: 'VMware vSphere / ESXi',
    how: "An Enhanced vMotion Compatibility (EVC) baseline on the cluster or the VM masks newer instructions: raise it to the hosts' generation or turn per-VM EVC off, and upgrade the VM compatibility (hardware version) so newer instruction sets are offered; power-cycle the VM.",
    setting: 'EVC mode: disabled or the newest baseline; VM compatibility: latest',
  },
  {
    platform: 'Microsoft Hyper-V',
    how: 'Processor compatibility mode hides everything past a minimal set; turn it off while the VM is off.',
    setting: 'Set-VMProcessor -VMName NAME -CompatibilityForMigrationEnabled $false',
  },
  {
    platform: 'VirtualBox',
    how: 'Use the host CPU profile; on Windows hosts where Hyper-V runs underneath VirtualBox, AVX may stay hidden until Hyper-V is turned off.',
    setting: 'VBoxManage modifyvm NAME --cpu-profile host',
  },
  {
    platform: 'Xen',
    how: "Remove the `cpuid=` masks from the domain configuration (xl) so the guest sees the host's feature set.",
    setting: 'cpuid= (remove from the xl domain config)',
  },
  {
    platform: 'Cloud instances and CI runners',
    how: 'Their CPU model is set by the provider: pick an instance type of a current CPU generation (AVX2 and BMI2 are standard on general-purpose types), and for nested VMs (a VM inside a CI VM) apply the QEMU/libvirt fix inside the outer VM.',
    setting: 'instance type of a current CPU generation',
  },
];

/** Fixes for a hypervisor vendor, the most relevant first; every fix when the vendor is unknown. */
export function fixesFor(vendor: string | undefined): HypervisorFix[] {
  const v = (vendor ?? '').toLowerCase();
  const pick = (...keys: string[]) =>
    FIXES.filter((f) => keys.some((k) => f.platform.toLowerCase().includes(k)));
  let first: HypervisorFix[] = [];
  if (v.includes('kvm') || v.includes('qemu')) first = pick('libvirt', 'qemu', 'proxmox', 'openstack');
  else if (v.includes('vmware')) first = pick('vmware');
  else if (v.includes('hyper-v')) first = pick('hyper-v');
  else if (v.includes('virtualbox')) first = pick('virtualbox');
  else if (v.includes('xen')) first = pick('xen');
  return [...first, ...FIXES.filter((f) => !first.includes(f))];
}
