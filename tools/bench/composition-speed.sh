#!/usr/bin/env bash
# Composition speed (issue 19): how fast `sabha recording compose` turns a recorded meeting into composed.webm
# (VP8 1280x720 at 15 fps + Opus) and audio.opus, as a multiple of real time (minutes of meeting per minute of
# composing), on a release build.
#
# The meeting: --participants aiortc publishers over /ws (Tests/e2e/e2ekit/composition.py MeetingPublisher), each a
# moving --video picture at --fps and a tone; the loud tone, and with it the active speaker, moves on every 10 s; the
# host shares a moving 1280x720 5 fps screen from 40 % to 70 % of the meeting (--no-screen: never). The host records
# it for --duration on a release server in a loopback-only network namespace (tools/loadgen/server-lib.sh). The
# server composes every stopped recording by itself (a nice-10 thread); once that is done (its elapsedMs is shown
# too) the server stops, and `sabha recording compose` is timed --runs times on a copy of the recording's tracks and
# recording.json, with nothing else running.
#
# Not tools/loadgen's meeting mode: its publishers end every RTP payload with an 8-byte send stamp (its latency
# probe), so recorded VP8 and Opus frames would carry stray bytes and would not decode as a real meeting's do.
#
#   bash tools/bench/composition-speed.sh                          # 4 participants, 60 s, 640x360 cameras
#   bash tools/bench/composition-speed.sh --duration 30 --participants 6 --no-screen
#   bash tools/bench/composition-speed.sh --folder DIR             # time the composition of an existing recording
#   bash tools/bench/composition-speed.sh --keep DIR               # and keep the recording (tracks, recording.json) in DIR
# SABHA=path uses that server binary instead of building .build/release/sabha. Bounded: the meeting by --duration
# + 120 s, the server's composition and each timed run by 20 x --duration (at least 300 s).
set -euo pipefail
cd "$(dirname "$0")/../loadgen"
here=$PWD
root=$(cd "$here/../.." && pwd)
source "$here/server-lib.sh"
loadgen_enter_namespace "$here/../bench/composition-speed.sh" "$@"

participants=4
duration=60
video=640x360
fps=15
screen=1
runs=3
folder=""
keep=""
while (($#)); do
  case "$1" in
    --participants) participants=$2; shift 2 ;;
    --duration) duration=${2%s}; shift 2 ;;
    --video) video=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --no-screen) screen=0; shift ;;
    --runs) runs=$2; shift 2 ;;
    --folder) folder=$(cd "$2" && pwd); shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "composition-speed: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $participants =~ ^[0-9]+$ ]] && ((participants >= 2 && participants <= 8)) || { echo "--participants: 2 to 8" >&2; exit 2; }
[[ $duration =~ ^[0-9]+$ ]] && ((duration >= 10 && duration <= 3600)) || { echo "--duration: 10 to 3600 (s)" >&2; exit 2; }
[[ $video =~ ^[0-9]+x[0-9]+$ ]] || { echo "--video: WIDTHxHEIGHT" >&2; exit 2; }
[[ $fps =~ ^[0-9]+$ && $runs =~ ^[0-9]+$ ]] && ((runs >= 1)) || { echo "--fps, --runs: whole numbers" >&2; exit 2; }
python=$root/.venv/bin/python
if [[ -z $folder && ! -x $python ]]; then echo "composition-speed: $python is missing: run tools/setup.sh" >&2; exit 1; fi

if [[ -n ${SABHA:-} ]]; then
  sabha=$SABHA
else
  sabha=$root/.build/release/sabha
  echo "composition-speed: building sabha (release; incremental)" >&2
  (cd "$root" && nice -n 10 swift build -c release --product sabha >&2)
fi
"$sabha" recording compose --help >/dev/null || { echo "composition-speed: $sabha has no 'recording compose'" >&2; exit 1; }
limit=$((duration * 20 > 300 ? duration * 20 : 300))
work=$(mktemp -d /tmp/sabha-composition-speed.XXXXXX)
cleanup() {
  loadgen_stop_server || true
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z $folder ]]; then
  loadgen_start_server
  trap cleanup EXIT    # loadgen_start_server set its own
  echo "composition-speed: a $participants-person meeting ($video at $fps fps$( ((screen)) && echo ', a screen share')), recorded for $duration s" >&2
  id=$(SABHA_BIN=$sabha DATA=$data PORT=$http_port E2E=$root/Tests/e2e N=$participants SECONDS_=$duration VIDEO=$video \
       FPS=$fps SCREEN=$screen timeout $((duration + 120)) "$python" - <<'PY'
import asyncio, json, os, sys, time, urllib.request
from pathlib import Path

sys.path.insert(0, os.environ["E2E"])
from e2ekit.composition import MeetingPublisher, dbov_amplitude  # noqa: E402
from e2ekit.peers import MovingPatternTrack  # noqa: E402
from e2ekit.server import SabhaServer  # noqa: E402

n, duration, fps, screen = int(os.environ["N"]), float(os.environ["SECONDS_"]), int(os.environ["FPS"]), os.environ["SCREEN"] == "1"
width, height = (int(v) for v in os.environ["VIDEO"].split("x"))
data = Path(os.environ["DATA"])
server = SabhaServer(binary=Path(os.environ["SABHA_BIN"]), data_dir=data, log_path=data / "server.log", http_port=int(os.environ["PORT"]))
room = "composition-bench"
LOUD, QUIET = dbov_amplitude(-9), dbov_amplitude(-27)


def say(text):
    print(f"composition-speed: {text}", file=sys.stderr, flush=True)


async def meeting():
    people = [MeetingPublisher(server, room, f"person-{i + 1}", "host" if i == 0 else "participant", f"Person {i + 1}",
                               MovingPatternTrack(width, height, fps), 300 + 170 * i, LOUD if i == 0 else QUIET) for i in range(n)]
    try:
        for person in people:
            await person.join()
        await asyncio.sleep(3)
        told = await people[0].record(True)
        assert told == {"type": "recording", "active": True}, told
        t0 = time.monotonic()
        key = (data / "admin.key").read_text().strip()
        request = urllib.request.Request(f"{server.base_url}/api/rooms/{room}/recording", headers={"Authorization": f"Bearer {key}"})
        rec_id = json.loads(urllib.request.urlopen(request, timeout=10).read())["id"]
        speaker, shared, stopped = 0, False, False
        while (elapsed := time.monotonic() - t0) < duration:
            loud = int(elapsed // 10) % n
            if loud != speaker:
                people[speaker].tone.amplitude, people[loud].tone.amplitude, speaker = QUIET, LOUD, loud
            if screen and not shared and elapsed >= 0.4 * duration:
                await people[0].share_screen(MovingPatternTrack(1280, 720, 5))
                shared = True
                say(f"screen shared at {elapsed:.1f} s")
            if shared and not stopped and elapsed >= 0.7 * duration:
                await people[0].stop_screen()
                stopped = True
                say(f"screen share stopped at {elapsed:.1f} s")
            await asyncio.sleep(0.1)
        told = await people[0].record(False)
        assert told == {"type": "recording", "active": False}, told
        return rec_id
    finally:
        for person in people:
            await person.leave()


print(asyncio.run(meeting()))
PY
  )
  id=$(tail -1 <<<"$id")
  source_folder=$(ls -d "$data"/recordings/*-"$id")
  state=""
  for _ in $(seq $((limit * 2))); do
    state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("state",""))' "$source_folder/composition.json" 2>/dev/null || true)
    [[ $state == done || $state == failed ]] && break
    sleep 0.5
  done
  [[ $state == done ]] || { echo "composition-speed: the server's composition is '$state' after $limit s" >&2; tail -20 "$data/server.log" >&2; exit 1; }
  server_line=$(python3 - "$source_folder/composition.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
d, e = c["duration"] / 1000, c["elapsedMs"] / 1000
print(f"server (nice 10, in the background): {d:.1f} s of meeting composed in {e:.1f} s = {d / e:.1f}x real time")
PY
  )
else
  source_folder=$folder
  server_line="server: not run (--folder)"
fi

copy=$work/recording
mkdir -p "$copy"
cp -r "$source_folder/recording.json" "$source_folder/tracks" "$copy/"
if [[ -n $keep ]]; then mkdir -p "$keep" && cp -r "$copy/recording.json" "$copy/tracks" "$keep/"; fi
loadgen_stop_server || true   # also removes its data directory (the copy is in $work)

results=()
for run in $(seq "$runs"); do
  rm -f "$copy/composed.webm" "$copy/audio.opus" "$copy/composition.json"
  # Wall time, the CPU the command used (user + system) and its peak resident set.
  line=$(timeout "$limit" python3 - "$sabha" "$copy" "$work/compose-$run.log" <<'PY'
import json, resource, subprocess, sys, time
sabha, folder, log = sys.argv[1:4]
t0 = time.monotonic()
with open(log, "w") as out:
    rc = subprocess.call([sabha, "recording", "compose", folder], stdout=out, stderr=subprocess.STDOUT)
wall = time.monotonic() - t0
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
report = json.load(open(f"{folder}/composition.json"))
print(json.dumps({"rc": rc, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rssMiB": usage.ru_maxrss / 1024,
                  "duration": report.get("duration", 0) / 1000, "elapsed": report.get("elapsedMs", 0) / 1000,
                  "state": report.get("state")}))
PY
  )
  if ! python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["rc"] == 0 and r["state"] == "done" else 1)' "$line"; then
    echo "composition-speed: run $run failed: $line" >&2
    cat "$work/compose-$run.log" >&2
    exit 1
  fi
  echo "composition-speed: run $run: $(grep -a '^composed ' "$work/compose-$run.log" | tail -1)" >&2
  results+=("$line")
done

# What was timed is a real composition: ffprobe (Debian ffmpeg) reads it as VP8 1280x720 + Opus.
if command -v ffprobe >/dev/null; then
  streams=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "$copy/composed.webm" | tr '\n' ' ')
  echo "composition-speed: composed.webm: $streams" >&2
  [[ $streams == *vp8,1280,720* && $streams == *opus* ]] || { echo "composition-speed: composed.webm is not VP8 1280x720 + Opus" >&2; exit 1; }
fi

python3 - "$copy/recording.json" "$server_line" "$participants" "$duration" "$video" "$fps" "$screen" "${folder:-}" "${results[@]}" <<'PY'
import json, os, platform, statistics, sys
manifest, server_line, participants, duration, video, fps, screen, folder = sys.argv[1:9]
runs = [json.loads(r) for r in sys.argv[9:]]
m = json.load(open(manifest))
tracks = m["tracks"]
model = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip()
        break
meeting_s = m["duration"] / 1000
people = len({t["participant"] for t in tracks})
video_tracks = sum(1 for t in tracks if t["kind"] == "video")
print("composition-speed: machine: {} cores ({} online to this process), {}, {} {}".format(
    os.cpu_count(), len(os.sched_getaffinity(0)), model, platform.system(), platform.release()))
if folder:
    print(f"composition-speed: recording {folder}: {people} participants, {meeting_s:.1f} s, {len(tracks)} tracks ({video_tracks} video)")
else:
    print(f"composition-speed: meeting: {participants} participants, {video} at {fps} fps cameras"
          f"{', a 1280x720 5 fps screen share for 30 %' if screen == '1' else ''}, recorded {meeting_s:.1f} s, "
          f"{len(tracks)} tracks ({video_tracks} video)")
print(f"composition-speed: {server_line}")
for i, r in enumerate(runs, 1):
    print(f"composition-speed: run {i}: {r['duration']:.1f} s of meeting in {r['wall']:.2f} s wall "
          f"(composer's own figure {r['elapsed']:.2f} s), CPU {r['cpu']:.2f} s = {r['cpu'] / r['wall']:.2f} cores, "
          f"peak RSS {r['rssMiB']:.0f} MiB: {r['duration'] / r['wall']:.1f}x real time")
walls = [r["wall"] for r in runs]
best, median = min(walls), statistics.median(walls)
d = runs[0]["duration"]
print(f"composition-speed: RESULT {d:.1f} s of a {people}-person meeting composed in {median:.2f} s (median of "
      f"{len(runs)}; best {best:.2f} s): {d / median:.1f}x real time (best {d / best:.1f}x), "
      f"{statistics.median(r['cpu'] for r in runs) / d * 100:.0f} % of a core per second of meeting")
PY
