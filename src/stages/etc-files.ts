/**
 * /etc/hostname and /etc/hosts as the rootfs stage writes them. Docker shows every container empty ones of its
 * own instead of the image's, so the live root and the QCOW root get these back after their export.
 */
export const ETC_HOSTNAME = 'localhost\n';
export const ETC_HOSTS = '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n';
