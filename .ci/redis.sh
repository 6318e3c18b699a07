# Sourced by .ci/run before the tests: makes a real Redis reachable for the Redis driver's tests and
# exports REDIS_URL, plus CI_REQUIRE_REDIS=1 so those tests fail instead of passing without Redis.
# Uses REDIS_URL when set, else a Redis already answering on 127.0.0.1:6379; otherwise installs the
# Debian package redis-server when it is missing and starts a throwaway server (no persistence) on a
# free loopback port, stopped when .ci/run exits.

ci_redis_ping() { # host port: true when a Redis answers PING there
  local reply=''
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3>&- 3<&-
  [[ "$reply" == +PONG* ]]
}

ci_redis_start() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server (Debian package) for the Redis tests"
    local sudo=()
    [[ "$(id -u)" -eq 0 ]] || sudo=(sudo -n)
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      redis-server >/dev/null
  fi
  local port dir
  port="$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
  dir="$(mktemp -d)"
  CI_REDIS_DIR="$dir"
  trap 'kill "$(cat "$CI_REDIS_DIR/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$CI_REDIS_DIR"' EXIT
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 1 50); do
    ci_redis_ping 127.0.0.1 "$port" && break
    sleep 0.2
  done
  ci_redis_ping 127.0.0.1 "$port" || { cat "$dir/redis.log"; echo "redis-server did not start" >&2; return 1; }
  export REDIS_URL="redis://127.0.0.1:$port"
}

export CI_REQUIRE_REDIS=1
if [[ -n "${REDIS_URL:-}" ]]; then
  echo "Redis for the tests: REDIS_URL from the environment"
elif ci_redis_ping 127.0.0.1 6379; then
  export REDIS_URL=redis://127.0.0.1:6379
  echo "Redis for the tests: the one running on $REDIS_URL"
else
  ci_redis_start
  echo "Redis for the tests: started $(redis-server --version | cut -d' ' -f3) on $REDIS_URL"
fi
