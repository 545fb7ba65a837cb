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
