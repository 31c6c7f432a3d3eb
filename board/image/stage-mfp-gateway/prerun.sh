#!/bin/bash -e
# pi-gen: this stage starts from the root filesystem of the stage before it (stage2, Lite).
if [ ! -d "${ROOTFS_DIR}" ]; then
  copy_previous
fi
