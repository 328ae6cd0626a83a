#!/usr/bin/env bash
# Starts the action server (127.0.0.1:5055), Rasa (REST on 5005), the widget server (8080)
# and the staff console (8081).
# Ctrl-C stops them all. Called by `make run` after install, migrations and training.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv/bin
RASA_PORT=${RASA_PORT:-5005}
RASA_INTERFACE=${RASA_INTERFACE:-127.0.0.1}
WIDGET_PORT=${WIDGET_PORT:-8080}
CONSOLE_PORT=${CONSOLE_PORT:-8081}
# Where the widget's pages connect (the demo page's CSP allows only this origin besides itself).
export RASA_URL=${RASA_URL:-http://localhost:$RASA_PORT}
export WIDGET_PORT CONSOLE_PORT
mkdir -p var/log
# No telemetry or crash reports leave the machine: they could carry patient messages.
export RASA_TELEMETRY_ENABLED=false

"$VENV/bot" db-upgrade
# Demo patients only on a developer's machine: never into a real database.
ENVIRONMENT_NOW=$("$VENV/python" -c 'from bot.config import get_settings; print(get_settings().environment)')
if [ "$ENVIRONMENT_NOW" = development ]; then
  "$VENV/bot" seed-demo
else
  echo "ENVIRONMENT=$ENVIRONMENT_NOW: not seeding demo patients"
fi

pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT

# The action server believes only Rasa's signed identity claims, and listens on loopback only.
SANIC_HOST=127.0.0.1 "$VENV/python" -m rasa_sdk --actions actions --port 5055 \
  --logging-config_file logging.yml \
  >var/log/actions.log 2>&1 &
pids+=($!)
"$VENV/rasa" run --model models/current.tar.gz --credentials credentials.yml \
  --endpoints endpoints.yml --interface "$RASA_INTERFACE" --port "$RASA_PORT" \
  --logging-config-file logging.yml \
  >var/log/rasa.log 2>&1 &
pids+=($!)
# The widget, socket.io-client and the demo portal page (bot/apps/web.py).
"$VENV/python" -m bot.apps.web >var/log/web.log 2>&1 &
pids+=($!)
# The staff console: its own app and port (bot/apps/console.py).
"$VENV/python" -m bot.apps.console >var/log/console.log 2>&1 &
pids+=($!)

# Retention: delete conversations past RETENTION_DAYS now and then once a day
# (bot/storage/retention.py). Production servers can use cron instead (see README).
(
  trap 'kill $! 2>/dev/null; exit 0' TERM INT
  while true; do
    "$VENV/bot" purge >>var/log/purge.log 2>&1 || true
    sleep 86400 &
    wait $!
  done
) &
pids+=($!)

echo "Starting... (logs in var/log/)"
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$RASA_PORT/webhooks/rest/" >/dev/null 2>&1 && break
  sleep 1
done
cat <<MSG

The assistant is running.
  REST:    curl -XPOST localhost:$RASA_PORT/webhooks/rest/webhook \\
             -d '{"message":"how often are my check ups"}'
           (replies carry the anonymous session id as recipient_id: send it back as "sender")
  Signed in as a demo patient:
           TOKEN=\$($VENV/bot token demo-telephone)
           curl -XPOST localhost:$RASA_PORT/webhooks/rest/webhook -H "Authorization: Bearer \$TOKEN" \\
             -d '{"sender":"a","message":"when is my next appointment?"}'
  Shell:   $VENV/rasa shell   (in another terminal)
  Widget:  http://localhost:$WIDGET_PORT/  (a demo patient portal: sign in as a demo patient,
           or stay anonymous; browsers may connect from ALLOWED_ORIGINS only)
  Console: http://localhost:$CONSOLE_PORT/  (staff; add an account first with
           $VENV/bot staff add USERNAME --role admin)
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
