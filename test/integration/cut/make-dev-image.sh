#!/bin/sh
# Development stand-in for the built image (until the build stages land): a Debian rootfs
# directory (from mmdebstrap) plus a /livecd tree laid out as the image contract says.
# usage: make-dev-image.sh ROOTFS_DIR IMAGE_REF
set -eu
root=$1; ref=$2
work=$(mktemp -d /var/tmp/cut-dev/livecd.XXXXXX)
trap 'rm -rf "$work"' EXIT
lc=$work/livecd
mkdir -p "$lc/live" "$lc/boot/grub"
kver=$(ls "$root"/boot/vmlinuz-* | sed 's/.*vmlinuz-//' | sort -V | tail -1)
cp "$root/boot/vmlinuz-$kver" "$lc/live/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$lc/live/initrd.img"
mksquashfs "$root" "$lc/live/filesystem.squashfs" -comp zstd -noappend -quiet -e boot/efi livecd
: > "$lc/.airship-livecd"
cat > "$lc/boot/grub/grub.cfg" <<'CFG'
set timeout=1
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
menuentry 'Airship ephemeral' {
  linux /live/vmlinuz boot=live console=tty0 console=ttyS0,115200
  initrd /live/initrd.img
}
CFG
cat > "$work/early.cfg" <<'CFG'
search --no-floppy --file --set=root /.airship-livecd
set prefix=($root)/boot/grub
configfile $prefix/grub.cfg
CFG
mods="iso9660 part_msdos part_gpt fat normal search search_fs_file configfile linux echo serial terminal test gzio all_video"
grub-mkimage -O i386-pc-eltorito -d "$root/usr/lib/grub/i386-pc" -c "$work/early.cfg" -p /boot/grub -o "$lc/boot/grub/bios.img" biosdisk $mods
grub-mkimage -O x86_64-efi -d "$root/usr/lib/grub/x86_64-efi" -c "$work/early.cfg" -p /boot/grub -o "$work/BOOTX64.EFI" $mods
mkfs.vfat -C "$lc/boot/grub/efi.img" 4096 >/dev/null
mmd -i "$lc/boot/grub/efi.img" ::/EFI ::/EFI/BOOT
mcopy -i "$lc/boot/grub/efi.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
tar -C "$root" -c . > "$work/rootfs.tar"
tar -C "$work" -rf "$work/rootfs.tar" ./livecd
docker import --change 'LABEL airship-image-builder.cut-dev=1' "$work/rootfs.tar" "$ref" >/dev/null
echo "$ref"
