#!/usr/bin/env bash
# Install Apache Superset's own virtualenv from requirements.lock and link it as .venv-superset.
#
# Superset cannot share the project's environment (it needs SQLAlchemy < 2 and older numpy, pandas,
# pyarrow...). The environment is built once per lock file, keyed by the lock's hash, under
# ${FEELBACK_CACHE_DIR:-~/.cache/feelback}/superset-<hash>, so a clean clone on the same machine (CI)
# reuses it; a fresh machine builds it (a minute or two). A venv cannot move, so it is built in place.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lock="$here/requirements.lock"
python="${PYTHON:-python3}"
hash="$(sha256sum "$lock" | cut -c1-16)"
cache="${FEELBACK_CACHE_DIR:-$HOME/.cache/feelback}"
env_dir="$cache/superset-$hash"
link="$root/.venv-superset"

mkdir -p "$cache"
exec 9>"$cache/superset-$hash.lock"
flock 9  # two clones installing at once build it once
if [ ! -f "$env_dir/.installed" ]; then
    started=$(date +%s)
    echo "installing Superset's environment into $env_dir (cold install, about a minute)" >&2
    rm -rf "$env_dir"
    "$python" -m venv "$env_dir"
    "$env_dir/bin/python" -m pip install --quiet --upgrade pip
    "$env_dir/bin/python" -m pip install --quiet --no-deps -r "$lock"
    "$env_dir/bin/python" -m pip check
    touch "$env_dir/.installed"
    echo "Superset's environment installed in $(( $(date +%s) - started )) s" >&2
fi
if [ -e "$link" ] && [ ! -L "$link" ]; then
    rm -rf "$link"
fi
ln -sfn "$env_dir" "$link"
