#!/bin/sh
# On the systemd virtual board (board-check.service, after boot): is microturn.service ready with its
# watchdog armed, does it answer a spoken request played into the loopback, does `systemctl stop`
# end it cleanly, and what does `microturn diag` find. Everything goes to the serial console between
# MT-BEGIN and MT-END, for tools/virtual-board/run-systemd.sh.
exec > /dev/ttyS0 2>&1
echo "MT-BEGIN"
echo "MT-UPTIME-AT-CHECK $(cut -d' ' -f1 /proc/uptime)"
i=0
while [ $i -lt 120 ] && ! systemctl is-active -q microturn.service; do sleep 1; i=$((i + 1)); done
# Type=notify: "active" only once the daemon said READY=1.
echo "MT-READY $(systemctl show microturn.service -p ActiveState -p SubState -p WatchdogUSec -p NRestarts | tr '\n' ' ')"
echo "MT-READY-AFTER $(systemctl show microturn.service -p ExecMainStartTimestampMonotonic --value) $(systemctl show microturn.service -p ActiveEnterTimestampMonotonic --value)"
# The user speaks: "what time is it", played into the loopback substream the device listens on.
aplay -q -D plughw:CARD=Loopback,DEV=0,SUBDEV=1 /opt/board-check/request.wav
# Wait for the answer to be heard (a state, not a clock: under emulation on a loaded host the reply
# can take longer than any fixed wait), for at most a minute.
i=0
while [ $i -lt 60 ] && ! journalctl -u microturn.service --no-pager -o cat | grep -q "playback_start"; do sleep 1; i=$((i + 1)); done
sleep 1
echo "MT-STATUS $(systemctl show microturn.service -p StatusText --value)"
journalctl -u microturn.service --no-pager -o cat | grep -E "^ *[0-9]+\.[0-9]+ s " | sed 's/^/MT-JOURNAL /'
systemctl stop microturn.service
echo "MT-STOPPED $(systemctl show microturn.service -p ActiveState -p Result -p ExecMainStatus | tr '\n' ' ')"
# With the service stopped, the sound card and camera are free for the diagnostics.
microturn diag --json --config /etc/microturn/diag.toml --only audio,camera,system > /tmp/diag.json 2>/dev/null
echo "MT-DIAG-EXIT $?"
echo "MT-DIAG $(base64 -w0 /tmp/diag.json)"
echo "MT-END"
systemctl poweroff
