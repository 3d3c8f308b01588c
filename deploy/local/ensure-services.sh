#!/usr/bin/env bash
# Start the local RabbitMQ and PostgreSQL when they are not already answering; with
# `--rabbitmq-only`, RabbitMQ alone (what `make demo` needs). RabbitMQ is installed from the
# system's packages when it is missing and apt-get can install it.
# Safe to run repeatedly; never reconfigures a running service.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Installed only when nothing answers on RabbitMQ's port and the server is missing.
if ! port_open 5672 && ! command -v rabbitmq-server >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "installing RabbitMQ from the system's packages" >&2
        apt-get update -qq && apt-get install -y -qq rabbitmq-server >/dev/null
    else
        echo "RabbitMQ is not installed: install rabbitmq-server (as root, or with sudo)" >&2
        exit 1
    fi
fi

if ! port_open 5672; then
    echo "starting RabbitMQ" >&2
    rabbitmq-server -detached
    rabbitmqctl await_startup >/dev/null
fi

if [ "${1:-}" = "--rabbitmq-only" ]; then
    exit 0
fi

if ! port_open 5432; then
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
fi
