#!/usr/bin/env bash
# A one-node Slurm cluster from Debian's packages, for tests/test_slurm_cluster.py (root only).
#   tests/slurm/cluster.sh start DIR [GPUS]   install if needed, write the config under DIR, start the daemons
#   tests/slurm/cluster.sh stop DIR           stop them
# A requeued job waits cred_expire seconds before it starts again (Slurm's default is 120; 15 here): the node must
# let go of the old run's credential first. Forcing an earlier start (scontrol update StartTime=now) raced with
# that and the requeued job failed at once (ExitCode 1:0, RunTime 0) on some machines.
# The node declares GPUS fake GPUs (gres.conf needs device files: symlinks to /dev/null), so scripts that ask
# for --gres=gpu:N schedule; jobs then run on the CPU. No slurmdbd (use `scontrol show job`), no cgroups.
set -euo pipefail
action=$1
dir=$(realpath -m "$2")
gpus=${3:-2}

stop() {
  for daemon in slurmd slurmctld; do
    if [ -f "$dir/$daemon.pid" ]; then kill "$(cat "$dir/$daemon.pid")" 2>/dev/null || true; fi
  done
  if [ -f "$dir/munged.pid" ]; then kill "$(cat "$dir/munged.pid")" 2>/dev/null || true; fi
}

if [ "$action" = stop ]; then
  stop
  exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  packages="slurm-wlm slurmctld slurmd slurm-client munge"
  apt-get install -y -q --no-install-recommends $packages >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $packages >/dev/null; }
fi

mkdir -p "$dir"/{state,spool,log,munge,gpus}
host=$(hostname -s)
# munge: a key of this cluster's own, its socket under DIR
[ -f "$dir/munge/munge.key" ] || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$dir/munge" && chmod 400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
munged --force --key-file="$dir/munge/munge.key" --socket="$socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done  # munged returns before its socket exists

for i in $(seq 0 $((gpus - 1))); do ln -sf /dev/null "$dir/gpus/nvidia$i"; done
node=$(slurmd -C | head -n 1)  # this machine as slurmd sees it (declaring more drains the node)
memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
cat >"$dir/slurm.conf" <<EOF
ClusterName=reasonlift-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket,cred_expire=15
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
DefMemPerCPU=$((memory / 4))
SchedulerParameters=defer_batch
MinJobAge=3600
$node Gres=gpu:$gpus State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
sed -i 's/ UpTime=[^ ]*//' "$dir/slurm.conf"
{
  echo "NodeName=$host Name=gpu File=$dir/gpus/nvidia[0-$((gpus - 1))]"
} >"$dir/gres.conf"
export SLURM_CONF="$dir/slurm.conf"
slurmctld -i -f "$SLURM_CONF"
slurmd -N "$host" -f "$SLURM_CONF"
for _ in $(seq 100); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -n 1 || true)
  [ "$state" = idle ] && exit 0
  sleep 0.2
done
echo "the node did not become idle (state: ${state:-none}); see $dir/log" >&2
exit 1
