#!/bin/bash
# Vendor pdf.js (npm's pdfjs-dist) into static/vendor/pdfjs: the reader serves it
# from our own origin, so no page loads anything from a CDN and nothing is
# fetched at run time. Run once per upgrade; the files are committed.
set -euo pipefail
VERSION=4.10.38
# npm's dist.integrity for that version: the tarball is checked before use.
INTEGRITY="sha512-/Y3fcFrXEAsMjJXeL9J8+ZG9U01LbuWaYypvDW2ycW1jL269L3js3DVBjDJ0Up9Np1uqDXsDrRihHANhZOlwdQ=="
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="$ROOT/static/vendor/pdfjs"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "pdfjs-dist@$VERSION" >/dev/null
TARBALL="pdfjs-dist-$VERSION.tgz"
ACTUAL="sha512-$(openssl dgst -sha512 -binary "$TARBALL" | base64 -w0)"
if [ "$ACTUAL" != "$INTEGRITY" ]; then
  echo "pdfjs-dist $VERSION does not match its npm integrity" >&2
  exit 1
fi
tar -xzf "$TARBALL"
rm -rf "$TARGET"
mkdir -p "$TARGET/standard_fonts"
# As .js: every server (whitenoise, runserver, a proxy) serves that as JavaScript,
# which ES modules require; .mjs is unknown to some.
cp package/build/pdf.min.mjs "$TARGET/pdf.min.js"
cp package/build/pdf.worker.min.mjs "$TARGET/pdf.worker.min.js"
cp package/LICENSE "$TARGET/"
# The 14 standard PDF fonts (for files that name them without embedding them).
cp package/standard_fonts/* "$TARGET/standard_fonts/"
echo "pdfjs-dist $VERSION ($INTEGRITY)" > "$TARGET/VERSION"
du -sh "$TARGET"
