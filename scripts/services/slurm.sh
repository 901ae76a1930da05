#!/usr/bin/env bash
# Single-node Slurm 22.05 (Debian slurm-wlm) + munge on localhost, for roost's job tests, with
# accounting (slurmdbd + mariadb: `sacct` answers for jobs slurmctld has forgotten) and cgroup v1
# enforcement (cores and --mem: a job over its memory ends OUT_OF_MEMORY).
# Idempotent: does nothing when the node answers, the config is this one and sacct works.  Needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# Bump when the generated configuration changes: a running cluster with an older one is restarted.
CONF_MARK="# roost slurm.sh config 2: slurmdbd accounting, cgroup v1"
DB_PASS=roost-slurmdbd  # a throwaway test cluster's database, reachable from localhost only

# Without an init to reap them, stopped daemons linger as zombies: those count as gone.
running() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
running_from() { local pid; pid=$(cat "$1" 2>/dev/null) && running "$pid"; }
slurm_answers() { timeout 5 sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc|comp)'; }
# With accounting off, sacct answers "Slurm accounting storage is disabled" (and exits 1).
accounting_answers() {
  local out
  out=$(timeout 10 sacct -n -X -j 1 -o JobID 2>&1) && ! grep -qi disabled <<<"$out"
}
conf_is_current() {
  grep -qxF "$CONF_MARK" /etc/slurm/slurm.conf 2>/dev/null && [ -f /etc/slurm/cgroup.conf ]
}
poll() {  # poll TRIES COMMAND...: retry every 0.1 s
  local tries=$1; shift
  for _ in $(seq "$tries"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# (sinfo and sacct wait seconds for daemons that are not there: look at the pid files first.)
if running_from /run/slurmctld.pid && running_from /run/slurmdbd.pid && conf_is_current \
  && slurm_answers && accounting_answers; then exit 0; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null \
  || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then
  if [ ! -f /var/tmp/roost-apt-updated ]; then apt-get update -qq && touch /var/tmp/roost-apt-updated; fi
  apt-get install -y -qq slurm-wlm munge slurmdbd mariadb-server >/dev/null
fi

# munge: the package creates the key; the daemon needs its run dir.
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; chown munge:munge /etc/munge/munge.key; }
  su -s /bin/sh munge -c /usr/sbin/munged
  poll 50 sh -c 'munge -n 2>/dev/null | unmunge >/dev/null 2>&1'
fi

# mariadb: no service manager here, so start the server by hand, detached from this shell.
mkdir -p /run/mysqld /var/log/mysql && chown mysql:mysql /run/mysqld /var/log/mysql
if ! mariadb-admin ping >/dev/null 2>&1; then
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  setsid /usr/sbin/mariadbd --user=mysql </dev/null >>/var/log/mysql/roost-mariadbd.log 2>&1 &
  poll 300 sh -c 'mariadb-admin ping >/dev/null 2>&1' \
    || { echo "slurm.sh: mariadbd did not start; see /var/log/mysql/roost-mariadbd.log" >&2; exit 1; }
fi
# root logs in through the unix socket (Debian's default), so no root password is involved.
mariadb <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '${DB_PASS}';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
# slurmdbd refuses a config not owned by its SlurmUser or readable by others (it holds the password).
touch /var/log/slurm/slurmdbd.log && chown slurm:slurm /var/log/slurm/slurmdbd.log
install -m 600 -o slurm -g slurm /dev/stdin /etc/slurm/slurmdbd.conf <<CONF
# Written by roost scripts/services/slurm.sh.
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=slurm
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=${DB_PASS}
StorageLoc=slurm_acct_db
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
CONF

host=$(hostname)
# RealMemory above what slurmd sees makes the node INVAL: use 90% of it.
memory=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
memory=$((memory * 9 / 10))
cat > /etc/slurm/cgroup.conf <<CONF
# Written by roost scripts/services/slurm.sh (the host has cgroup v1 controllers mounted).
CgroupPlugin=cgroup/v1
ConstrainCores=yes
ConstrainRAMSpace=yes
CONF
# DefMemPerCPU: with CR_Core_Memory a job without --mem would otherwise take the whole node's memory,
# and jobs the tests run side by side would queue behind each other.
cat > /etc/slurm/slurm.conf <<CONF
${CONF_MARK}
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
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup,task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MpiDefault=none
ReturnToService=2
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MinJobAge=3600
KillWait=2
InactiveLimit=0
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
NodeName=${host} NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=${memory} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF

# sacctmgr reads AccountingStorageType from slurm.conf, so this comes after it is written.
dbd_answers() { timeout 5 sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1; }
running_from /run/slurmdbd.pid || slurmdbd
poll 300 dbd_answers || { echo "slurm.sh: slurmdbd does not answer; see /var/log/slurm/slurmdbd.log" >&2; exit 1; }
# slurmctld would register the cluster itself; adding it first means no job of the first seconds is lost.
# No AccountingStorageEnforce: jobs need no user/account associations.
timeout 10 sacctmgr -n -P list cluster format=cluster | grep -qx roost || timeout 10 sacctmgr -i add cluster roost >/dev/null

stop_by_pidfile() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  poll 50 eval "! running $pid" || true
}
stop_by_pidfile /run/slurmctld.pid
stop_by_pidfile /run/slurmd.pid
slurmctld -c
slurmd
poll 300 slurm_answers || { echo "slurm.sh: slurm did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2; exit 1; }
poll 300 accounting_answers || { echo "slurm.sh: sacct does not answer; see /var/log/slurm/slurmdbd.log" >&2; exit 1; }
