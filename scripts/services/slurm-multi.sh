#!/usr/bin/env bash
# A 2-node Slurm 22.05 cluster on this one machine (one slurmctld, one `slurmd -N nX` per node), beside the
# single-node cluster of slurm.sh: its own ClusterName, ports, conf path, pid/spool/log dirs.  Tests point
# SLURM_CONF at /etc/slurm-multi/slurm.conf; inside its jobs slurmd sets SLURM_CONF itself.  The nodes share
# the host's kernel, /tmp and cores; SLURMD_NODENAME (n1, n2) tells them apart.  Used by the start-up image
# tests (once per node, not once per rank).  Idempotent: nothing happens when both nodes answer with this
# config.  Needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

CONF_DIR=/etc/slurm-multi
CONF=$CONF_DIR/slurm.conf
RUN=/run/slurm-multi
SPOOL=/var/spool/slurm-multi
LOGS=/var/log/slurm-multi
NODES=2
CONF_MARK="# roost slurm-multi.sh config 1: $NODES nodes"

running() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
running_from() { local pid; pid=$(cat "$1" 2>/dev/null) && running "$pid"; }
nodes_answer() {
  [ "$(SLURM_CONF=$CONF timeout 5 sinfo -h -N -o '%N %t' 2>/dev/null | grep -cE ' (idle|mix|alloc)')" -ge "$NODES" ]
}
poll() {  # poll TRIES COMMAND...: retry every 0.1 s
  local tries=$1; shift
  for _ in $(seq "$tries"); do "$@" && return 0; sleep 0.1; done
  return 1
}
all_running() {
  running_from $RUN/slurmctld.pid || return 1
  for i in $(seq "$NODES"); do running_from "$RUN/slurmd-n$i.pid" || return 1; done
}

if grep -qxF "$CONF_MARK" "$CONF" 2>/dev/null && all_running && nodes_answer; then exit 0; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [ ! -f /var/tmp/roost-apt-updated ]; then apt-get update -qq && touch /var/tmp/roost-apt-updated; fi
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; chown munge:munge /etc/munge/munge.key; }
  su -s /bin/sh munge -c /usr/sbin/munged
  poll 50 sh -c 'munge -n 2>/dev/null | unmunge >/dev/null 2>&1'
fi

mkdir -p "$CONF_DIR" "$RUN" "$SPOOL/ctld" "$LOGS"
for i in $(seq "$NODES"); do mkdir -p "$SPOOL/n$i"; done
host=$(hostname)
memory=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
memory=$((memory * 9 / 10 / NODES))
# Nodes declare 4 CPUs each whatever the host has (config_overrides): 8 ranks on 2 nodes fit.
cat > "$CONF" <<CONF
${CONF_MARK}
# Written by roost scripts/services/slurm-multi.sh: $NODES slurmd on one host, beside slurm.sh's cluster.
ClusterName=roostmulti
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=6917
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/%n
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd-%n.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd-%n.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
KillWait=2
InactiveLimit=0
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=n[1-$NODES] NodeHostname=${host} NodeAddr=127.0.0.1 Port=17001-1700$NODES CPUs=4 RealMemory=${memory} State=UNKNOWN
PartitionName=multi Nodes=n[1-$NODES] Default=YES MaxTime=INFINITE State=UP
CONF

stop_by_pidfile() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  poll 50 eval "! running $pid" || true
}
stop_by_pidfile $RUN/slurmctld.pid
for i in $(seq "$NODES"); do stop_by_pidfile "$RUN/slurmd-n$i.pid"; done
slurmctld -c -f "$CONF"
for i in $(seq "$NODES"); do slurmd -N "n$i" -f "$CONF"; done
poll 300 nodes_answer || { echo "slurm-multi.sh: the nodes did not come up; see $LOGS" >&2; exit 1; }
