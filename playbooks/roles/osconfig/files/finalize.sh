# Every machine booted from the image must get its own host keys and machine id: none leaves the build.
systemctl enable airship-ssh-host-keys.service
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
