#!/bin/bash -e
# pi-gen sub-stage: bakes the mfp-gateway release bundle from files/ into the image with
# the same board/install.sh that CI tests (--root: into the image tree, nothing started).
# Runs on the build host, in this directory, with ROOTFS_DIR set by pi-gen.
shopt -s nullglob
bundles=(files/mfp-gateway-*-linux-arm64.tar.gz)
if [ "${#bundles[@]}" -ne 1 ]; then
  echo "00-mfp-gateway: put exactly one mfp-gateway-*-linux-arm64.tar.gz into $(pwd)/files/" \
    "(npm run bundle -- --arch arm64); found ${#bundles[@]}" >&2
  exit 1
fi
bundle="${bundles[0]}"
if [ -f "${bundle}.sha256" ]; then
  (cd files && sha256sum --check "$(basename "${bundle}").sha256")
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
tar -xzf "${bundle}" -C "${work}"
"${work}/$(basename "${bundle}" .tar.gz)/board/install.sh" --root "${ROOTFS_DIR}"

# A site config baked into the image lands on the boot partition, where first boot
# imports it (and where it can still be edited on any PC before that).
if [ -f files/mfp-gateway.yaml ]; then
  install -m 0644 files/mfp-gateway.yaml "${ROOTFS_DIR}/boot/firmware/mfp-gateway.yaml"
fi
