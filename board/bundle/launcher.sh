#!/bin/sh
# mfp-gateway: runs the app of this release bundle with the Node runtime shipped in it,
# whatever Node (if any) the machine has. Installed as bin/mfp-gateway.
set -e
here=$(dirname "$(readlink -f "$0")")
exec "$here/../node/bin/node" "$here/../dist/mfp-gateway.js" "$@"
