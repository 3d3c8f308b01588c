#!/usr/bin/env bash
# A three-node RabbitMQ cluster on one machine, for the fault tests and for trying a cluster
# out; never for production. Every file of it lives under the folder given (DIR): data, logs,
# config, pid files, and a copy of the Erlang cookie. The machine's own RabbitMQ (rabbit@,
# 5672) is never touched: other node names, other ports, its own env file (so
# /etc/rabbitmq/rabbitmq-env.conf, which names the main node, is not read).
#
#   cluster.sh start DIR [N...]   start caselink-c1..c3@localhost (AMQP 5691-5693, dist 25691-25693),
#                                 or only cN (a node restarted after a kill rejoins by itself)
#   cluster.sh join DIR           join c2 and c3 to c1 (stop_app, join_cluster, start_app)
#   cluster.sh apply DIR ARGS...  `caselink topology apply ARGS` against the cluster (node c1)
#   cluster.sh ctl DIR N ARGS...  rabbitmqctl ARGS on node cN
#   cluster.sh pid DIR N          the OS pid of node cN (for kill -KILL / -STOP in tests)
#   cluster.sh stop DIR [N...]    stop the three nodes, or only cN (waits until the process is gone)
#   cluster.sh up DIR             start, then join
#
# The nodes share the machine's Erlang cookie (/var/lib/rabbitmq/.erlang.cookie, else
# ~/.erlang.cookie; else one made for DIR), copied into DIR/home, which serves as HOME for
# the nodes and for the CLI tools run here.
set -euo pipefail

NODES=(1 2 3)
AMQP_BASE=5690   # node N listens on AMQP_BASE + N
DIST_BASE=25690  # and on DIST_BASE + N for Erlang distribution (its peers, rabbitmqctl)
HOSTNAME_PART=localhost
RABBITMQ_BIN=${RABBITMQ_BIN:-}
if [[ -z $RABBITMQ_BIN ]]; then
  # The packaged scripts themselves, not /usr/sbin's wrappers: those switch to the rabbitmq
  # user and write the main node's startup log.
  if [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
    RABBITMQ_BIN=/usr/lib/rabbitmq/bin
  else
    RABBITMQ_BIN=$(dirname "$(command -v rabbitmq-server)")
  fi
fi
STARTUP_TIMEOUT_S=${CLUSTER_STARTUP_TIMEOUT_S:-120}

die() { echo "cluster.sh: $*" >&2; exit 1; }
node_name() { echo "caselink-c$1@$HOSTNAME_PART"; }
node_dir() { echo "$DIR/c$1"; }

# Environment of the node N (or of the CLI tools when N is empty).
node_env() {
  local n=$1
  export HOME="$DIR/home"
  export RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf"
  if [[ -n $n ]]; then
    local d; d=$(node_dir "$n")
    export RABBITMQ_NODENAME; RABBITMQ_NODENAME=$(node_name "$n")
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$((AMQP_BASE + n))
    export RABBITMQ_DIST_PORT=$((DIST_BASE + n))
    export RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
    export RABBITMQ_MNESIA_BASE="$d/data"
    export RABBITMQ_LOG_BASE="$d/log"
    export RABBITMQ_PID_FILE="$d/pid"
  fi
  # The main node's rabbitmq-env.conf binds distribution to loopback; so do these nodes.
  export ERL_EPMD_ADDRESS=127.0.0.1
}

copy_cookie() {
  mkdir -p "$DIR/home" && chmod 700 "$DIR/home"
  local cookie="$DIR/home/.erlang.cookie"
  [[ -f $cookie ]] && return 0
  local source=""
  for candidate in /var/lib/rabbitmq/.erlang.cookie "${HOME:-/nonexistent}/.erlang.cookie"; do
    if [[ -r $candidate ]]; then source=$candidate; break; fi
  done
  if [[ -n $source ]]; then
    install -m 400 "$source" "$cookie"
  else
    (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$cookie")
    chmod 400 "$cookie"
  fi
}

write_config() {
  local n=$1 d; d=$(node_dir "$n")
  mkdir -p "$d/data" "$d/log"
  : >"$DIR/rabbitmq-env.conf"
  echo '[].' >"$d/enabled_plugins"   # no plugins: no management listener on 15672
  echo '[].' >"$d/advanced.config"
  cat >"$d/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$((AMQP_BASE + n))
# A node cut off from the majority pauses (closes its listeners) until it can see the
# majority again: the minority side stops accepting, so nothing confirmed there is lost.
cluster_partition_handling = pause_minority
log.file.level = info
log.console = false
# Three nodes and the main one share a small machine.
vm_memory_high_watermark.relative = 0.2
disk_free_limit.absolute = 50MB
CONF
}

ctl() { local n=$1; shift; (node_env ""; "$RABBITMQ_BIN/rabbitmqctl" -n "$(node_name "$n")" "$@"); }

start_node() {
  local n=$1
  write_config "$n"
  rm -f "$(node_dir "$n")/pid"  # a killed node's: `wait` would take it for the new one's
  ( node_env "$n"; "$RABBITMQ_BIN/rabbitmq-server" -detached )
  # `wait` returns once the node has written its pid file and finished booting.
  ctl "$n" wait --timeout "$STARTUP_TIMEOUT_S" "$(node_dir "$n")/pid" >/dev/null
}

stop_node() {
  local n=$1 pidfile; pidfile="$(node_dir "$n")/pid"
  [[ -f $pidfile ]] || return 0
  local pid; pid=$(cat "$pidfile")
  # A paused node (SIGSTOP in a test) cannot stop itself.
  kill -CONT "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
  # `stop PIDFILE` waits until the process is gone; kill it if the node does not answer.
  if ! ctl "$n" stop --timeout 60 "$pidfile" >/dev/null 2>&1; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

cmd=${1:-}; DIR=${2:-}
[[ -n $cmd && -n $DIR ]] || die "usage: cluster.sh start|join|up|apply|ctl|pid|stop DIR ..."
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
shift 2
case $cmd in
  start)
    copy_cookie
    chosen=("$@"); [[ $# -gt 0 ]] || chosen=("${NODES[@]}")
    for n in "${chosen[@]}"; do start_node "$n"; done ;;
  join)
    for n in "${NODES[@]:1}"; do
      ctl "$n" stop_app >/dev/null
      ctl "$n" join_cluster "$(node_name 1)" >/dev/null
      ctl "$n" start_app >/dev/null
    done
    ctl 1 await_startup >/dev/null
    ctl 1 cluster_status --formatter json |
      python3 -c 'import json,sys; s=json.load(sys.stdin); print(len(s["running_nodes"]), "nodes running:", " ".join(sorted(s["running_nodes"])))' ;;
  up)
    "$0" start "$DIR" && "$0" join "$DIR" ;;
  apply)
    # caselink runs `rabbitmqctl`: the packaged one, with the cookie in DIR/home.
    (node_env ""; PATH="$RABBITMQ_BIN:$PATH" "${CASELINK:-caselink}" topology apply "$@" --node "$(node_name 1)") ;;
  ctl)
    n=${1:?node number}; shift; ctl "$n" "$@" ;;
  pid)
    cat "$(node_dir "${1:?node number}")/pid" ;;
  stop)
    chosen=("$@"); [[ $# -gt 0 ]] || chosen=(3 2 1)
    for n in "${chosen[@]}"; do stop_node "$n"; done ;;
  *) die "unknown command $cmd" ;;
esac
