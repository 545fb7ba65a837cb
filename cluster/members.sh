# Shared by start-local.sh and stop-local.sh (sourced, not run): the executable, the members
# of the cluster file, and whether a pid is one of its nodes.
#
# TICKETFLOW_BIN picks the executable (default .build/release/ticketflow, built if missing).
bin=${TICKETFLOW_BIN:-.build/release/ticketflow}
if [ ! -x "$bin" ]; then
  echo "building $bin"
  make -s build >/dev/null
fi

# Prints the members to act on, one a line: name, http, zmq, data, partitions (tab-separated),
# checked by the same code a node runs at start, so a broken file or an unknown node name
# stops the script before anything starts.
#   cluster_members FILE [NODE ...]
cluster_members() { "$bin" cluster members --tsv "$@"; }

# Whether PID is this cluster's node NAME: a pid file can outlive its process, and the pid
# can be taken by an unrelated one, which must be neither counted nor signalled.
#   is_node PID NAME
is_node() {
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "serve --cluster .* --node $2\( \|$\)"
}

# Starts the cluster file's etcd when it is on this machine (http://127.0.0.1:PORT) and not
# already running: data in DATA_DIR (data/etcd for cluster/local.yaml), its pid and log beside
# it (DATA_DIR.pid, DATA_DIR.log); waits until it is healthy (at most 30 s).
#   start_local_etcd
start_local_etcd() {
  local line url data port peer pidfile
  line=$("$bin" cluster members --etcd "$file" | head -n 1)
  [ -n "$line" ] || return 0
  IFS=$'\t' read -r url data <<<"$line"
  case "$url" in http://127.0.0.1:*) ;; *) echo "etcd at $url: not on this machine, not started here"; return 0;; esac
  port=${url##*:}; peer=$((port + 1)); pidfile="$data.pid"
  if [ -f "$pidfile" ] && is_etcd "$(cat "$pidfile")" "$data"; then echo "etcd already running (pid $(cat "$pidfile"))"; return 0; fi
  # An etcd this script did not start (a system service, say) already answering there is used as it is.
  if curl -fs --max-time 1 "$url/health" 2>/dev/null | grep -q '"true"'; then echo "etcd already answering at $url; using it"; return 0; fi
  command -v etcd >/dev/null || { echo "etcd is missing: make deps installs Debian's etcd-server" >&2; return 1; }
  mkdir -p "$data"
  nohup etcd --name ticketflow --data-dir "$data" --listen-client-urls "$url" --advertise-client-urls "$url" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "ticketflow=http://127.0.0.1:$peer" >>"$data.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 300); do
    if curl -fs --max-time 1 "$url/health" 2>/dev/null | grep -q '"true"'; then echo "etcd ready at $url (pid $(cat "$pidfile"), data $data)"; return 0; fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || break
    sleep 0.1
  done
  echo "etcd did not start at $url; the end of $data.log:" >&2
  tail -n 5 "$data.log" >&2
  return 1
}

# Stops the etcd start_local_etcd started, by its pid file.
#   stop_local_etcd
stop_local_etcd() {
  local line data pidfile pid
  line=$("$bin" cluster members --etcd "$file" | head -n 1)
  [ -n "$line" ] || return 0
  data=$(cut -f2 <<<"$line"); pidfile="$data.pid"
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if is_etcd "$pid" "$data"; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "etcd: stopped"
  fi
  rm -f "$pidfile"
}

# Whether PID is the etcd keeping its data in DATA.
#   is_etcd PID DATA
is_etcd() {
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "etcd --name ticketflow --data-dir $2 "
}
