#!/usr/bin/env bash
# Proves the published artefacts, not the workspace: packs every package (`pnpm pack`, which
# runs its prepack build), installs the tarballs with npm into a copy of each example under a
# temporary directory outside the workspace, type-checks the TypeScript example (nodenext and
# bundler, skipLibCheck off; with its own @types/node and with the newest major), then runs
# every example on each given Node binary and compares its output with the example's
# expected.txt.
# Usage: [EXAMPLES=name] .ci/examples.sh NODE_BINARY...   (exit code non-zero on any failure)
set -uo pipefail
cd "$(dirname "$0")/.."
NEWEST_TYPES_NODE=26.6.11
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/managers-examples.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

mkdir -p "$work/tarballs"
for package in refcount proxy core sync piscina inspector; do
  (cd "packages/$package" && pnpm pack --pack-destination "$work/tarballs" >/dev/null) ||
    fail "pnpm pack packages/$package"
done
ls "$work/tarballs"

for example in examples/${EXAMPLES:-*}/; do
  name=$(basename "$example")
  copy="$work/$name"
  cp -r "$example" "$copy"
  rm -rf "$copy/node_modules"
  echo "--- $name: npm install (tarballs)"
  if ! (cd "$copy" && npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz); then
    fail "$name: npm install"
    continue
  fi
  if [ -f "$copy/tsconfig.json" ]; then
    for config in "$copy"/tsconfig*.json; do
      (cd "$copy" && node node_modules/typescript/bin/tsc -p "$config") ||
        fail "$name: tsc -p $(basename "$config")"
    done
    # Again with the newest @types/node major (its names change: TransferListItem is gone in 26),
    # then back to the example's own.
    echo "--- $name: type-check with @types/node@$NEWEST_TYPES_NODE"
    if (cd "$copy" && npm install --no-save --no-audit --no-fund --loglevel=error "@types/node@$NEWEST_TYPES_NODE"); then
      for config in "$copy"/tsconfig*.json; do
        (cd "$copy" && node node_modules/typescript/bin/tsc -p "$config") ||
          fail "$name: tsc -p $(basename "$config") with @types/node@$NEWEST_TYPES_NODE"
      done
      (cd "$copy" && npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz) ||
        fail "$name: npm install (back to its own @types/node)"
    else
      fail "$name: npm install @types/node@$NEWEST_TYPES_NODE"
    fi
  fi
  for node in "$@"; do
    node=$(command -v "$node" || echo "$node")
    node=$(realpath "$node")
    version=$("$node" --version)
    if [ -f "$copy/main.ts" ]; then
      # tsx's ESM loader needs module.register (Node 20.6); the library itself supports 20.0.
      if ! "$node" -e 'process.exit(typeof require("node:module").register === "function" ? 0 : 1)'; then
        echo "skip $name on Node $version (tsx needs Node >= 20.6 to run an ES module .ts app)"
        continue
      fi
      command=("$node" node_modules/tsx/dist/cli.mjs main.ts)
    else
      command=("$node" main.js)
    fi
    if output=$(cd "$copy" && PATH="$(dirname "$node"):$PATH" timeout 120 "${command[@]}" 2>&1) &&
      diff <(echo "$output") "$copy/expected.txt" >/dev/null; then
      echo "ok   $name on Node $version"
    else
      echo "$output" | tail -20
      fail "$name on Node $version (output above differs from expected.txt or the run failed)"
    fi
  done
done

if [ "$failures" -ne 0 ]; then
  echo "examples: $failures failure(s)"
  exit 1
fi
echo "examples: all passed"
