#!/usr/bin/env bash
# The squashfs benchmark's input: the file tree a live CD is squashed from — a built image's root file system
# without its /livecd folder — exported once into a folder every tool then reads.
# Usage: bash bench/squashfs/make-tree.sh [IMAGE] [DEST]
#   IMAGE default: the test image (localhost/airship-test/image-builder:itest-debian_bookworm, built by the
#   integration tests); DEST default: /var/tmp/bench-tree.
set -euo pipefail
image=${1:-localhost/airship-test/image-builder:itest-debian_bookworm}
dest=${2:-/var/tmp/bench-tree}
container=$(docker create --network none "$image" true)
trap 'docker rm -f "$container" >/dev/null; rm -rf "$dest.tmp"' EXIT
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
docker export "$container" | tar -x -C "$dest.tmp" --numeric-owner --exclude=./livecd --exclude=livecd
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "bench tree: $dest ($(du -sh "$dest" | cut -f1), $(find "$dest" | wc -l) entries) from $image"
