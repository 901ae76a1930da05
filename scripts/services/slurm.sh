#!/usr/bin/env bash
# Single-node Slurm 22.05 (Debian slurm-wlm) + munge on localhost, for roost's job tests.
# Idempotent: does nothing when the node already answers `idle`/`mixed`/`allocated`.  Needs root.
# No accounting database: roost reads job states from slurmctld (MinJobAge keeps finished jobs an hour).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

slurm_answers() { timeout 5 sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc|comp)'; }

if command -v sinfo >/dev/null && slurm_answers; then exit 0; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [ ! -f /var/tmp/roost-apt-updated ]; then apt-get update -qq && touch /var/tmp/roost-apt-updated; fi
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# munge: the package creates the key; the daemon needs its run dir.
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; chown munge:munge /etc/munge/munge.key; }
  su -s /bin/sh munge -c /usr/sbin/munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi

host=$(hostname)
# RealMemory above what slurmd sees makes the node INVAL: use 90% of it.
memory=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
memory=$((memory * 9 / 10))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
# Written by roost scripts/services/slurm.sh: a single-node test cluster.
ClusterName=roost
SlurmctldHost=${host}(127.0.0.1)
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MinJobAge=3600
KillWait=2
InactiveLimit=0
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=${host} NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=${memory} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF

stop_by_pidfile() { [ -s "$1" ] && kill "$(cat "$1")" 2>/dev/null || true; }
stop_by_pidfile /run/slurmctld.pid
stop_by_pidfile /run/slurmd.pid
sleep 0.2
slurmctld -c
slurmd
for _ in $(seq 100); do slurm_answers && exit 0; sleep 0.2; done
echo "slurm.sh: slurm did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
exit 1
