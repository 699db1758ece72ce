#!/bin/sh
# ffmpeg with a parent-death signal: the kernel SIGKILLs it the moment the worker that spawned it
# dies, kill -9 included (PR_SET_PDEATHSIG through util-linux setpriv). The inner check closes the
# window in which the worker dies before the signal is armed: ffmpeg then never starts.
# The adapter spawns this instead of ffmpeg when setpriv supports --pdeathsig; same argv after it.
#   FFMPEG_PATH                 the real binary (default: ffmpeg from PATH), as for the adapter
#   CLIPMAKER_FFMPEG_PARENT     pid of the worker process (set by the adapter)
exec setpriv --pdeathsig KILL -- /bin/sh -c '[ "$PPID" = "$1" ] || exit 137; shift; exec "$@"' ffmpeg-pdeathsig "${CLIPMAKER_FFMPEG_PARENT:-$PPID}" "${FFMPEG_PATH:-ffmpeg}" "$@"
