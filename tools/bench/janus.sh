#!/usr/bin/env bash
# Janus (Debian's `janus` 1.1.2, videoroom plugin) configured for the side-by-side benchmark on loopback:
# writes its own config folder and runs Janus in the foreground. The stock /etc/janus stays untouched.
#
#   bash tools/bench/janus.sh [CONF_DIR]               write CONF_DIR (default /tmp/sabha-bench-janus) and exec janus
#   JANUS_WRITE_ONLY=1 bash tools/bench/janus.sh DIR   only write the config
#
# Needs an interface other than `lo` carrying 127.0.0.2 (libnice ignores lo): tools/bench/bench.sh creates a
# network namespace with a veth pair carrying 127.0.0.2/32 (see ../shared/notes/janus-loopback.md).
# API: HTTP on 127.0.0.1:8088/janus, WebSocket on 127.0.0.1:8188 (subprotocol janus-protocol), admin off.
# Room 1234: VP8 + Opus, bitrate 0 (no REMB cap), up to 1000 publishers.
# event_loops = JANUS_EVENT_LOOPS (default 1): a fixed number of media loops shared by all handles, sized to the
# cores Janus is given, as janus.jcfg's documentation recommends. Without it Janus runs one loop thread per
# handle, hundreds of threads on one core (the benchmark pins Janus to one core).
set -euo pipefail
conf=${1:-/tmp/sabha-bench-janus}
event_loops=${JANUS_EVENT_LOOPS:-1}
mkdir -p "$conf"
lib=/usr/lib/x86_64-linux-gnu/janus
[[ -d $lib ]] || lib=$(dirname "$(dirname "$(find /usr/lib -name libjanus_videoroom.so -print -quit)")")

cat >"$conf/janus.jcfg" <<JCFG
general: {
	configs_folder = "$conf"
	plugins_folder = "$lib/plugins"
	transports_folder = "$lib/transports"
	events_folder = "$lib/events"
	loggers_folder = "$lib/loggers"
	debug_level = 3
	interface = "127.0.0.2"
	session_timeout = 60
	event_loops = $event_loops
	admin_secret = "unused-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
	protected_folders = []
}
certificates: {
}
media: {
	rtp_port_range = "20000-29999"
}
nat: {
	ice_enforce_list = "127.0.0.2"
	nice_debug = false
	ignore_mdns = true
}
plugins: {
	disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so"
}
transports: {
	disable = "libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so"
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
events: {
	broadcast = false
	disable = "libjanus_gelfevh.so,libjanus_mqttevh.so,libjanus_nanomsgevh.so,libjanus_rabbitmqevh.so,libjanus_sampleevh.so,libjanus_wsevh.so"
}
JCFG

cat >"$conf/janus.transport.http.jcfg" <<'JCFG'
general: {
	json = "compact"
	base_path = "/janus"
	http = true
	port = 8088
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
JCFG

cat >"$conf/janus.transport.websockets.jcfg" <<'JCFG'
general: {
	json = "compact"
	ws = true
	ws_port = 8188
	ws_ip = "127.0.0.1"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
JCFG

cat >"$conf/janus.plugin.videoroom.jcfg" <<'JCFG'
general: {
	string_ids = false
}
room-1234: {
	description = "sabha bench"
	is_private = false
	publishers = 1000
	bitrate = 0
	fir_freq = 0
	audiocodec = "opus"
	videocodec = "vp8"
	record = false
}
JCFG

[[ -n ${JANUS_WRITE_ONLY:-} ]] && exit 0
exec janus -F "$conf" -C "$conf/janus.jcfg" -o
