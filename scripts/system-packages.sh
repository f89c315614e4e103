#!/usr/bin/env bash
# The Debian packages the app needs outside Python, installed when missing:
# msgfmt (gettext) for the message catalogues, and Tesseract's language data
# for text recognition of scans (English, Russian, simplified Chinese, and the
# orientation model that turns sideways pages). The tesserocr wheel carries
# libtesseract itself, so the `tesseract` program is not needed.
# Used by `make run`/`make test` (through `make install`) and .ci/run; the
# Dockerfile installs the same list. Never fatal: without the language data
# the app still runs, and a scan fails with a message that says what to install.
set -uo pipefail
PACKAGES=(gettext tesseract-ocr-eng tesseract-ocr-rus tesseract-ocr-osd tesseract-ocr-chi-sim)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "Not Debian: install msgfmt and Tesseract's eng, rus, osd and chi_sim data yourself." >&2
  exit 0
fi
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "Missing Debian packages (install them as root): ${missing[*]}" >&2
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}" >&2
{ "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null; } \
  || echo "Could not install ${missing[*]}; scans will not be recognised." >&2
exit 0
