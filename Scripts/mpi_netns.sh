#!/usr/bin/env bash
# Runs a program as 2 MPI ranks on 2 "hosts": two Linux network namespaces joined by a veth pair, so that the
# ranks reach each other only over TCP between two addresses, as on two machines. Needs root (ip netns) and
# Open MPI (bash Scripts/setup.sh installs it).
#
#   bash Scripts/mpi_netns.sh PROGRAM [ARGUMENTS...]
#   bash Scripts/mpi_netns.sh .build/debug/collectives-probe
#   bash Scripts/mpi_netns.sh .build/release/bert-tagger train --epochs 1 --output runs/two-hosts
#
# What it sets up, and what a run across real hosts needs instead:
#   hosts      namespaces bt-mpi-a (10.77.0.1) and bt-mpi-b (10.77.0.2), one slot each, listed in a hostfile;
#   launch     mpirun starts in bt-mpi-a; Open MPI's rsh launcher reaches the other host through an agent
#              that runs the command in that host's namespace (`ip netns exec`), where real hosts use ssh;
#   network    --mca btl tcp,self and the 10.77.0.0/24 subnet for both the MPI traffic (btl_tcp_if_include)
#              and the launcher's own (oob_tcp_if_include), as one picks the cluster network between hosts.
# The namespaces are removed when the script ends, however it ends.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bash Scripts/mpi_netns.sh PROGRAM [ARGUMENTS...]" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "mpi_netns.sh: needs root to create network namespaces (ip netns); run it with sudo" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpi_netns.sh: mpirun not found; run bash Scripts/setup.sh (it installs openmpi-bin)" >&2; exit 2; }
program=$(realpath "$1"); shift
[ -x "$program" ] || { echo "mpi_netns.sh: $program is not an executable; build it first (swift build)" >&2; exit 2; }

a=bt-mpi-a b=bt-mpi-b subnet=10.77.0.0/24
work=$(mktemp -d)
cleanup() {
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cleanup_stale() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
cleanup_stale
mkdir -p "$work"

ip netns add "$a"
ip netns add "$b"
ip link add veth-mpi-a type veth peer name veth-mpi-b
ip link set veth-mpi-a netns "$a"
ip link set veth-mpi-b netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev veth-mpi-a
ip -n "$b" addr add 10.77.0.2/24 dev veth-mpi-b
for ns in "$a" "$b"; do
  ip -n "$ns" link set lo up
done
ip -n "$a" link set veth-mpi-a up
ip -n "$b" link set veth-mpi-b up

cat > "$work/hostfile" <<HOSTS
10.77.0.1 slots=1
10.77.0.2 slots=1
HOSTS

# The launcher's agent: called as `agent HOST COMMAND...` (as ssh would be), it runs COMMAND on HOST, here in
# the namespace that holds HOST's address.
cat > "$work/netns-agent" <<'AGENT'
#!/usr/bin/env bash
host=$1; shift
case "$host" in
  10.77.0.1) ns=bt-mpi-a ;;
  10.77.0.2) ns=bt-mpi-b ;;
  *) echo "netns-agent: unknown host $host" >&2; exit 1 ;;
esac
exec ip netns exec "$ns" /bin/sh -c "$*"
AGENT
chmod +x "$work/netns-agent"

# Open MPI refuses root unless told: the namespaces need root, so this script tells it (for its own run only).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ip netns exec "$a" mpirun -np 2 --hostfile "$work/hostfile" \
  --mca plm_rsh_agent "$work/netns-agent" --mca plm_rsh_no_tree_spawn 1 \
  --mca btl tcp,self --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet" \
  --bind-to none -x PATH ${LD_LIBRARY_PATH:+-x LD_LIBRARY_PATH} \
  "$program" "$@"
