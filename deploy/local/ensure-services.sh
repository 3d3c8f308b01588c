#!/usr/bin/env bash
# Start the local RabbitMQ and PostgreSQL when they are not already answering.
# Safe to run repeatedly; never reconfigures a running service.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5672; then
    echo "starting RabbitMQ" >&2
    rabbitmq-server -detached
    rabbitmqctl await_startup >/dev/null
fi

if ! port_open 5432; then
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
fi
