#!/usr/bin/env bash
# Builds the flashable mfp-gateway image with pi-gen, pinned to one release of it, from an
# arm64 release bundle (npm run bundle -- --arch arm64). Needs a Debian machine with
# internet access, root (or Docker: --docker), about 10 GB of disk and 30-60 minutes.
#
#   sudo board/image/build-image.sh --bundle release/mfp-gateway-0.1.0-linux-arm64.tar.gz \
#     [--site-config my-site.yaml] [--ssh-key ~/.ssh/id_ed25519.pub] [--work DIR] [--docker]
#
# The image lands in DIR/pi-gen/deploy/ as image_<date>-mfp-gateway-mfp-gateway.zip.
set -euo pipefail

# pi-gen's release tag (arm64 branch, trixie) and the commit it must name: a moved tag
# or another repository is refused.
PI_GEN_REPO=https://github.com/RPi-Distro/pi-gen.git
PI_GEN_TAG=2026-06-18-raspios-trixie-arm64
PI_GEN_COMMIT=ca8aeed0ae300c2a89f55ce9617d5f96a27e99e5

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUNDLE=""
SITE_CONFIG=""
SSH_KEY=""
WORK="$PWD/image-build"
DOCKER=0

die() {
  echo "build-image.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) BUNDLE="${2:?--bundle needs a tarball}"; shift 2 ;;
    --site-config) SITE_CONFIG="${2:?--site-config needs a file}"; shift 2 ;;
    --ssh-key) SSH_KEY="${2:?--ssh-key needs a public key file}"; shift 2 ;;
    --work) WORK="${2:?--work needs a directory}"; shift 2 ;;
    --docker) DOCKER=1; shift ;;
    -h | --help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done

[ -n "$BUNDLE" ] || die "give the arm64 release bundle: --bundle release/mfp-gateway-<version>-linux-arm64.tar.gz"
case "$(basename "$BUNDLE")" in
  mfp-gateway-*-linux-arm64.tar.gz) ;;
  *) die "$BUNDLE is not an arm64 release bundle (npm run bundle -- --arch arm64)" ;;
esac
[ -f "$BUNDLE" ] || die "$BUNDLE does not exist"
[ -f "$BUNDLE.sha256" ] || die "$BUNDLE.sha256 is missing: copy it beside the bundle"
[ -z "$SITE_CONFIG" ] || [ -f "$SITE_CONFIG" ] || die "$SITE_CONFIG does not exist"
[ -z "$SSH_KEY" ] || [ -f "$SSH_KEY" ] || die "$SSH_KEY does not exist"

pigen="$WORK/pi-gen"
if [ ! -d "$pigen/.git" ]; then
  mkdir -p "$WORK"
  git clone --quiet --depth 1 --branch "$PI_GEN_TAG" "$PI_GEN_REPO" "$pigen"
fi
commit="$(git -C "$pigen" rev-parse HEAD)"
[ "$commit" = "$PI_GEN_COMMIT" ] ||
  die "$pigen is at $commit, not pi-gen $PI_GEN_TAG ($PI_GEN_COMMIT): remove it and run again"

stage="$pigen/stage-mfp-gateway"
rm -rf "$stage"
cp -r "$HERE/stage-mfp-gateway" "$stage"
cp "$BUNDLE" "$BUNDLE.sha256" "$stage/00-mfp-gateway/files/"
if [ -n "$SITE_CONFIG" ]; then cp "$SITE_CONFIG" "$stage/00-mfp-gateway/files/mfp-gateway.yaml"; fi
cp "$HERE/config" "$pigen/config"
if [ -n "$SSH_KEY" ]; then
  printf "PUBKEY_SSH_FIRST_USER='%s'\n" "$(head -n 1 "$SSH_KEY")" >>"$pigen/config"
  # config reads the key at its top: move that line there.
  { tail -n 1 "$pigen/config"; head -n -1 "$pigen/config"; } >"$pigen/config.new"
  mv "$pigen/config.new" "$pigen/config"
fi
# Only our image: not the plain Lite one stage2 would export too.
touch "$pigen/stage2/SKIP_IMAGES"

cd "$pigen"
if [ "$DOCKER" -eq 1 ]; then ./build-docker.sh; else ./build.sh; fi
ls -1 "$pigen"/deploy/*.zip
