# Sourced by scripts/testhost.sh and scripts/testhost-remote.sh: the processes they start are recorded in pid
# files and ended by PID, only while that PID is still the process of that name. The caller defines say().

# Whether PID $1 runs. A zombie (killed, not yet reaped by its parent) does not: where PID 1 reaps late, a
# daemon just killed stays one for seconds, and must not be taken for a running one.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# The PID recorded in file $1 when that process is alive and named $2 (exact comm); fails otherwise.
live_pid() {
  local file=$1 comm=$2 pid
  [[ -s $file ]] || return 1
  pid=$(tr -dc 0-9 < "$file")
  [[ -n $pid && -r /proc/$pid/comm ]] || return 1
  [[ $(cat "/proc/$pid/comm") == "$comm" ]] && alive "$pid" || return 1
  echo "$pid"
}

# stop_pid <pid> <grace seconds> <comm>: TERM, then KILL after the grace, and wait (5 s at most) until it is gone.
stop_pid() {
  local pid=$1 grace=$2 comm=$3 i
  [[ -r /proc/$pid/comm && $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] && alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "$comm PID $pid ignored TERM for ${grace}s; sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
}
