# Sourced by ./demo and ./test: what a bare Debian machine lacks, installed only when missing.
#   need_apt CMD PACKAGE ...   install PACKAGE with apt-get unless CMD is on the PATH ("-" : only python3-venv's check)
#   need_venv EXTRAS           .venv with uprising installed (editable) with those extras
set -euo pipefail

_apt_missing=()

need_apt() {
    local cmd="$1" pkg="$2"
    if [ "$cmd" = "-" ]; then
        python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || _apt_missing+=("$pkg")
    else
        command -v "$cmd" >/dev/null 2>&1 || _apt_missing+=("$pkg")
    fi
}

install_apt() {
    [ "${#_apt_missing[@]}" -gt 0 ] || return 0
    echo "installing ${_apt_missing[*]} with apt-get" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${_apt_missing[@]}"
}

need_venv() {
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install -q -e ".[$1]"
}
