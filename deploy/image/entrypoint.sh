#!/bin/sh
# The image's entrypoint: `caselink "$@"`, with secrets read from files first.
#
# A setting that holds a password (amqp_url, a PostgreSQL store_url) is given as a file, not
# as a variable in the compose file or the pod spec: CASELINK_AMQP_URL_FROM_FILE=/run/secrets/x
# sets CASELINK_AMQP_URL to that file's content (trailing newline dropped), and likewise for
# any CASELINK_*_FROM_FILE. No setting's own name ends in _FROM_FILE (key_file,
# users_file... end in _FILE and are paths, left alone).
set -eu
for pair in $(env | sed -n 's/^\(CASELINK_[A-Z0-9_]*_FROM_FILE\)=.*/\1/p'); do
    eval "file=\${$pair}"
    name=${pair%_FROM_FILE}
    if [ ! -r "$file" ]; then
        echo "caselink-entrypoint: $pair names $file, which cannot be read" >&2
        exit 2
    fi
    value=$(cat "$file")
    export "$name=$value"
    unset "$pair"
done
exec caselink "$@"
