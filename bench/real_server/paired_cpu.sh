#!/usr/bin/env bash
# Server CPU a spawn round trip of two checkouts at once (paired_cpu.ts), on :memory:.
#   bench/real_server/paired_cpu.sh ../main .       # N=1000 by default
# Both run `deno run ... main.ts` with FLAGS as their V8 flags (none by default; the start
# task's are not read), e.g. FLAGS=--v8-flags=--max-semi-space-size=8,--heap-growing-percent=20.
set -u
here=$(cd "$(dirname "$0")" && pwd)
start() { # checkout -> "port pid"
  local port=$((20000 + RANDOM % 20000))
  (cd "$1" && HOST=127.0.0.1 PORT=$port SWITCHBOARD_KV=:memory: deno run --allow-net \
    --allow-env --allow-read --allow-write ${FLAGS:-} main.ts >/dev/null 2>&1 &)
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$port/v1/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  echo "$port $(ss -ltnpH "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)"
}
read -r pa sa < <(start "$1")
read -r pb sb < <(start "$2")
echo "# $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) A=$1 B=$2 ${FLAGS:-}"
TARGETS="[{\"name\":\"A\",\"base\":\"http://127.0.0.1:$pa\",\"pid\":\"$sa\"},{\"name\":\"B\",\"base\":\"http://127.0.0.1:$pb\",\"pid\":\"$sb\"}]" \
  N=${N:-1000} deno run -A --no-check --no-config "$here/paired_cpu.ts"
kill "$sa" "$sb" 2>/dev/null
