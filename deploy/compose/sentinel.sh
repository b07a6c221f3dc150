#!/bin/sh
# Start a sentinel on 127.0.0.1:$1 watching the staging primary (deploy/compose.yaml).
set -eu
cat > /data/sentinel.conf <<CONF
bind 127.0.0.1
port $1
dir /data
sentinel monitor idbridge 127.0.0.1 6390 2
sentinel down-after-milliseconds idbridge 5000
sentinel failover-timeout idbridge 30000
sentinel parallel-syncs idbridge 1
CONF
exec redis-sentinel /data/sentinel.conf
