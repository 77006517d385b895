# Shared set-up for scripts/run, scripts/demo and scripts/test (sourced, not executed).
# Installs Debian packages that are missing, creates .venv and installs Hub with the given extras. Idempotent:
# a second run installs nothing and takes about a second. Installers write to INSTALL_LOG, not to the terminal:
# one line says what is being installed, and a failure prints the log's end and its path.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
INSTALL_LOG="$VENV/install.log"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# quietly CMD... — run CMD with its output appended to INSTALL_LOG; if it fails, show the log's end and path, exit.
quietly() {
    mkdir -p "$VENV"
    echo "### $(date -u '+%F %T') $*" >>"$INSTALL_LOG"
    if ! "$@" >>"$INSTALL_LOG" 2>&1; then
        echo "failed: $*" >&2
        tail -n 20 "$INSTALL_LOG" >&2
        echo "full log: $INSTALL_LOG" >&2
        exit 1
    fi
}

# apt_install PKG... — install the packages that are not installed yet.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}" >&2
        quietly as_root apt-get update -qq
        # Services stay stopped: Hub's tests and `hub demo` start their own throwaway servers.
        quietly as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends \
            "${missing[@]}"
    fi
}

# npm_ci DIR — install DIR's npm packages as its package-lock.json pins them (`npm ci`), unless node_modules
# already holds that lock's install.
npm_ci() {
    local dir="$1" hash stamp="$1/node_modules/.hub-installed"
    hash="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
        echo "installing npm packages in ${dir#"$ROOT"/} (log: $INSTALL_LOG)" >&2
        quietly npm --prefix "$dir" ci --no-audit --no-fund
        echo "$hash" >"$stamp"
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

# install_hub EXTRAS — create .venv and install Hub editable with EXTRAS (comma-separated) and those installed
# before; skipped when pyproject is unchanged since an install that covered these extras.
install_hub() {
    local extras="$1" stamp="$VENV/.hub-installed" hash installed="" extra
    hash="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ ! -x "$VENV/bin/python" ]; then
        local python
        python="$(python_for_venv)"
        quietly "$python" -m venv "$VENV"
    fi
    if [ -f "$stamp" ] && [ "$(cut -d' ' -f2 "$stamp")" = "$hash" ]; then
        installed="$(cut -d' ' -f1 "$stamp")"
    fi
    for extra in ${extras//,/ }; do
        if [[ ",$installed," != *",$extra,"* ]]; then
            extras="$(echo "$installed,$extras" | tr ',' '\n' | sed '/^$/d' | sort -u | paste -sd,)"
            echo "installing Hub into $VENV with extras [$extras] (log: $INSTALL_LOG)" >&2
            quietly "$VENV/bin/python" -m pip install --upgrade pip
            quietly "$VENV/bin/python" -m pip install -e "$ROOT[$extras]"
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
        quietly "$VENV/bin/python" -m pip install --no-deps -e "$dir"
    fi
}
