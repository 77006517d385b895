# Shared set-up for scripts/run and scripts/test (sourced, not executed).
# Installs Debian packages that are missing, creates .venv and installs Hub with the given extras. Idempotent:
# a second run installs nothing and takes about a second.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG... — install the packages that are not installed yet.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}" >&2
        as_root apt-get update -qq
        # Services stay stopped: Hub's tests start their own throwaway servers.
        as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

# python_for_venv — a Python >= 3.11 with venv support.
python_for_venv() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    apt_install python3 python3-venv python3-dev
    echo python3
}

# install_hub EXTRAS — create .venv and install Hub editable with EXTRAS (comma-separated); skipped when pyproject
# is unchanged since an install that covered these extras.
install_hub() {
    local extras="$1" stamp="$VENV/.hub-installed" hash installed="" extra
    hash="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ ! -x "$VENV/bin/python" ]; then
        "$(python_for_venv)" -m venv "$VENV"
    fi
    if [ -f "$stamp" ] && [ "$(cut -d' ' -f2 "$stamp")" = "$hash" ]; then
        installed="$(cut -d' ' -f1 "$stamp")"
    fi
    for extra in ${extras//,/ }; do
        if [[ ",$installed," != *",$extra,"* ]]; then
            echo "installing Hub into $VENV with extras [$extras]" >&2
            "$VENV/bin/python" -m pip install -q --upgrade pip
            "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
            echo "$extras $hash" >"$stamp"
            return
        fi
    done
}

# install_plugin DIR — install a plugin package (editable, without re-resolving Hub) unless it is installed.
install_plugin() {
    local dir="$1" name
    name="$(basename "$dir")"
    if ! "$VENV/bin/python" -m pip show -q "$name" >/dev/null 2>&1; then
        "$VENV/bin/python" -m pip install -q --no-deps -e "$dir"
    fi
}
