#!/usr/bin/env bash
# The run-core figures of BENCHMARKS.md against the real server process: starts
# `deno task start` from the project root (cwd) on a random PORT, runs one script
# of this folder against it from another process, and prints its figure beside a
# bare floor measured in the same run. A mirror of the shared measuring stick.
#   bench/real_server/perf.sh spawn_roundtrip            # SWITCHBOARD_KV=:memory:
#   SB_KV=file bench/real_server/perf.sh spawn_roundtrip # a fresh KV file
#   SB_KV=file N=10000 GOAL_MB=250 bench/real_server/perf.sh waiting_runs
#   REPEAT=3 bench/real_server/perf.sh runs_throughput   # several runs, one line each
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/_lib.sh"
find_deno
rc=0
for _ in $(seq 1 "${REPEAT:-1}"); do
  echo "# $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) SB_KV=${SB_KV:-memory} $1"
  start_server || exit 1
  SERVER_PID=$(ss -ltnpH "sport = :$port" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
  [ -n "$SERVER_PID" ] || SERVER_PID=$(pgrep -P "$pid" | head -1)
  export SERVER_PID
  BASE="http://127.0.0.1:$port" "$deno" run -A --no-check --no-config "$here/$1.ts" || rc=1
  stop_server
done
exit $rc
